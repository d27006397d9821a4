/*
 * chunked: the chunked transfer coding of a response body (RFC 9112 7.1).
 *
 *   chunked-body = *chunk last-chunk trailer-section CRLF
 *   chunk        = chunk-size [ chunk-ext ] CRLF chunk-data CRLF
 *   last-chunk   = 1*("0") [ chunk-ext ] CRLF
 *
 * The server chooses every number here, so none is believed further than
 * a bound: a chunk-size line is at most HG_CHUNKLINE_MAX bytes, a size at
 * most HG_CHUNK_MAX, the trailer section at most HG_TRAILER_MAX bytes.
 * Chunk data is streamed through the receive buffer, never allocated.
 */
#include <ctype.h>
#include <stdint.h>
#include <stdio.h>

#include "httpget.h"

static int	chunked_size(struct httpget *, uint64_t *);
static int	chunked_trailer(struct httpget *);
static int	chunked_crlf(struct httpget *);
static int	chunked_bad(struct httpget *, const char *);

/* Say why the body is refused, in hg_error. Returns -1. */
static int
chunked_bad(struct httpget *hg, const char *what)
{
	snprintf(hg->hg_error, sizeof(hg->hg_error),
	    "response from %s: chunked body: %s", hg->hg_peer, what);
	return -1;
}

/*
 * chunk-size [ chunk-ext ] CRLF; chunk-size = 1*HEXDIG. Extensions
 * (";" name [ "=" value ], RFC 9112 7.1.1) are skipped: we understand
 * none, and the line bound keeps them short. The size goes to *sizep.
 * Returns 0 or -1.
 */
static int
chunked_size(struct httpget *hg, uint64_t *sizep)
{
	size_t raw, len, i;
	uint64_t n = 0;
	char *line;
	int c, r;

	r = conn_getline(hg, HG_CHUNKLINE_MAX, &line, &raw, &len,
	    "chunk-size line");
	if (r == -1)
		return -1;
	if (r == 0)
		return chunked_bad(hg, "truncated before a chunk-size");
	for (i = 0; i < len && isxdigit((unsigned char)line[i]); i++) {
		c = (unsigned char)line[i];
		c = isdigit(c) ? c - '0' : tolower(c) - 'a' + 10;
		if (n > (HG_CHUNK_MAX >> 4))
			return chunked_bad(hg, "chunk-size too large");
		n = (n << 4) | (uint64_t)c;
	}
	if (i == 0)
		return chunked_bad(hg, "malformed chunk-size");
	/* BWS before ";" (RFC 9112 7.1.1), then the extensions or nothing. */
	while (i < len && (line[i] == ' ' || line[i] == '\t'))
		i++;
	if (i < len && line[i] != ';')
		return chunked_bad(hg, "malformed chunk-size");
	if (n > HG_CHUNK_MAX)
		return chunked_bad(hg, "chunk-size too large");
	*sizep = n;
	return 0;
}

/*
 * chunk-data ends with CRLF (or a bare LF, RFC 9112 2.2), nothing else.
 * Returns 0 or -1.
 */
static int
chunked_crlf(struct httpget *hg)
{
	const char *p;

	while (hg->hg_len - hg->hg_off < 2 && conn_fill(hg) > 0)
		;
	p = hg->hg_buf + hg->hg_off;
	if (hg->hg_len - hg->hg_off >= 1 && p[0] == '\n')
		hg->hg_off += 1;
	else if (hg->hg_len - hg->hg_off >= 2 && p[0] == '\r' && p[1] == '\n')
		hg->hg_off += 2;
	else if (hg->hg_len - hg->hg_off < 2)
		return chunked_bad(hg, "truncated after chunk-data");
	else
		return chunked_bad(hg, "no CRLF after chunk-data");
	return 0;
}

/*
 * trailer-section = *( field-line CRLF ), then the final CRLF (RFC 9112
 * 7.1.2). Read and discarded: nothing we print depends on it, and a
 * recipient may drop trailer fields it does not understand. Returns 0 or
 * -1.
 */
static int
chunked_trailer(struct httpget *hg)
{
	size_t raw, len, total = 0;
	char *line;
	int r;

	for (;;) {
		r = conn_getline(hg, HG_LINE_MAX, &line, &raw, &len,
		    "trailer field");
		if (r == -1)
			return -1;
		if (r == 0)
			return chunked_bad(hg,
			    "truncated in the trailer section");
		if (len == 0)
			return 0;
		total += raw;
		if (total > HG_TRAILER_MAX)
			return chunked_bad(hg, "trailer section too large");
	}
}

int
chunked_body(struct httpget *hg)
{
	uint64_t size, got;

	for (;;) {
		if (chunked_size(hg, &size) == -1)
			return -1;
		if (size == 0)
			break;
		got = conn_copy(hg, size);
		if (got < size)
			return chunked_bad(hg, "truncated chunk-data");
		if (chunked_crlf(hg) == -1)
			return -1;
	}
	return chunked_trailer(hg);
}
