/*
 * send-email's reply parser (RFC 5321 4.2) and EHLO keyword parser
 * (4.1.1.1, RFC 1870, RFC 6152) over a server's lines: each line (to a
 * LF, a CR before it dropped, as reply_read() does) goes to
 * reply_parse_line(); each whole reply to reply_ehlo_keywords().
 */
#include <stdlib.h>
#include <string.h>

#include "../clients/send-email/send-email.h"
#include "fuzz.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct se_state st;
	const char *p = (const char *)data, *end = p + size, *nl;
	size_t len;
	int last;

	memset(&st, 0, sizeof(st));
	st.se_fd = -1;
	while (p < end) {
		if ((nl = memchr(p, '\n', end - p)) == NULL)
			nl = end;
		len = nl - p;
		if (len > 0 && p[len - 1] == '\r')
			len--;
		if (len < SE_LINE_MAX) {
			last = reply_parse_line(&st.se_reply, p, len);
			if (last < -1 || last > 1 ||
			    st.se_reply.r_nlines > SE_REPLY_LINES)
				abort();
			if (last == 1) {
				if (st.se_reply.r_code < 200 ||
				    st.se_reply.r_code > 599)
					abort();
				reply_ehlo_keywords(&st);
			}
			if (last != 0)
				st.se_reply.r_nlines = 0;
		}
		p = nl + 1;
	}
	return 0;
}
