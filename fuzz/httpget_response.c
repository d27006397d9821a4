/* units: clients/httpget/response.c clients/httpget/chunked.c clients/httpget/conn.c */
/*
 * httpget's response parsers (RFC 9112 4, 5, 6.3 and 7.1) over one whole
 * response, as a server that sends it and closes would: the status line,
 * the header section (1xx interim responses skipped), the framing and
 * the body. The input fills the receive buffer with the end of stream
 * already seen, so no byte goes through a socket; the output goes to
 * /dev/null. A parser that fails must say why.
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
	hg.hg_timeout_ms = 1000;
	strlcpy(hg.hg_peer, "127.0.0.1 port 80", sizeof(hg.hg_peer));
	/* -i on odd lengths: the head is copied to the output as well. */
	hg.hg_include = size & 1;
	memcpy(hg.hg_buf, data, size);
	hg.hg_len = size;
	hg.hg_eof = 1;
	if (response_head(&hg) == -1) {
		if (hg.hg_error[0] == '\0')
			abort();
		return 0;
	}
	if (hg.hg_status < 100 || hg.hg_status > 999)
		abort();
	if (response_body(&hg) == -1 && hg.hg_error[0] == '\0')
		abort();
	if (hg.hg_off > hg.hg_len || hg.hg_len > sizeof(hg.hg_buf))
		abort();
	return 0;
}
