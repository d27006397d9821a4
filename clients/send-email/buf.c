/*
 * buf: the growing byte buffer every part of the message is built in.
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
buf_add(struct se_buf *b, const void *p, size_t len)
{
	char *n;
	size_t cap;

	if (len > SIZE_MAX / 2 - b->b_len) {
		errno = ENOMEM;
		return -1;
	}
	if (b->b_len + len + 1 > b->b_cap) {
		cap = b->b_cap ? b->b_cap : 1024;
		while (cap < b->b_len + len + 1)
			cap *= 2;
		if ((n = realloc(b->b_data, cap)) == NULL)
			return -1;
		b->b_data = n;
		b->b_cap = cap;
	}
	memcpy(b->b_data + b->b_len, p, len);
	b->b_len += len;
	b->b_data[b->b_len] = '\0';
	return 0;
}

int
buf_printf(struct se_buf *b, const char *fmt, ...)
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
