/*
 * mode: the wait/nowait field of forkd.conf: wait|nowait[.max]|prefork.N,
 * then FreeBSD inetd's /max-child/max-connections-per-ip-per-minute/
 * max-child-per-ip, then "+proxy". Pure functions of the text.
 */
#include <sys/types.h>
#include <sys/socket.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "forkd.h"

static int	mode_limits(struct servtab *, char *, const char *, char *,
		    size_t);
static int	mode_kind(struct servtab *, const char *, const char *, char *,
		    size_t);
static int	mode_check(const struct servtab *, const char *, char *,
		    size_t);

/* The limits after the mode, from slash on ("2/10/1"); empty is 0. */
static int
mode_limits(struct servtab *sep, char *slash, const char *whole, char *why,
    size_t whylen)
{
	static const char *const what[3] = { "max-child",
	    "max-connections-per-ip-per-minute", "max-child-per-ip" };
	int *limit[3] = { &sep->se_maxchild, &sep->se_maxcpm,
	    &sep->se_maxperip };
	const char *errstr;
	char *next;
	int i;

	for (i = 0; slash != NULL; i++) {
		if (i == 3) {
			snprintf(why, whylen, "\"%s\": at most three limits "
			    "(max-child/max-connections-per-ip-per-minute/"
			    "max-child-per-ip)", whole);
			return -1;
		}
		if ((next = strchr(slash, '/')) != NULL)
			*next++ = '\0';
		*limit[i] = 0;
		if (*slash != '\0')
			*limit[i] = (int)strtonum(slash, 0, 1000000, &errstr);
		if (*slash != '\0' && errstr != NULL) {
			snprintf(why, whylen, "\"%s\": %s \"%s\" is %s", whole,
			    what[i], slash, errstr);
			return -1;
		}
		slash = next;
	}
	return 0;
}

/*
 * wait, nowait[.max] or prefork.N. A max of 0 is kept as 0: no looping
 * guard (loop.c), as in busybox inetd and FreeBSD inetd's -R 0; it is
 * never the default (SE_MAX_DEFAULT), which is what OpenBSD inetd makes
 * of it after logging it as illegal.
 */
static int
mode_kind(struct servtab *sep, const char *field, const char *whole,
    char *why, size_t whylen)
{
	const char *dot = strchr(field, '.'), *errstr;
	size_t len = dot != NULL ? (size_t)(dot - field) : strlen(field);
	long long max;

	if (len == 4 && strncmp(field, "wait", 4) == 0) {
		sep->se_mode = SE_WAIT;
		sep->se_max = SE_MAX_DEFAULT;
	} else if (len == 6 && strncmp(field, "nowait", 6) == 0) {
		sep->se_mode = SE_NOWAIT;
		sep->se_max = SE_MAX_DEFAULT;
	} else if (len == 7 && strncmp(field, "prefork", 7) == 0) {
		sep->se_mode = SE_PREFORK;
		if (dot == NULL) {
			snprintf(why, whylen, "\"prefork\" needs a pool size: "
			    "prefork.N");
			return -1;
		}
	} else {
		snprintf(why, whylen, "\"%s\": expected wait, nowait[.max] or "
		    "prefork.N", whole);
		return -1;
	}
	if (dot == NULL)
		return 0;
	max = sep->se_mode == SE_PREFORK ? SE_PREFORK_MAX : 1000000;
	sep->se_max = (int)strtonum(dot + 1, sep->se_mode == SE_PREFORK ? 1 :
	    0, max, &errstr);
	if (errstr != NULL) {
		snprintf(why, whylen, "\"%s\": the number after the dot is %s",
		    whole, errstr);
		return -1;
	}
	return 0;
}

/* What goes together: datagrams are wait; max-child is nowait's. */
static int
mode_check(const struct servtab *sep, const char *whole, char *why,
    size_t whylen)
{
	if (sep->se_mode == SE_NOWAIT && sep->se_socktype != SOCK_STREAM)
		snprintf(why, whylen, "nowait needs a stream socket: "
		    "datagram services are wait");
	else if (sep->se_mode == SE_PREFORK && sep->se_socktype != SOCK_STREAM)
		snprintf(why, whylen, "prefork needs a stream socket: "
		    "datagram services are wait");
	else if (sep->se_maxchild > 0 && sep->se_mode != SE_NOWAIT)
		snprintf(why, whylen, "\"%s\": max-child is for nowait (wait "
		    "runs one handler, prefork.N N): give 0", whole);
	else if (sep->se_socktype != SOCK_STREAM &&
	    (sep->se_proxy || SE_PERSOURCE(sep)))
		snprintf(why, whylen, "\"%s\": +proxy and per-source limits "
		    "are for stream services", whole);
	else
		return 0;
	return -1;
}

int
conf_mode_parse(struct servtab *sep, const char *whole, char *why,
    size_t whylen)
{
	char buf[128], *plus, *slash;

	if (strlcpy(buf, whole, sizeof(buf)) >= sizeof(buf)) {
		snprintf(why, whylen, "\"%s\": too long", whole);
		return -1;
	}
	if ((plus = strchr(buf, '+')) != NULL) {
		*plus++ = '\0';
		if (strcmp(plus, "proxy") != 0) {
			snprintf(why, whylen, "\"%s\": the only suffix is "
			    "+proxy", whole);
			return -1;
		}
		sep->se_proxy = 1;
	}
	if ((slash = strchr(buf, '/')) != NULL)
		*slash++ = '\0';
	if (mode_limits(sep, slash, whole, why, whylen) == -1 ||
	    mode_kind(sep, buf, whole, why, whylen) == -1)
		return -1;
	return mode_check(sep, whole, why, whylen);
}
