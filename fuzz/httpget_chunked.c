/* units: clients/httpget/chunked.c clients/httpget/conn.c */
/*
 * httpget's chunked decoder (RFC 9112 7.1) alone, over a whole chunked
 * body followed by the end of stream (see httpget_response.c).
 */
#include <stdlib.h>
#include <string.h>

#include "../clients/httpget/httpget.h"
#include "fuzz.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct httpget hg;

	if (size > sizeof(hg.hg_buf))
		return 0;
	memset(&hg, 0, sizeof(hg));
	hg.hg_fd = -1;
	hg.hg_out = fuzz_devnull();
	strlcpy(hg.hg_peer, "127.0.0.1 port 80", sizeof(hg.hg_peer));
	memcpy(hg.hg_buf, data, size);
	hg.hg_len = size;
	hg.hg_eof = 1;
	hg.hg_framing = HG_BODY_CHUNKED;
	if (chunked_body(&hg) == -1 && hg.hg_error[0] == '\0')
		abort();
	if (hg.hg_off > hg.hg_len)
		abort();
	return 0;
}
