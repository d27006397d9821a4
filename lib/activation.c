/*
 * activation: sockets passed by a service manager (sd_listen_fds(3)).
 *
 * The protocol is three environment variables and a run of fds from 3,
 * so it is read here rather than through libsystemd: every handler links
 * this library and runs under seccomp, and the whole of what it needs is
 * getenv(3), getpid(2) and fcntl(2), all in the sandbox's base set.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "activation.h"

static int	activation_number(const char *, long long, long long,
		    long long *);
static char   **activation_names(const char *, int);
static void	activation_unset(int);

/* A decimal number in [min, max] with nothing around it; -1 otherwise. */
static int
activation_number(const char *s, long long min, long long max,
    long long *out)
{
	const char *errstr;

	*out = strtonum(s, min, max, &errstr);
	if (errstr != NULL || *s < '0' || *s > '9')
		return -1;
	return 0;
}

/*
 * The names of n fds from LISTEN_FDNAMES (colon-separated; NULL: each is
 * "unknown"), as one allocation: the pointer array, then the strings.
 * NULL with errno EINVAL when the count differs from n, or ENOMEM.
 */
static char **
activation_names(const char *env, int n)
{
	static const char unknown[] = "unknown";
	size_t slen, i, count;
	const char *q;
	char **v, *p;

	if (env != NULL) {
		count = 1;
		for (q = env; *q != '\0'; q++)
			if (*q == ':')
				count++;
		if (count != (size_t)n) {
			errno = EINVAL;
			return NULL;
		}
		slen = strlen(env) + 1;
	} else
		slen = (size_t)n * sizeof(unknown);

	if ((v = malloc(((size_t)n + 1) * sizeof(*v) + slen)) == NULL)
		return NULL;
	p = (char *)(v + n + 1);
	if (env != NULL) {
		memcpy(p, env, slen);
		for (i = 0; i < (size_t)n; i++) {
			v[i] = p;
			p += strcspn(p, ":");
			*p++ = '\0';
		}
	} else {
		for (i = 0; i < (size_t)n; i++) {
			memcpy(p, unknown, sizeof(unknown));
			v[i] = p;
			p += sizeof(unknown);
		}
	}
	v[n] = NULL;
	return v;
}

static void
activation_unset(int unset_env)
{
	if (!unset_env)
		return;
	unsetenv("LISTEN_PID");
	unsetenv("LISTEN_FDS");
	unsetenv("LISTEN_FDNAMES");
}

int
activation_listen_fds(int unset_env, char ***names)
{
	const char *e;
	long long pid, n;
	int fd, fl, saved;

	if (names != NULL)
		*names = NULL;
	if ((e = getenv("LISTEN_PID")) == NULL) {
		activation_unset(unset_env);
		return 0;
	}
	if (activation_number(e, 1, INT_MAX, &pid) == -1)
		goto invalid;
	/* Inherited from a parent that was activated: not ours. */
	if (pid != (long long)getpid()) {
		activation_unset(unset_env);
		return 0;
	}
	if ((e = getenv("LISTEN_FDS")) == NULL) {
		activation_unset(unset_env);
		return 0;
	}
	if (activation_number(e, 0, INT_MAX - ACTIVATION_FDS_START, &n) == -1)
		goto invalid;

	for (fd = ACTIVATION_FDS_START; fd < ACTIVATION_FDS_START + n; fd++) {
		if ((fl = fcntl(fd, F_GETFD)) == -1 ||
		    (!(fl & FD_CLOEXEC) &&
		    fcntl(fd, F_SETFD, fl | FD_CLOEXEC) == -1)) {
			saved = errno;
			activation_unset(unset_env);
			errno = saved;
			return -1;
		}
	}
	if (names != NULL && n > 0 &&
	    (*names = activation_names(getenv("LISTEN_FDNAMES"), (int)n)) ==
	    NULL) {
		saved = errno;
		activation_unset(unset_env);
		errno = saved;
		return -1;
	}
	activation_unset(unset_env);
	return (int)n;

invalid:
	activation_unset(unset_env);
	errno = EINVAL;
	return -1;
}
