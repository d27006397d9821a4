/*
 * httpd's chunked decoder (RFC 9112 7.1), which the connection feeds as
 * bytes arrive: the body decoded in one call and in pieces of the size
 * the first input byte gives, in place as conn.c does, must give the
 * same bytes and the same verdict; CHUNKED_MORE takes all its input.
 */
#include <stdlib.h>
#include <string.h>

#include "../daemons/httpd/httpd.h"
#include "fuzz.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct chunked cd;
	char *whole, *out, *piece;
	size_t step, pos, used, outlen, wlen = 0, plen = 0, wused = 0;
	int rw = CHUNKED_MORE, rp = CHUNKED_MORE;

	if (size < 1)
		return 0;
	step = (size_t)data[0] + 1;
	data++;
	size--;
	if ((whole = malloc(size + 1)) == NULL ||
	    (out = malloc(size + 1)) == NULL ||
	    (piece = malloc(size + 1)) == NULL)
		abort();
	memcpy(whole, data, size);
	memcpy(piece, data, size);

	chunked_init(&cd);
	rw = chunked_decode(&cd, whole, size, out, &wlen, &wused);
	if (wused > size || wlen > wused ||
	    (rw == CHUNKED_MORE && wused != size))
		abort();

	chunked_init(&cd);
	for (pos = 0; pos < size; pos += used) {
		size_t n = size - pos < step ? size - pos : step;

		rp = chunked_decode(&cd, piece + pos, n, piece + plen,
		    &outlen, &used);
		if (used > n || outlen > used ||
		    (rp == CHUNKED_MORE && used != n))
			abort();
		plen += outlen;
		if (rp != CHUNKED_MORE)
			break;
	}
	if (size > 0 && (rp != rw || plen != wlen ||
	    memcmp(piece, out, wlen) != 0 ||
	    (rw == CHUNKED_DONE && pos + used != wused)))
		abort();
	free(whole);
	free(out);
	free(piece);
	return 0;
}
