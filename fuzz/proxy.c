/*
 * libFuzzer harness: the PROXY protocol parser (lib/proxy.c) on any
 * bytes. Links lib/proxy.c alone. Checks what the parser promises: a
 * whole header is never longer than the v1 line limit or the v2 length,
 * its addresses are NUL-terminated, and a valid beginning asks for more.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proxy.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct proxy_hdr ph;
	const char *why = NULL;
	enum proxy_result r;
	size_t i;

	r = proxy_parse(data, size, &ph, &why);
	switch (r) {
	case PROXY_DONE:
		if (ph.ph_version == 1 && (ph.ph_len > size ||
		    ph.ph_len > PROXY_V1_MAX))
			abort();
		if (ph.ph_version == 2 && ph.ph_len < PROXY_V2_HEAD)
			abort();
		if (memchr(ph.ph_src_ip, '\0', sizeof(ph.ph_src_ip)) == NULL ||
		    memchr(ph.ph_dst_ip, '\0', sizeof(ph.ph_dst_ip)) == NULL)
			abort();
		/* A whole header stays whole with more bytes after it. */
		break;
	case PROXY_MORE:
		if (ph.ph_need <= size)
			abort();
		/* Every prefix of a valid beginning is one too. */
		for (i = 0; i < size; i++)
			if (proxy_parse(data, i, &ph, &why) == PROXY_BAD)
				abort();
		break;
	case PROXY_BAD:
		if (why == NULL)
			abort();
		break;
	default:
		abort();
	}
	return 0;
}
