/*
 * conn: the connection's receive buffer, reads and writes under deadlines,
 * and the output.
 */
#include <sys/socket.h>

#include <err.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "dial.h"
#include "httpget.h"

size_t
conn_fill(struct httpget *hg)
{
	ssize_t n;

	if (hg->hg_eof)
		return 0;
	/* Keep the unread bytes at the front, so a line can use it all. */
	if (hg->hg_off > 0) {
		memmove(hg->hg_buf, hg->hg_buf + hg->hg_off,
		    hg->hg_len - hg->hg_off);
		hg->hg_len -= hg->hg_off;
		hg->hg_off = 0;
	}
	if (hg->hg_len == sizeof(hg->hg_buf))
		return 0;	/* full: the caller's bound catches it */
	n = dial_recv(hg->hg_fd, hg->hg_buf + hg->hg_len,
	    sizeof(hg->hg_buf) - hg->hg_len, hg->hg_timeout_ms, hg->hg_peer);
	if (n == 0)
		hg->hg_eof = 1;
	hg->hg_len += (size_t)n;
	return (size_t)n;
}

int
conn_getline(struct httpget *hg, size_t max, char **linep, size_t *raw,
    size_t *len, const char *what)
{
	char *line, *nl;
	size_t have;

	for (;;) {
		line = hg->hg_buf + hg->hg_off;
		have = hg->hg_len - hg->hg_off;
		nl = memchr(line, '\n', have < max ? have : max);
		if (nl != NULL)
			break;
		if (have >= max)
			goto toolong;
		if (conn_fill(hg) == 0) {
			if (hg->hg_eof)
				return 0;
			goto toolong;	/* buffer full: max > HG_BUFSIZE */
		}
	}
	*raw = (size_t)(nl - line) + 1;
	*len = *raw - 1;
	/* RFC 9112 2.2: a recipient MAY accept a bare LF as the end. */
	if (*len > 0 && line[*len - 1] == '\r')
		(*len)--;
	hg->hg_off += *raw;
	*linep = line;
	return 1;
toolong:
	snprintf(hg->hg_error, sizeof(hg->hg_error),
	    "response from %s: %s longer than %zu bytes", hg->hg_peer, what,
	    max);
	return -1;
}

void
conn_send(struct httpget *hg, const void *buf, size_t len)
{
	dial_send(hg->hg_fd, buf, len, hg->hg_timeout_ms, hg->hg_peer);
}

void
conn_output(struct httpget *hg, const void *buf, size_t len)
{
	const char *p = buf;
	ssize_t n;

	while (len > 0) {
		n = write(hg->hg_out, p, len);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			err(EXIT_FAILURE, "write %s", hg->hg_outfile != NULL ?
			    hg->hg_outfile : "stdout");
		}
		p += n;
		len -= (size_t)n;
	}
}

uint64_t
conn_copy(struct httpget *hg, uint64_t n)
{
	uint64_t done = 0;
	size_t have, take;

	while (done < n) {
		have = hg->hg_len - hg->hg_off;
		if (have == 0) {
			hg->hg_off = hg->hg_len = 0;
			if (conn_fill(hg) == 0)
				break;
			continue;
		}
		take = have;
		if ((uint64_t)take > n - done)
			take = (size_t)(n - done);
		conn_output(hg, hg->hg_buf + hg->hg_off, take);
		hg->hg_off += take;
		done += take;
	}
	return done;
}
