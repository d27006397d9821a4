/*
 * io: waiting on a socket against a deadline, writing all of a buffer,
 * and the lingering close.
 */
#include <sys/socket.h>

#include <errno.h>
#include <poll.h>
#include <unistd.h>

#include "clock.h"
#include "io.h"

long long
io_deadline(int timeout_ms)
{
	return timeout_ms < 0 ? -1 : clock_ms() + timeout_ms;
}

int
io_wait(int fd, short events, long long deadline)
{
	struct pollfd pfd;
	long long left;
	int r;

	pfd.fd = fd;
	pfd.events = events;
	for (;;) {
		left = -1;
		if (deadline >= 0) {
			left = deadline - clock_ms();
			if (left <= 0) {
				errno = ETIMEDOUT;
				return 0;
			}
			if (left > 1000LL * 1000 * 1000)
				left = 1000LL * 1000 * 1000;
		}
		r = poll(&pfd, 1, (int)left);
		if (r == -1 && errno == EINTR)
			continue;
		if (r == -1)
			return -1;
		if (r == 1)
			return 1;
		/* 0: the deadline, or a wait cut to fit an int; look again. */
	}
}

int
io_write_all(int fd, const void *buf, size_t len, int timeout_ms)
{
	const char *p = buf;
	long long deadline = io_deadline(timeout_ms);
	int sock = 1;
	ssize_t n;

	while (len > 0) {
		n = sock ? send(fd, p, len, MSG_NOSIGNAL) : write(fd, p, len);
		if (n > 0) {
			p += n;
			len -= (size_t)n;
			continue;
		}
		if (n == -1 && sock && errno == ENOTSOCK) {
			sock = 0;	/* a pipe, a file, a terminal */
			continue;
		}
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && errno != EAGAIN && errno != EWOULDBLOCK)
			return -1;
		if (io_wait(fd, POLLOUT, deadline) != 1)
			return -1;
	}
	return 0;
}

unsigned long long
io_linger(int rfd, int wfd, int timeout_ms, size_t max_bytes)
{
	char junk[4096];
	long long deadline = io_deadline(timeout_ms);
	unsigned long long dropped = 0;
	ssize_t n;

	if (shutdown(wfd, SHUT_WR) == -1)
		return 0;	/* ENOTSOCK: stdio, no close to linger on */
	while (max_bytes == 0 || dropped < max_bytes) {
		n = recv(rfd, junk, sizeof(junk), MSG_DONTWAIT);
		if (n > 0) {
			dropped += (unsigned long long)n;
			continue;
		}
		if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK &&
		    errno != EINTR))
			break;
		if (io_wait(rfd, POLLIN, deadline) != 1)
			break;
	}
	return dropped;
}
