/*
 * fault: an LD_PRELOAD library for t/smtpd/faults.t that makes one libc
 * call of smtpd fail on its Nth use, to test the spool's failure paths.
 * FORKD_FAULT is a comma-separated list of KEY:N:WHAT; N counts the calls
 * of KEY from 1 ("N+": that call and every later one); WHAT is an errno
 * number, "zero" (pwritev returns 0) or "short" (pwritev writes half of
 * its first buffer). Keys: fdatasync, fsync, ftruncate, pwritev,
 * memstream (open_memstream), flock (LOCK_EX only), pread0 (a pread at
 * offset 0), setlk (F_OFD_SETLK of F_WRLCK), setlkw (F_OFD_SETLKW),
 * open:NAME (openat of NAME without O_CREAT), creat:NAME (with O_CREAT).
 * Only libc calls are seen, so smtpd's sandbox holds as it is.
 */
#define _GNU_SOURCE
#include <sys/file.h>
#include <sys/types.h>
#include <sys/uio.h>

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define NFAULT	16

static struct fault {
	char	key[64];
	long	at, seen;
	int	from, what;	/* errno, or -1 zero, -2 short */
} faults[NFAULT];
static int nfaults;

static int	(*r_fdatasync)(int), (*r_fsync)(int);
static int	(*r_ftruncate)(int, off_t), (*r_flock)(int, int);
static ssize_t	(*r_pwritev)(int, const struct iovec *, int, off_t);
static ssize_t	(*r_pread)(int, void *, size_t, off_t);
static FILE	*(*r_memstream)(char **, size_t *);
static int	(*r_openat)(int, const char *, int, ...);
static int	(*r_fcntl)(int, int, ...);

__attribute__((constructor)) static void
fault_init(void)
{
	char *env, *copy, *item, *save = NULL, *c1, *c2;

	r_fdatasync = dlsym(RTLD_NEXT, "fdatasync");
	r_fsync = dlsym(RTLD_NEXT, "fsync");
	r_ftruncate = dlsym(RTLD_NEXT, "ftruncate");
	r_flock = dlsym(RTLD_NEXT, "flock");
	r_pwritev = dlsym(RTLD_NEXT, "pwritev");
	r_pread = dlsym(RTLD_NEXT, "pread");
	r_memstream = dlsym(RTLD_NEXT, "open_memstream");
	r_openat = dlsym(RTLD_NEXT, "openat");
	r_fcntl = dlsym(RTLD_NEXT, "fcntl");
	if ((env = getenv("FORKD_FAULT")) == NULL || (copy = strdup(env)) == NULL)
		return;
	for (item = strtok_r(copy, ",", &save); item != NULL &&
	    nfaults < NFAULT; item = strtok_r(NULL, ",", &save)) {
		struct fault *f = &faults[nfaults];

		/* The key may hold one ':' (open:NAME): split from the end. */
		if ((c2 = strrchr(item, ':')) == NULL)
			continue;
		*c2 = '\0';
		if ((c1 = strrchr(item, ':')) == NULL)
			continue;
		*c1 = '\0';
		snprintf(f->key, sizeof(f->key), "%s", item);
		f->at = strtol(c1 + 1, NULL, 10);
		f->from = strchr(c1 + 1, '+') != NULL;
		f->what = strcmp(c2 + 1, "zero") == 0 ? -1 :
		    strcmp(c2 + 1, "short") == 0 ? -2 : atoi(c2 + 1);
		nfaults++;
	}
}

/* Count a call of key: its fault's WHAT when this call is to fail, else 0. */
static int
fault_hit(const char *key)
{
	int i;

	for (i = 0; i < nfaults; i++) {
		struct fault *f = &faults[i];

		if (strcmp(f->key, key) != 0)
			continue;
		f->seen++;
		if (f->seen == f->at || (f->from && f->seen > f->at))
			return f->what;
	}
	return 0;
}

static int
fault_fail(int what)
{
	errno = what > 0 ? what : EIO;
	return -1;
}

int
fdatasync(int fd)
{
	int w = fault_hit("fdatasync");

	return w ? fault_fail(w) : r_fdatasync(fd);
}

int
fsync(int fd)
{
	int w = fault_hit("fsync");

	return w ? fault_fail(w) : r_fsync(fd);
}

int
ftruncate(int fd, off_t len)
{
	int w = fault_hit("ftruncate");

	return w ? fault_fail(w) : r_ftruncate(fd, len);
}

int
flock(int fd, int op)
{
	int w = (op & LOCK_EX) ? fault_hit("flock") : 0;

	return w ? fault_fail(w) : r_flock(fd, op);
}

ssize_t
pwritev(int fd, const struct iovec *iov, int n, off_t off)
{
	struct iovec half;
	int w = fault_hit("pwritev");

	if (w == -1)
		return 0;
	if (w == -2 && n > 0 && iov[0].iov_len > 1) {
		half = iov[0];
		half.iov_len /= 2;
		return r_pwritev(fd, &half, 1, off);
	}
	return w > 0 ? fault_fail(w) : r_pwritev(fd, iov, n, off);
}

ssize_t
pread(int fd, void *buf, size_t len, off_t off)
{
	int w = off == 0 ? fault_hit("pread0") : 0;

	return w ? fault_fail(w) : r_pread(fd, buf, len, off);
}

FILE *
open_memstream(char **bufp, size_t *sizep)
{
	int w = fault_hit("memstream");

	if (w) {
		fault_fail(w);
		return NULL;
	}
	return r_memstream(bufp, sizep);
}

int
openat(int dfd, const char *path, int flags, ...)
{
	char key[80];
	mode_t mode = 0;
	va_list ap;
	int w;

	if (flags & (O_CREAT | O_TMPFILE)) {
		va_start(ap, flags);
		mode = va_arg(ap, mode_t);
		va_end(ap);
	}
	snprintf(key, sizeof(key), "%s:%s", (flags & O_CREAT) ? "creat" :
	    "open", path);
	if ((w = fault_hit(key)) != 0)
		return fault_fail(w);
	return r_openat(dfd, path, flags, mode);
}

int
fcntl(int fd, int cmd, ...)
{
	va_list ap;
	void *arg;
	int w = 0;

	va_start(ap, cmd);
	arg = va_arg(ap, void *);
	va_end(ap);
	if (cmd == F_OFD_SETLK && ((struct flock *)arg)->l_type == F_WRLCK)
		w = fault_hit("setlk");
	else if (cmd == F_OFD_SETLKW)
		w = fault_hit("setlkw");
	return w ? fault_fail(w) : r_fcntl(fd, cmd, arg);
}
