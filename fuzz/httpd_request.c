/*
 * httpd's request parser (RFC 9112 3 and 5) over one received buffer:
 * the request line, the header section and the target's path decoding
 * (RFC 3986 5.2.4), then what the server asks of a parsed request (its
 * fields, tokens and dates, the log's escaping of its line and fields),
 * as conn.c and file.c do.
 */
#include <stdlib.h>
#include <string.h>

#include "../daemons/httpd/httpd.h"
#include "fuzz.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct http_request r;
	const struct http_field *f;
	static char line[LOG_VIS_MAX], referer[LOG_VIS_MAX],
	    agent[LOG_VIS_MAX];
	char small[16];
	const char *buf = (const char *)data;
	int st, i;

	memset(&r, 0, sizeof(r));
	st = req_parse(buf, size, &r);
	/* The request line is kept as it was sent, inside the buffer. */
	if (r.r_reqlinelen > 0 && (r.r_reqline < buf ||
	    r.r_reqline + r.r_reqlinelen > buf + size))
		abort();
	/* The fields kept for later are the first of their names. */
	if (r.r_referer != req_field(&r, "Referer") ||
	    r.r_agent != req_field(&r, "User-Agent") ||
	    r.r_range != req_field(&r, "Range") ||
	    r.r_ifrange != req_field(&r, "If-Range") ||
	    r.r_ims != req_field(&r, "If-Modified-Since") ||
	    r.r_inm != req_field(&r, "If-None-Match"))
		abort();
	resp_log_request(&r, line, referer, agent);
	if (st == REQ_OK) {
		if (r.r_headlen > size)
			abort();
		for (i = 0; i < r.r_nfields; i++) {
			f = &r.r_fields[i];
			if (f->f_name < buf || f->f_name + f->f_namelen >
			    buf + size || f->f_value < buf ||
			    f->f_value + f->f_valuelen > buf + size)
				abort();
		}
		if ((f = req_field(&r, "Connection")) != NULL)
			(void)req_has_token(f->f_value, f->f_valuelen, "close");
		if ((f = req_field(&r, "If-Modified-Since")) != NULL)
			(void)http_date_parse(f->f_value, f->f_valuelen);
		if (strnlen(r.r_path, sizeof(r.r_path)) == sizeof(r.r_path))
			abort();
	}
	/* The decoder alone, on any bytes, into a roomy and a tight buffer. */
	(void)req_path_decode(buf, size, r.r_path, sizeof(r.r_path));
	(void)req_path_decode(buf, size, small, sizeof(small));
	(void)http_date_parse(buf, size);
	return 0;
}
