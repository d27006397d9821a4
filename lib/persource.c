/*
 * persource: the shared table of per-source limits (see persource.h).
 *
 * Layout: a header with the limits, then two fixed arrays hashed by
 * address. Slots (address, pid, connections) say who holds what now;
 * rate entries (address, window start, connections in it, last refusal
 * logged) count a minute and keep refusal logs to one a minute. Both are
 * set-associative: an address lives in the ways of one bucket, chosen by
 * a keyed hash so a client cannot aim its addresses at one bucket.
 */
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/types.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "persource.h"

#define PS_MAGIC	0x70737263u	/* "psrc" */
#define PS_BUCKETS	256
#define PS_WAYS		16		/* slots a bucket */
#define PS_RWAYS	8		/* rate entries a bucket */
#define PS_MINUTE_MS	60000LL

struct ps_slot {
	pid_t		s_pid;		/* 0: free */
	uint32_t	s_n;		/* connections pid serves from s_addr */
	uint8_t		s_addr[16];
};

struct ps_rate {
	uint8_t		r_addr[16];
	int64_t		r_start;	/* window start (ms); 0: free */
	int64_t		r_logged;	/* last refusal logged (ms) */
	uint32_t	r_n;		/* connections admitted in the window */
};

struct ps_table {
	uint32_t	t_magic;
	uint32_t	t_key;		/* hash key, random */
	int32_t		t_maxperip;
	int32_t		t_maxcpm;
	int64_t		t_full_logged;	/* ms */
	uint64_t	t_refused;
	struct ps_slot	t_slot[PS_BUCKETS][PS_WAYS];
	struct ps_rate	t_rate[PS_BUCKETS][PS_RWAYS];
};

struct persource {
	int		 ps_fd;
	struct ps_table	*ps_t;
};

static int
ps_lock(struct persource *ps, int type)
{
	struct flock fl;

	memset(&fl, 0, sizeof(fl));
	fl.l_type = (short)type;
	fl.l_whence = SEEK_SET;
	while (fcntl(ps->ps_fd, F_SETLKW, &fl) == -1)
		if (errno != EINTR)
			return -1;
	return 0;
}

/* IPv4 as IPv4-mapped IPv6, so both spellings are one source. */
static int
ps_key(const char *ip, uint8_t key[16])
{
	struct in_addr a4;

	if (inet_pton(AF_INET6, ip, key) == 1)
		return 0;
	if (inet_pton(AF_INET, ip, &a4) != 1)
		return -1;
	memset(key, 0, 10);
	key[10] = key[11] = 0xff;
	memcpy(key + 12, &a4, 4);
	return 0;
}

/* FNV-1a over the key and the address: good enough spread, keyed. */
static unsigned
ps_bucket(const struct ps_table *t, const uint8_t addr[16])
{
	uint32_t h = 2166136261u ^ t->t_key;
	int i;

	for (i = 0; i < 16; i++) {
		h ^= addr[i];
		h *= 16777619u;
	}
	h ^= h >> 15;
	return h % PS_BUCKETS;
}

static struct persource *
ps_map(int fd, int create)
{
	struct persource *ps;
	void *p;

	if ((ps = calloc(1, sizeof(*ps))) == NULL)
		return NULL;
	p = mmap(NULL, sizeof(struct ps_table), PROT_READ | PROT_WRITE,
	    MAP_SHARED, fd, 0);
	if (p == MAP_FAILED) {
		free(ps);
		return NULL;
	}
	ps->ps_fd = fd;
	ps->ps_t = p;
	if (!create && ps->ps_t->t_magic != PS_MAGIC) {
		munmap(p, sizeof(struct ps_table));
		free(ps);
		errno = EINVAL;
		return NULL;
	}
	return ps;
}

struct persource *
persource_create(int maxperip, int maxcpm)
{
	struct persource *ps;
	int fd, e;

	if ((fd = memfd_create("forkd-persource", MFD_CLOEXEC)) == -1)
		return NULL;
	if (ftruncate(fd, sizeof(struct ps_table)) == -1 ||
	    (ps = ps_map(fd, 1)) == NULL) {
		e = errno;
		close(fd);
		errno = e;
		return NULL;
	}
	arc4random_buf(&ps->ps_t->t_key, sizeof(ps->ps_t->t_key));
	ps->ps_t->t_maxperip = maxperip;
	ps->ps_t->t_maxcpm = maxcpm;
	/* The first full bucket is logged, however young the clock. */
	ps->ps_t->t_full_logged = -PS_MINUTE_MS;
	ps->ps_t->t_magic = PS_MAGIC;
	return ps;
}

struct persource *
persource_attach(int fd)
{
	struct stat st;
	int fl;

	if (fstat(fd, &st) == -1)
		return NULL;
	if ((size_t)st.st_size < sizeof(struct ps_table)) {
		errno = EINVAL;
		return NULL;
	}
	if ((fl = fcntl(fd, F_GETFD)) != -1)
		fcntl(fd, F_SETFD, fl | FD_CLOEXEC);
	return ps_map(fd, 0);
}

int
persource_fd(const struct persource *ps)
{
	return ps->ps_fd;
}

void
persource_set(struct persource *ps, int maxperip, int maxcpm)
{
	if (ps_lock(ps, F_WRLCK) == -1)
		return;
	ps->ps_t->t_maxperip = maxperip;
	ps->ps_t->t_maxcpm = maxcpm;
	ps_lock(ps, F_UNLCK);
}

void
persource_close(struct persource *ps)
{
	if (ps == NULL)
		return;
	munmap(ps->ps_t, sizeof(struct ps_table));
	close(ps->ps_fd);
	free(ps);
}

static int
ps_held(const struct ps_slot *b, const uint8_t addr[16])
{
	int i, n = 0;

	for (i = 0; i < PS_WAYS; i++)
		if (b[i].s_pid != 0 && memcmp(b[i].s_addr, addr, 16) == 0)
			n += (int)b[i].s_n;
	return n;
}

/* The rate entry of addr, or one to take over for it (reset). */
static struct ps_rate *
ps_rate(struct ps_rate *b, const uint8_t addr[16], long long now)
{
	struct ps_rate *r, *old = &b[0];
	int i;

	for (i = 0; i < PS_RWAYS; i++)
		if (b[i].r_start != 0 && memcmp(b[i].r_addr, addr, 16) == 0)
			return &b[i];
	for (i = 0; i < PS_RWAYS; i++) {
		r = &b[i];
		if (r->r_start == 0 || (now - r->r_start >= PS_MINUTE_MS &&
		    now - r->r_logged >= PS_MINUTE_MS))
			break;
		if (r->r_start < old->r_start)
			old = r;
	}
	/* Every way in use this minute: the oldest window goes. */
	if (i == PS_RWAYS)
		r = old;
	memset(r, 0, sizeof(*r));
	memcpy(r->r_addr, addr, 16);
	r->r_start = now > 0 ? now : 1;
	r->r_logged = now - PS_MINUTE_MS;
	return r;
}

enum persource_verdict
persource_enter(struct persource *ps, const char *ip, pid_t pid,
    long long now, int *logit)
{
	struct ps_table *t = ps->ps_t;
	struct ps_slot *b, *s = NULL;
	struct ps_rate *r = NULL;
	enum persource_verdict v = PERSOURCE_OK;
	uint8_t addr[16];
	unsigned h;
	int i;

	*logit = 0;
	if (ps_key(ip, addr) == -1)
		return PERSOURCE_UNCOUNTED;
	if (ps_lock(ps, F_WRLCK) == -1)
		return PERSOURCE_UNCOUNTED;
	h = ps_bucket(t, addr);
	b = t->t_slot[h];
	if (t->t_maxperip > 0 && ps_held(b, addr) >= t->t_maxperip)
		v = PERSOURCE_CHILD;
	if (v == PERSOURCE_OK && t->t_maxcpm > 0) {
		r = ps_rate(t->t_rate[h], addr, now);
		if (now - r->r_start >= PS_MINUTE_MS) {
			r->r_start = now;
			r->r_n = 0;
		}
		if (r->r_n >= (uint32_t)t->t_maxcpm)
			v = PERSOURCE_RATE;
		else
			r->r_n++;
	}
	if (v != PERSOURCE_OK) {
		t->t_refused++;
		if (r == NULL)
			r = ps_rate(t->t_rate[h], addr, now);
		if (now - r->r_logged >= PS_MINUTE_MS) {
			r->r_logged = now;
			*logit = 1;
		}
		goto out;
	}
	for (i = 0; i < PS_WAYS; i++)
		if (b[i].s_pid == pid && memcmp(b[i].s_addr, addr, 16) == 0) {
			s = &b[i];
			break;
		}
	for (i = 0; s == NULL && i < PS_WAYS; i++)
		if (b[i].s_pid == 0) {
			s = &b[i];
			s->s_pid = pid;
			s->s_n = 0;
			memcpy(s->s_addr, addr, 16);
		}
	if (s == NULL) {
		/* Served uncounted rather than refused: limits are fairness,
		 * and a full bucket is no fault of this client's. */
		v = PERSOURCE_UNCOUNTED;
		if (now - t->t_full_logged >= PS_MINUTE_MS) {
			t->t_full_logged = now;
			*logit = 1;
		}
		goto out;
	}
	s->s_n++;
out:
	ps_lock(ps, F_UNLCK);
	return v;
}

void
persource_leave(struct persource *ps, const char *ip, pid_t pid)
{
	struct ps_slot *b;
	uint8_t addr[16];
	int i;

	if (ps_key(ip, addr) == -1 || ps_lock(ps, F_WRLCK) == -1)
		return;
	b = ps->ps_t->t_slot[ps_bucket(ps->ps_t, addr)];
	for (i = 0; i < PS_WAYS; i++)
		if (b[i].s_pid == pid && memcmp(b[i].s_addr, addr, 16) == 0) {
			if (b[i].s_n > 0)
				b[i].s_n--;
			if (b[i].s_n == 0)
				b[i].s_pid = 0;
			break;
		}
	ps_lock(ps, F_UNLCK);
}

int
persource_reap(struct persource *ps, pid_t pid)
{
	struct ps_slot *s;
	int i, j, n = 0;

	if (ps_lock(ps, F_WRLCK) == -1)
		return 0;
	for (i = 0; i < PS_BUCKETS; i++)
		for (j = 0; j < PS_WAYS; j++) {
			s = &ps->ps_t->t_slot[i][j];
			if (s->s_pid == pid) {
				n += (int)s->s_n;
				s->s_pid = 0;
				s->s_n = 0;
			}
		}
	ps_lock(ps, F_UNLCK);
	return n;
}

int
persource_count(struct persource *ps, const char *ip)
{
	uint8_t addr[16];
	int n;

	if (ps_key(ip, addr) == -1 || ps_lock(ps, F_WRLCK) == -1)
		return 0;
	n = ps_held(ps->ps_t->t_slot[ps_bucket(ps->ps_t, addr)], addr);
	ps_lock(ps, F_UNLCK);
	return n;
}

unsigned long
persource_refusals(struct persource *ps)
{
	return (unsigned long)ps->ps_t->t_refused;
}
