/*
 * buf: a byte buffer that grows as bytes are appended.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"

#define BUF_FIRST	4096	/* bytes of the first allocation */

int
buf_add(struct buf *b, const void *p, size_t len)
{
	size_t cap;
	char *n;

	if (len > SIZE_MAX / 2 - b->b_len) {
		errno = ENOMEM;
		return -1;
	}
	if (b->b_len + len + 1 > b->b_cap) {
		cap = b->b_cap ? b->b_cap : BUF_FIRST;
		while (cap < b->b_len + len + 1)
			cap *= 2;
		if ((n = realloc(b->b_data, cap)) == NULL)
			return -1;
		b->b_data = n;
		b->b_cap = cap;
	}
	if (len > 0)
		memcpy(b->b_data + b->b_len, p, len);
	b->b_len += len;
	b->b_data[b->b_len] = '\0';
	return 0;
}
