/*
 * response: the status line and header section of the response (RFC 9112
 * 4, 5) and the framing of its body (RFC 9112 6.3).
 */
#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "httpget.h"

/* What the header section says about the body. */
struct response_fields {
	int		rf_te;		/* Transfer-Encoding seen */
	int		rf_te_chunked;	/* ... and its final coding is chunked */
	int		rf_cl;		/* Content-Length seen */
	uint64_t	rf_length;
	int		rf_last;	/* the previous field: 1 CL or TE */
};

static int	response_status(struct httpget *, const char *, size_t);
static int	response_field(struct httpget *, struct response_fields *,
		    const char *, size_t);
static int	response_content_length(struct httpget *,
		    struct response_fields *, const char *, size_t);
static void	response_transfer_encoding(struct response_fields *,
		    const char *, size_t);
static int	response_bad(struct httpget *, const char *);

/* Say why the response is refused, in hg_error. Returns -1. */
static int
response_bad(struct httpget *hg, const char *what)
{
	snprintf(hg->hg_error, sizeof(hg->hg_error), "response from %s: %s",
	    hg->hg_peer, what);
	return -1;
}

/* tchar of RFC 9110 5.6.2. */
static int
response_tchar(unsigned char c)
{
	return isalnum(c) || (c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

/*
 * status-line = HTTP-version SP status-code SP [ reason-phrase ]
 * (RFC 9112 4). A missing SP after the code is tolerated, as most clients
 * do. Returns the status code, or -1; keeps a printable copy for stderr.
 */
static int
response_status(struct httpget *hg, const char *line, size_t len)
{
	size_t i, j;
	int code;

	if (len < 12 || memcmp(line, "HTTP/", 5) != 0 ||
	    !isdigit((unsigned char)line[5]) || line[6] != '.' ||
	    !isdigit((unsigned char)line[7]) || line[8] != ' ' ||
	    !isdigit((unsigned char)line[9]) ||
	    !isdigit((unsigned char)line[10]) ||
	    !isdigit((unsigned char)line[11]) ||
	    (len > 12 && line[12] != ' '))
		return response_bad(hg, "malformed status line");
	if (line[5] != '1')
		return response_bad(hg, "not HTTP/1.x");
	code = (line[9] - '0') * 100 + (line[10] - '0') * 10 + (line[11] - '0');
	if (code < 100)
		return response_bad(hg, "malformed status code");
	/* The reason phrase is the server's text: no control bytes out. */
	for (i = j = 0; i < len && j + 1 < sizeof(hg->hg_statusline); i++) {
		unsigned char c = (unsigned char)line[i];
		hg->hg_statusline[j++] = (c < 0x20 || c >= 0x7f) ? '?' : c;
	}
	hg->hg_statusline[j] = '\0';
	return code;
}

/*
 * Content-Length = 1*DIGIT (RFC 9110 8.6). A list of identical values is
 * that value; differing ones, or anything else, are an unrecoverable
 * error (RFC 9112 6.3 item 5): the body cannot be delimited. Returns 0
 * or -1.
 */
static int
response_content_length(struct httpget *hg, struct response_fields *rf,
    const char *v, size_t len)
{
	size_t i = 0;
	uint64_t n;

	while (i < len) {
		if (!isdigit((unsigned char)v[i]))
			return response_bad(hg, "invalid Content-Length");
		n = 0;
		for (; i < len && isdigit((unsigned char)v[i]); i++) {
			if (n > (UINT64_C(1) << 62) / 10)
				return response_bad(hg,
				    "Content-Length too large");
			n = n * 10 + (uint64_t)(v[i] - '0');
		}
		if (rf->rf_cl && n != rf->rf_length)
			return response_bad(hg, "conflicting Content-Length");
		rf->rf_cl = 1;
		rf->rf_length = n;
		while (i < len && (v[i] == ' ' || v[i] == '\t'))
			i++;
		if (i < len && v[i] != ',')
			return response_bad(hg, "invalid Content-Length");
		if (i < len)
			i++;
		while (i < len && (v[i] == ' ' || v[i] == '\t'))
			i++;
	}
	if (!rf->rf_cl)
		return response_bad(hg, "empty Content-Length");
	return 0;
}

/*
 * Transfer-Encoding = #transfer-coding (RFC 9112 6.1). Only the final
 * coding matters for framing: chunked means chunked, anything else means
 * the body runs to the close (RFC 9112 6.3 item 4, for a response).
 */
static void
response_transfer_encoding(struct response_fields *rf, const char *v,
    size_t len)
{
	size_t i, start, end;

	rf->rf_te = 1;
	for (i = 0; i < len; i = end + 1) {
		start = i;
		while (start < len && (v[start] == ' ' || v[start] == '\t'))
			start++;
		end = start;
		while (end < len && v[end] != ',')
			end++;
		i = end;
		while (i > start && (v[i - 1] == ' ' || v[i - 1] == '\t'))
			i--;
		if (i == start)
			continue;	/* empty list element: allowed */
		/* A coding may carry parameters: "chunked" has none. */
		rf->rf_te_chunked = (i - start == 7 &&
		    strncasecmp(v + start, "chunked", 7) == 0);
	}
}

/*
 * field-line = field-name ":" OWS field-value OWS (RFC 9112 5). Returns 0
 * or -1.
 */
static int
response_field(struct httpget *hg, struct response_fields *rf,
    const char *line, size_t len)
{
	size_t i, vs, ve;

	/*
	 * obs-fold (RFC 9112 5.2): a continuation of the previous field. We
	 * read no other field's value, but a folded framing field would
	 * change how the body is delimited: refuse that.
	 */
	if (line[0] == ' ' || line[0] == '\t') {
		if (rf->rf_last)
			return response_bad(hg, "folded Content-Length or "
			    "Transfer-Encoding");
		return 0;
	}
	for (i = 0; i < len && response_tchar((unsigned char)line[i]); i++)
		;
	/* No whitespace between name and colon (RFC 9112 5.1). */
	if (i == 0 || i == len || line[i] != ':')
		return response_bad(hg, "malformed header field");
	vs = i + 1;
	while (vs < len && (line[vs] == ' ' || line[vs] == '\t'))
		vs++;
	ve = len;
	while (ve > vs && (line[ve - 1] == ' ' || line[ve - 1] == '\t'))
		ve--;
	rf->rf_last = 0;
	if (i == 14 && strncasecmp(line, "Content-Length", 14) == 0) {
		if (response_content_length(hg, rf, line + vs, ve - vs) == -1)
			return -1;
		rf->rf_last = 1;
	} else if (i == 17 &&
	    strncasecmp(line, "Transfer-Encoding", 17) == 0) {
		response_transfer_encoding(rf, line + vs, ve - vs);
		rf->rf_last = 1;
	}
	return 0;
}

int
response_head(struct httpget *hg)
{
	struct response_fields rf;
	size_t raw, len, total, nfields;
	char *line;
	int code, interim = 0, r;

	for (;;) {
		/* An endless run of 1xx would be an endless wait: bound it. */
		if (interim++ > HG_INTERIM_MAX)
			return response_bad(hg,
			    "too many interim (1xx) responses");
		memset(&rf, 0, sizeof(rf));
		r = conn_getline(hg, HG_LINE_MAX, &line, &raw, &len,
		    "status line");
		if (r == -1)
			return -1;
		if (r == 0)
			return response_bad(hg, hg->hg_len == hg->hg_off ?
			    "closed without a response" :
			    "closed in the status line");
		if ((code = response_status(hg, line, len)) == -1)
			return -1;
		if (hg->hg_include)
			conn_output(hg, line, raw);
		total = raw;
		nfields = 0;
		for (;;) {
			r = conn_getline(hg, HG_LINE_MAX, &line, &raw, &len,
			    "header field");
			if (r == -1)
				return -1;
			if (r == 0)
				return response_bad(hg,
				    "closed in the header section");
			total += raw;
			if (total > HG_HEADER_MAX)
				return response_bad(hg,
				    "header section too large");
			if (hg->hg_include)
				conn_output(hg, line, raw);
			if (len == 0)
				break;
			if (++nfields > HG_FIELDS_MAX)
				return response_bad(hg,
				    "too many header fields");
			if (response_field(hg, &rf, line, len) == -1)
				return -1;
		}
		/*
		 * 1xx are interim (RFC 9110 15.2): the final response
		 * follows. 101 would switch protocols, which we never ask
		 * for: it ends the exchange like any non-2xx.
		 */
		if (code >= 200 || code == 101)
			break;
	}
	hg->hg_status = code;

	/* RFC 9112 6.3, in its order. */
	if (hg->hg_head || code < 200 || code == 204 || code == 304)
		hg->hg_framing = HG_BODY_NONE;
	else if (rf.rf_te)
		hg->hg_framing = rf.rf_te_chunked ? HG_BODY_CHUNKED :
		    HG_BODY_CLOSE;
	else if (rf.rf_cl) {
		hg->hg_framing = HG_BODY_LENGTH;
		hg->hg_length = rf.rf_length;
	} else
		hg->hg_framing = HG_BODY_CLOSE;
	return 0;
}

int
response_body(struct httpget *hg)
{
	uint64_t got;

	switch (hg->hg_framing) {
	case HG_BODY_NONE:
		break;
	case HG_BODY_LENGTH:
		got = conn_copy(hg, hg->hg_length);
		if (got < hg->hg_length) {
			snprintf(hg->hg_error, sizeof(hg->hg_error),
			    "response from %s: body truncated at %llu of "
			    "%llu bytes", hg->hg_peer,
			    (unsigned long long)got,
			    (unsigned long long)hg->hg_length);
			return -1;
		}
		break;
	case HG_BODY_CHUNKED:
		return chunked_body(hg);
	case HG_BODY_CLOSE:
		/* RFC 9112 6.3 item 8: the body is whatever comes. */
		conn_copy(hg, UINT64_MAX);
		break;
	}
	return 0;
}
