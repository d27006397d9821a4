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
	CD_SIZE,	/* chunk-size: 1*HEXDIG */
	CD_BWS,		/* BWS after the size: only ';' may follow */
	CD_EXT,		/* chunk-ext, ignored */
	CD_SIZE_LF,	/* the LF after the size line's CR */
	CD_DATA,	/* chunk-data */
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

void
chunked_init(struct chunked *cd)
{
	memset(cd, 0, sizeof(*cd));
	cd->cd_state = CD_SIZE;
}

int
chunked_decode(struct chunked *cd, char *in, size_t len, char *out,
    size_t *outlen, size_t *used)
{
	size_t i = 0, n;
	int c, d;

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
		switch (cd->cd_state) {
		case CD_SIZE:
			if ((d = req_hex(c)) != -1) {
				/*
				 * 16 digits fill 64 bits; a size past
				 * INT64_MAX would turn negative in an off_t
				 * or a long long downstream.
				 */
				if (cd->cd_digits == 16 ||
				    cd->cd_size > (uint64_t)INT64_MAX >> 4)
					goto bad;
				cd->cd_size = cd->cd_size << 4 | d;
				cd->cd_digits++;
				break;
			}
			if (cd->cd_digits == 0)
				goto bad;
			if (c == '\r')
				cd->cd_state = CD_SIZE_LF;
			else if (c == ';')
				cd->cd_state = CD_EXT;
			else if (c == ' ' || c == '\t')
				cd->cd_state = CD_BWS;
			else
				goto bad;
			break;
		case CD_BWS:
			/* chunk-ext = *( BWS ";" BWS ext-name ... ) (7.1.1) */
			if (++cd->cd_linelen > CHUNKED_EXT_MAX)
				goto bad;
			if (c == ';')
				cd->cd_state = CD_EXT;
			else if (c != ' ' && c != '\t')
				goto bad;
			break;
		case CD_EXT:
			/* Extensions are ignored (7.1.1), but bounded. */
			if (c == '\r') {
				cd->cd_state = CD_SIZE_LF;
				break;
			}
			if (++cd->cd_linelen > CHUNKED_EXT_MAX ||
			    (c < 0x20 && c != '\t') || c == 0x7f)
				goto bad;
			break;
		case CD_SIZE_LF:
			if (c != '\n')
				goto bad;
			cd->cd_linelen = 0;
			cd->cd_digits = 0;
			/* last-chunk = 1*("0") [ chunk-ext ] CRLF */
			cd->cd_state = cd->cd_size == 0 ? CD_TRAILER : CD_DATA;
			break;
		case CD_DATA_CR:
			if (c != '\r')
				goto bad;
			cd->cd_state = CD_DATA_LF;
			break;
		case CD_DATA_LF:
			if (c != '\n')
				goto bad;
			cd->cd_state = CD_SIZE;
			break;
		case CD_TRAILER:
			if (c == '\r') {
				cd->cd_state = CD_END_LF;
				break;
			}
			/* trailer-section = *( field-line CRLF ) (7.1.2) */
			cd->cd_state = CD_FIELD;
			/* FALLTHROUGH */
		case CD_FIELD:
			/* Trailer fields are ignored (7.1.2), but bounded. */
			if (c == '\r') {
				cd->cd_state = CD_FIELD_LF;
				break;
			}
			if (++cd->cd_linelen > CHUNKED_TRAILER_MAX ||
			    (c < 0x20 && c != '\t') || c == 0x7f)
				goto bad;
			break;
		case CD_FIELD_LF:
			if (c != '\n')
				goto bad;
			cd->cd_state = CD_TRAILER;
			break;
		case CD_END_LF:
			if (c != '\n')
				goto bad;
			cd->cd_state = CD_DONE;
			break;
		default:
			goto bad;
		}
	}
	*used = i;
	return cd->cd_state == CD_DONE ? CHUNKED_DONE : CHUNKED_MORE;
bad:
	*used = i;
	return CHUNKED_BAD;
}
