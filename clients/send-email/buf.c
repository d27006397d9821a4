/*
 * buf: formatted text appended to the growing buffer (lib/buf.h) every
 * part of the message is built in.
 */
#include <sys/types.h>

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "send-email.h"

int
buf_printf(struct buf *b, const char *fmt, ...)
{
	char *s;
	va_list ap;
	int n, r;

	va_start(ap, fmt);
	n = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (n == -1)
		return -1;
	r = buf_add(b, s, n);
	free(s);
	return r;
}
