/*
 * buf: a byte buffer that grows as bytes are appended (a message body, a
 * MIME part, a CGI request body).
 */
#ifndef BUF_H
#define BUF_H

#include <stddef.h>

/* Zero it to start; b_data is malloc'ed, free(3) it when done. */
struct buf {
	char	*b_data;	/* b_len bytes, then a NUL not counted */
	size_t	 b_len;		/* bytes held */
	size_t	 b_cap;		/* bytes allocated */
};

/*
 * Append len bytes at p to b, growing it (4 KiB at first, then doubling)
 * and keeping a NUL after the last byte, so text in b is a C string.
 * Returns 0, or -1 with errno ENOMEM, b as it was.
 */
int	buf_add(struct buf *b, const void *p, size_t len);

#endif
