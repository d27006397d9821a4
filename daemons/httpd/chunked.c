/*
 * chunked: decoding of the chunked transfer coding of a request body
 * (RFC 9112 section 7.1), one byte stream fed in pieces of any size.
 *
 * The grammar is followed strictly, because a lenient decoder is what
 * request smuggling needs: a proxy in front of us and we must agree on
 * where the body ends. So every line ends in CR LF (a bare LF is a
 * different line end to other parsers), a chunk-size has at most 16 hex
 * digits and fits in 63 bits, and the ignored parts (chunk extensions,
 * trailer fields) are bounded so a client cannot make us read forever.
 */
#include <stdint.h>
#include <string.h>

#include "httpd.h"

enum chunked_state {
	/* The size line, in this order (chunked_size_byte()). */
	CD_SIZE,	/* chunk-size: 1*HEXDIG */
	CD_BWS,		/* BWS after the size: only ';' may follow */
	CD_EXT,		/* chunk-ext, ignored */
	CD_SIZE_LF,	/* the LF after the size line's CR */
	CD_DATA,	/* chunk-data */
	/* After the data (chunked_tail_byte()). */
	CD_DATA_CR,	/* the CRLF after chunk-data */
	CD_DATA_LF,
	CD_TRAILER,	/* the start of a trailer line or of the final CRLF */
	CD_FIELD,	/* a trailer field line, ignored */
	CD_FIELD_LF,
	CD_END_LF,	/* the LF of the final CRLF */
	CD_DONE,
};

/* Bounds of what is read and thrown away (bytes). */
#define CHUNKED_EXT_MAX		1024	/* chunk extensions of one line */
#define CHUNKED_TRAILER_MAX	HTTPD_HEAD_MAX	/* the trailer section */

static int	chunked_size_byte(struct chunked *, int);
static int	chunked_tail_byte(struct chunked *, int);

void
chunked_init(struct chunked *cd)
{
	memset(cd, 0, sizeof(*cd));
	cd->cd_state = CD_SIZE;
}

/*
 * One byte c of a chunk-size line: chunk-size [ chunk-ext ] CRLF
 * (RFC 9112 7.1, 7.1.1). Returns 0, or -1 when it breaks the grammar.
 */
static int
chunked_size_byte(struct chunked *cd, int c)
{
	int d;

	switch (cd->cd_state) {
	case CD_SIZE:
		if ((d = req_hex(c)) != -1) {
			/*
			 * 16 digits fill 64 bits; a size past INT64_MAX
			 * would turn negative in an off_t or a long long
			 * downstream.
			 */
			if (cd->cd_digits == 16 ||
			    cd->cd_size > (uint64_t)INT64_MAX >> 4)
				return -1;
			cd->cd_size = cd->cd_size << 4 | d;
			cd->cd_digits++;
			return 0;
		}
		if (cd->cd_digits == 0)
			return -1;
		if (c == '\r')
			cd->cd_state = CD_SIZE_LF;
		else if (c == ';')
			cd->cd_state = CD_EXT;
		else if (c == ' ' || c == '\t')
			cd->cd_state = CD_BWS;
		else
			return -1;
		return 0;
	case CD_BWS:
		/* chunk-ext = *( BWS ";" BWS ext-name ... ) (7.1.1) */
		if (++cd->cd_linelen > CHUNKED_EXT_MAX)
			return -1;
		if (c == ';')
			cd->cd_state = CD_EXT;
		else if (c != ' ' && c != '\t')
			return -1;
		return 0;
	case CD_EXT:
		/* Extensions are ignored (7.1.1), but bounded. */
		if (c == '\r') {
			cd->cd_state = CD_SIZE_LF;
			return 0;
		}
		if (++cd->cd_linelen > CHUNKED_EXT_MAX ||
		    (c < 0x20 && c != '\t') || c == 0x7f)
			return -1;
		return 0;
	default:	/* CD_SIZE_LF */
		if (c != '\n')
			return -1;
		cd->cd_linelen = 0;
		cd->cd_digits = 0;
		/* last-chunk = 1*("0") [ chunk-ext ] CRLF */
		cd->cd_state = cd->cd_size == 0 ? CD_TRAILER : CD_DATA;
		return 0;
	}
}

/*
 * One byte c after a chunk's data: its CRLF, or after the last chunk
 * the trailer section and the final CRLF (RFC 9112 7.1.2). Returns 0,
 * or -1 when it breaks the grammar.
 */
static int
chunked_tail_byte(struct chunked *cd, int c)
{
	switch (cd->cd_state) {
	case CD_DATA_CR:
		if (c != '\r')
			return -1;
		cd->cd_state = CD_DATA_LF;
		return 0;
	case CD_DATA_LF:
		if (c != '\n')
			return -1;
		cd->cd_state = CD_SIZE;
		return 0;
	case CD_TRAILER:
		if (c == '\r') {
			cd->cd_state = CD_END_LF;
			return 0;
		}
		/* trailer-section = *( field-line CRLF ) (7.1.2) */
		cd->cd_state = CD_FIELD;
		/* FALLTHROUGH */
	case CD_FIELD:
		/* Trailer fields are ignored (7.1.2), but bounded. */
		if (c == '\r') {
			cd->cd_state = CD_FIELD_LF;
			return 0;
		}
		if (++cd->cd_linelen > CHUNKED_TRAILER_MAX ||
		    (c < 0x20 && c != '\t') || c == 0x7f)
			return -1;
		return 0;
	case CD_FIELD_LF:
		if (c != '\n')
			return -1;
		cd->cd_state = CD_TRAILER;
		return 0;
	case CD_END_LF:
		if (c != '\n')
			return -1;
		cd->cd_state = CD_DONE;
		return 0;
	default:
		return -1;
	}
}

int
chunked_decode(struct chunked *cd, char *in, size_t len, char *out,
    size_t *outlen, size_t *used)
{
	size_t i = 0, n;
	int c, r;

	*outlen = 0;
	while (i < len && cd->cd_state != CD_DONE) {
		if (cd->cd_state == CD_DATA) {
			n = len - i;
			if ((uint64_t)n > cd->cd_size)
				n = cd->cd_size;
			/* out never passes in: memmove when they overlap. */
			if (out != NULL)
				memmove(out + *outlen, in + i, n);
			*outlen += n;
			cd->cd_total += n;
			cd->cd_size -= n;
			i += n;
			if (cd->cd_size == 0)
				cd->cd_state = CD_DATA_CR;
			continue;
		}
		c = (unsigned char)in[i++];
		if (cd->cd_state <= CD_SIZE_LF)
			r = chunked_size_byte(cd, c);
		else
			r = chunked_tail_byte(cd, c);
		if (r == -1) {
			*used = i;
			return CHUNKED_BAD;
		}
	}
	*used = i;
	return cd->cd_state == CD_DONE ? CHUNKED_DONE : CHUNKED_MORE;
}
