/*
 * httpget's chunked decoder (RFC 9112 7.1) alone, over a whole chunked
 * body followed by the end of stream (see httpget_response.c).
 */
#include <stdlib.h>

#include "httpget_load.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct httpget hg;

	if (fuzz_httpget_load(&hg, data, size) == -1)
		return 0;
	hg.hg_framing = HG_BODY_CHUNKED;
	if (chunked_body(&hg) == -1 && hg.hg_error[0] == '\0')
		abort();
	if (hg.hg_off > hg.hg_len)
		abort();
	return 0;
}
