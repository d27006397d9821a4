/*
 * io: waiting on a socket against a deadline, writing all of a buffer,
 * and the lingering close.
 */
#ifndef FORKD_IO_H
#define FORKD_IO_H

#include <stddef.h>

/*
 * Wait in poll(2) until fd has one of events (POLLIN, POLLOUT) or the
 * monotonic deadline (clock_ms() milliseconds; -1: none) passes; an
 * interrupted poll is resumed with the time left. Returns 1 when fd is
 * ready (or has POLLHUP/POLLERR, for the next read or write to report),
 * 0 when the deadline passed (errno ETIMEDOUT), -1 with poll's errno.
 */
int	io_wait(int fd, short events, long long deadline);

/*
 * The deadline that is timeout_ms milliseconds from now on clock_ms(),
 * or -1 (none) when timeout_ms is negative: the argument io_wait takes.
 */
long long io_deadline(int timeout_ms);

/*
 * Write all len bytes of buf to fd, waiting in poll(2) when fd is
 * non-blocking, for at most timeout_ms milliseconds in all (-1: no limit).
 * A socket is written with MSG_NOSIGNAL; another fd needs SIGPIPE
 * ignored. Returns 0, or -1 with errno (ETIMEDOUT when the peer would not
 * read, EPIPE/ECONNRESET when it went away).
 */
int	io_write_all(int fd, const void *buf, size_t len, int timeout_ms);

/*
 * The lingering close of a connection whose answer is written (RFC 9112
 * 9.6; Apache's lingering_close): shut down wfd for writing, so the peer
 * sees the end, then read and drop what it still sends on rfd until its
 * end of stream, for at most timeout_ms milliseconds and max_bytes bytes
 * (0: no limit), so that closing with unread input does not turn into a
 * reset that destroys the answer in flight. rfd and wfd are the two ends
 * inetd hands a handler (fd 0 and 1: one socket), or the same fd. Closes
 * neither. Returns the bytes dropped; 0 at once when wfd is not a socket.
 */
unsigned long long io_linger(int rfd, int wfd, int timeout_ms,
	    size_t max_bytes);

#endif
