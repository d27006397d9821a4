/*
 * httpget_load.h: the set-up the httpget harnesses share (httpget_chunked.c,
 * httpget_response.c). A header, not a unit: every fuzz/NAME.c is a
 * harness of its own.
 */
#ifndef FORKD_FUZZ_HTTPGET_LOAD_H
#define FORKD_FUZZ_HTTPGET_LOAD_H

#include <string.h>

#include "../clients/httpget/httpget.h"
#include "fuzz.h"

/*
 * Make hg a connection whose receive buffer holds the size bytes of data
 * with the end of stream already seen, so that no byte goes through a
 * socket; the output goes to /dev/null. Returns 0, or -1 when data does
 * not fit in the buffer (an input to skip).
 */
static inline int
fuzz_httpget_load(struct httpget *hg, const uint8_t *data, size_t size)
{
	if (size > sizeof(hg->hg_buf))
		return -1;
	memset(hg, 0, sizeof(*hg));
	hg->hg_fd = -1;
	hg->hg_out = fuzz_devnull();
	strlcpy(hg->hg_peer, "127.0.0.1 port 80", sizeof(hg->hg_peer));
	memcpy(hg->hg_buf, data, size);
	hg->hg_len = size;
	hg->hg_eof = 1;
	return 0;
}

#endif
