/*
 * httpget's response parsers (RFC 9112 4, 5, 6.3 and 7.1) over one whole
 * response, as a server that sends it and closes would: the status line,
 * the header section (1xx interim responses skipped), the framing and
 * the body. The input fills the receive buffer with the end of stream
 * already seen, so no byte goes through a socket; the output goes to
 * /dev/null. A parser that fails must say why.
 */
#include <stdlib.h>

#include "httpget_load.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct httpget hg;

	if (fuzz_httpget_load(&hg, data, size) == -1)
		return 0;
	hg.hg_timeout_ms = 1000;
	/* -i on odd lengths: the head is copied to the output as well. */
	hg.hg_include = size & 1;
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
