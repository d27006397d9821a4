/*
 * mbox_hint: the last commit, on a page every smtpd process of the spool
 * shares, so a delivery waiting for a commit sleeps on a futex(2) until
 * a leader has one, and is woken with every other waiter at once.
 *
 * The page is the file .smtpd.hint of the spool, mapped MAP_SHARED and
 * never synced: the state lines of smtpd.lock stay the only truth on
 * disk, the page only says sooner what the committed line says, and the
 * process that writes a new state (mbox_open()) sets it anew. A leader publishes on it only after its
 * fdatasync(2) of smtpd.lock has returned, so a number the page shows is
 * on disk with its message; a delivery reads it without a lock and, when
 * its number is there in its epoch, answers 250 with no system call. A
 * waiter that finds no leader (the sync lock free) leads itself; one
 * that finds a leader sleeps on h_release, which a leader counts up
 * after it lets go of the sync lock, and wakes then with every other
 * waiter, to find itself covered or to lead the next group. It took
 * its ticket (h_release) before it found the lock held, so a release
 * in between is never missed. A leader killed before it let go costs
 * the waiters MBOX_HINT_WAIT_MS at most; then the next of them leads.
 *
 * The page also says how many deliveries the last commit covered, for
 * the next leader's commit delay (mbox_commit.c); that is a hint alone.
 *
 * Writes follow a sequence lock: h_seq odd while the leader (one at a
 * time: it holds the sync lock) writes, even after. A reader that sees
 * it odd, or changed while it read, does not trust what it read.
 */
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#include <linux/futex.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <time.h>
#include <unistd.h>

#include "mbox.h"

#define MBOX_HINT		".smtpd.hint"
#define MBOX_HINT_SIZE		4096	/* bytes: one page */
#define MBOX_HINT_WAIT_MS	20	/* a waiter's longest sleep */

struct mbox_hint {
	uint32_t	h_seq;		/* the sequence lock */
	uint32_t	h_release;	/* sync lock releases: the futex word */
	uint64_t	h_number;	/* last message committed */
	uint64_t	h_epoch;	/* in this epoch */
	uint32_t	h_group;	/* deliveries the last commit covered */
};

int
mbox_hint_open(struct smtpd *sd)
{
	struct stat sb;
	void *p;
	int fd, e;

	fd = openat(sd->sd_spoolfd, MBOX_HINT, O_RDWR | O_CREAT | O_CLOEXEC |
	    O_NOFOLLOW, 0600);
	if (fd == -1)
		return -1;
	p = MAP_FAILED;
	if (fstat(fd, &sb) == 0 && (sb.st_size >= MBOX_HINT_SIZE ||
	    ftruncate(fd, MBOX_HINT_SIZE) == 0))
		p = mmap(NULL, MBOX_HINT_SIZE, PROT_READ | PROT_WRITE,
		    MAP_SHARED, fd, 0);
	e = errno;
	close(fd);
	if (p == MAP_FAILED) {
		errno = e;
		return -1;
	}
	sd->sd_hint = p;
	return 0;
}

void
mbox_hint_publish(struct smtpd *sd, const struct mbox_state *cs)
{
	struct mbox_hint *h = sd->sd_hint;
	uint32_t seq;

	if (h == NULL)
		return;
	/* Odd: a leader killed mid-write left it so; go on from there. */
	seq = __atomic_load_n(&h->h_seq, __ATOMIC_RELAXED) | 1;
	__atomic_store_n(&h->h_seq, seq, __ATOMIC_RELAXED);
	__atomic_thread_fence(__ATOMIC_RELEASE);
	__atomic_store_n(&h->h_epoch, cs->st_epoch, __ATOMIC_RELAXED);
	__atomic_store_n(&h->h_number, cs->st_number, __ATOMIC_RELAXED);
	__atomic_store_n(&h->h_seq, seq + 1, __ATOMIC_RELEASE);
}

void
mbox_hint_group(struct smtpd *sd, long long n)
{
	struct mbox_hint *h = sd->sd_hint;

	if (h != NULL)
		__atomic_store_n(&h->h_group, n > UINT32_MAX ? UINT32_MAX :
		    (uint32_t)n, __ATOMIC_RELAXED);
}

long long
mbox_hint_last_group(struct smtpd *sd)
{
	struct mbox_hint *h = sd->sd_hint;

	return h == NULL ? 0 : __atomic_load_n(&h->h_group, __ATOMIC_RELAXED);
}

void
mbox_hint_release(struct smtpd *sd)
{
	struct mbox_hint *h = sd->sd_hint;

	if (h == NULL)
		return;
	__atomic_fetch_add(&h->h_release, 1, __ATOMIC_RELEASE);
	syscall(SYS_futex, &h->h_release, FUTEX_WAKE, INT_MAX, NULL, NULL, 0);
}

int
mbox_hint_look(struct smtpd *sd, long long number, unsigned long epoch,
    uint32_t *ticket)
{
	struct mbox_hint *h = sd->sd_hint;
	uint64_t n, ep;
	uint32_t seq;

	*ticket = __atomic_load_n(&h->h_release, __ATOMIC_ACQUIRE);
	seq = __atomic_load_n(&h->h_seq, __ATOMIC_ACQUIRE);
	ep = __atomic_load_n(&h->h_epoch, __ATOMIC_RELAXED);
	n = __atomic_load_n(&h->h_number, __ATOMIC_RELAXED);
	__atomic_thread_fence(__ATOMIC_ACQUIRE);
	if ((seq & 1) != 0 ||
	    __atomic_load_n(&h->h_seq, __ATOMIC_RELAXED) != seq)
		return 0;
	if (ep != epoch)
		return -1;
	return n >= (uint64_t)number;
}

void
mbox_hint_wait(struct smtpd *sd, uint32_t ticket)
{
	struct timespec ts = { 0, MBOX_HINT_WAIT_MS * 1000000L };

	syscall(SYS_futex, &((struct mbox_hint *)sd->sd_hint)->h_release,
	    FUTEX_WAIT, ticket, &ts, NULL, 0);
}
