/*
 * conf: forkd.conf, in inetd.conf syntax, read with libbsd's fparseln(3).
 */
#include <sys/types.h>
#include <sys/socket.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <errno.h>
#include <grp.h>
#include <netdb.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "forkd.h"
#include "persource.h"

#define CONF_FIELDS_MAX	(7 + SE_ARGV_MAX)

struct conf_ctx {
	const char	*path;
	int		 line;
	char		*err;
	size_t		 errlen;
	int		 nerr;
};

static void	conf_error(struct conf_ctx *, const char *, const char *, ...)
		    __attribute__((format(printf, 3, 4)));
static int	conf_addr(struct conf_ctx *, struct servtab *, const char *);
static int	conf_port(struct conf_ctx *, struct servtab *, const char *,
		    int *);
static int	conf_mode(struct conf_ctx *, struct servtab *, const char *);
static int	conf_user(struct conf_ctx *, struct servtab *, const char *);
static struct servtab *conf_line(struct conf_ctx *, char **, int);

/* One error line: "file:line: field: why". */
static void
conf_error(struct conf_ctx *c, const char *field, const char *fmt, ...)
{
	char msg[512];
	size_t used;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	c->nerr++;
	if (c->err == NULL || c->errlen == 0)
		return;
	used = strlen(c->err);
	if (used < c->errlen)
		snprintf(c->err + used, c->errlen - used, "%s:%d: %s: %s\n",
		    c->path, c->line, field, msg);
}

static int
conf_addr(struct conf_ctx *c, struct servtab *sep, const char *host)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)&sep->se_addr;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&sep->se_addr;

	memset(&sep->se_addr, 0, sizeof(sep->se_addr));
	if (sep->se_family == AF_INET) {
		sin->sin_family = AF_INET;
		sep->se_addrlen = sizeof(*sin);
		if (host == NULL || strcmp(host, "*") == 0) {
			sin->sin_addr.s_addr = htonl(INADDR_ANY);
			return 0;
		}
		if (inet_pton(AF_INET, host, &sin->sin_addr) != 1) {
			conf_error(c, "address", "\"%s\" is not an IPv4 "
			    "address (%s wants one; [IPv6] needs %s6)",
			    host, sep->se_proto, sep->se_proto);
			return -1;
		}
		return 0;
	}
	sin6->sin6_family = AF_INET6;
	sep->se_addrlen = sizeof(*sin6);
	if (host == NULL || strcmp(host, "*") == 0) {
		sin6->sin6_addr = in6addr_any;
		return 0;
	}
	if (inet_pton(AF_INET6, host, &sin6->sin6_addr) != 1) {
		conf_error(c, "address", "\"%s\" is not an IPv6 address "
		    "(%s wants [IPv6])", host, sep->se_proto);
		return -1;
	}
	return 0;
}

static int
conf_port(struct conf_ctx *c, struct servtab *sep, const char *service,
    int *port)
{
	const char *errstr;
	struct servent *se;
	const char *base = sep->se_socktype == SOCK_STREAM ? "tcp" : "udp";
	long long n;

	if (strspn(service, "0123456789") == strlen(service)) {
		n = strtonum(service, 1, 65535, &errstr);
		if (errstr != NULL) {
			conf_error(c, "service", "port \"%s\" is %s (1 to "
			    "65535)", service, errstr);
			return -1;
		}
		*port = (int)n;
		return 0;
	}
	if ((se = getservbyname(service, base)) == NULL) {
		conf_error(c, "service", "\"%s/%s\" is not in /etc/services",
		    service, base);
		return -1;
	}
	*port = ntohs((uint16_t)se->s_port);
	return 0;
}

/* One number of the limits after the mode: empty is 0. */
static int
conf_limit(struct conf_ctx *c, const char *field, const char *what,
    const char *s, int *out)
{
	const char *errstr;

	if (*s == '\0') {
		*out = 0;
		return 0;
	}
	*out = (int)strtonum(s, 0, 1000000, &errstr);
	if (errstr != NULL) {
		conf_error(c, "wait/nowait", "\"%s\": %s \"%s\" is %s",
		    field, what, s, errstr);
		return -1;
	}
	return 0;
}

/*
 * The mode field: wait|nowait[.max]|prefork.N, FreeBSD inetd's
 * /max-child/max-connections-per-ip-per-minute/max-child-per-ip, and
 * "+proxy".
 */
static int
conf_mode(struct conf_ctx *c, struct servtab *sep, const char *whole)
{
	static const char *const what[3] = { "max-child",
	    "max-connections-per-ip-per-minute", "max-child-per-ip" };
	int *limit[3] = { &sep->se_maxchild, &sep->se_maxcpm,
	    &sep->se_maxperip };
	char buf[128], *field, *plus, *slash, *next;
	const char *dot, *errstr;
	size_t len;
	int i;

	if (strlcpy(buf, whole, sizeof(buf)) >= sizeof(buf)) {
		conf_error(c, "wait/nowait", "\"%s\": too long", whole);
		return -1;
	}
	field = buf;
	if ((plus = strchr(field, '+')) != NULL) {
		*plus++ = '\0';
		if (strcmp(plus, "proxy") != 0) {
			conf_error(c, "wait/nowait", "\"%s\": the only suffix "
			    "is +proxy", whole);
			return -1;
		}
		sep->se_proxy = 1;
	}
	if ((slash = strchr(field, '/')) != NULL)
		*slash++ = '\0';
	for (i = 0; slash != NULL; i++) {
		if (i == 3) {
			conf_error(c, "wait/nowait", "\"%s\": at most three "
			    "limits (max-child/max-connections-per-ip-per-"
			    "minute/max-child-per-ip)", whole);
			return -1;
		}
		if ((next = strchr(slash, '/')) != NULL)
			*next++ = '\0';
		if (conf_limit(c, whole, what[i], slash, limit[i]) == -1)
			return -1;
		slash = next;
	}

	dot = strchr(field, '.');
	len = dot != NULL ? (size_t)(dot - field) : strlen(field);
	if (len == 4 && strncmp(field, "wait", 4) == 0) {
		sep->se_mode = SE_WAIT;
		sep->se_max = SE_MAX_DEFAULT;
	} else if (len == 6 && strncmp(field, "nowait", 6) == 0) {
		sep->se_mode = SE_NOWAIT;
		sep->se_max = SE_MAX_DEFAULT;
	} else if (len == 7 && strncmp(field, "prefork", 7) == 0) {
		sep->se_mode = SE_PREFORK;
		if (dot == NULL) {
			conf_error(c, "wait/nowait", "\"prefork\" needs a "
			    "pool size: prefork.N");
			return -1;
		}
	} else {
		conf_error(c, "wait/nowait", "\"%s\": expected wait, "
		    "nowait[.max] or prefork.N", whole);
		return -1;
	}
	if (dot != NULL) {
		long long max = sep->se_mode == SE_PREFORK ?
		    SE_PREFORK_MAX : 1000000;
		sep->se_max = (int)strtonum(dot + 1,
		    sep->se_mode == SE_PREFORK ? 1 : 0, max, &errstr);
		if (errstr != NULL) {
			conf_error(c, "wait/nowait", "\"%s\": the number "
			    "after the dot is %s", whole, errstr);
			return -1;
		}
	}
	if (sep->se_mode == SE_NOWAIT && sep->se_socktype != SOCK_STREAM) {
		conf_error(c, "wait/nowait", "nowait needs a stream socket: "
		    "datagram services are wait");
		return -1;
	}
	if (sep->se_mode == SE_PREFORK && sep->se_socktype != SOCK_STREAM) {
		conf_error(c, "wait/nowait", "prefork needs a stream socket: "
		    "datagram services are wait");
		return -1;
	}
	if (sep->se_maxchild > 0 && sep->se_mode != SE_NOWAIT) {
		conf_error(c, "wait/nowait", "\"%s\": max-child is for "
		    "nowait (wait runs one handler, prefork.N N): give 0",
		    whole);
		return -1;
	}
	if (sep->se_socktype != SOCK_STREAM &&
	    (sep->se_proxy || SE_PERSOURCE(sep))) {
		conf_error(c, "wait/nowait", "\"%s\": +proxy and per-source "
		    "limits are for stream services", whole);
		return -1;
	}
	return 0;
}

static int
conf_user(struct conf_ctx *c, struct servtab *sep, const char *field)
{
	struct passwd *pw;
	struct group *gr;
	char *colon;
	int n, want;

	if ((sep->se_user = strdup(field)) == NULL)
		return -1;
	if ((colon = strchr(sep->se_user, ':')) != NULL) {
		*colon = '\0';
		if ((sep->se_group = strdup(colon + 1)) == NULL)
			return -1;
	}
	if ((pw = getpwnam(sep->se_user)) == NULL) {
		conf_error(c, "user", "no such user \"%s\"", sep->se_user);
		return -1;
	}
	sep->se_uid = pw->pw_uid;
	sep->se_gid = pw->pw_gid;
	if (sep->se_group != NULL) {
		if ((gr = getgrnam(sep->se_group)) == NULL) {
			conf_error(c, "group", "no such group \"%s\"",
			    sep->se_group);
			return -1;
		}
		sep->se_gid = gr->gr_gid;
	}
	/*
	 * The supplementary groups initgroups(3) would give, looked up once
	 * here (and on SIGHUP) instead of in every spawned child: a read of
	 * the group database per connection is most of a nowait spawn.
	 */
	for (n = 16;;) {
		gid_t *g = reallocarray(sep->se_groups, n, sizeof(*g));

		if (g == NULL)
			return -1;
		sep->se_groups = g;
		want = n;
		if (getgrouplist(sep->se_user, sep->se_gid, g, &want) != -1) {
			sep->se_ngroups = want;
			break;
		}
		if (want <= n)
			n *= 2;
		else
			n = want;
		if (n > 65536) {
			conf_error(c, "user", "too many groups for \"%s\"",
			    sep->se_user);
			return -1;
		}
	}
	return 0;
}

static void
servtab_free(struct servtab *sep)
{
	int i;

	free(sep->se_file);
	free(sep->se_host);
	free(sep->se_service);
	free(sep->se_user);
	free(sep->se_group);
	free(sep->se_groups);
	free(sep->se_program);
	persource_close(sep->se_ps);
	for (i = 0; i < sep->se_argc; i++)
		free(sep->se_argv[i]);
	free(sep);
}

/* Parse the fields of one line; NULL after logging its errors. */
static struct servtab *
conf_line(struct conf_ctx *c, char **f, int nf)
{
	struct servtab *sep;
	char *hostfield = NULL, *service, *p;
	int port = 0, bad = 0, i;

	if (nf < 7) {
		conf_error(c, nf == 0 ? "service" : "program", "%d fields: "
		    "expected at least 7 ([addr:]service socktype proto "
		    "wait/nowait user program argv0)", nf);
		return NULL;
	}
	if (nf - 6 > SE_ARGV_MAX) {
		conf_error(c, "arguments", "more than %d", SE_ARGV_MAX);
		return NULL;
	}
	if ((sep = calloc(1, sizeof(*sep))) == NULL)
		return NULL;
	sep->se_fd = -1;
	sep->se_line = c->line;
	sep->se_file = strdup(c->path);

	/* [addr:]service: the address is IPv4, [IPv6] or "*". */
	service = f[0];
	if (f[0][0] == '[') {
		if ((p = strstr(f[0], "]:")) == NULL) {
			conf_error(c, "address", "\"%s\": expected "
			    "[IPv6]:service", f[0]);
			servtab_free(sep);
			return NULL;
		}
		*p = '\0';
		hostfield = f[0] + 1;
		service = p + 2;
	} else if ((p = strrchr(f[0], ':')) != NULL) {
		*p = '\0';
		hostfield = f[0];
		service = p + 1;
	}
	if (*service == '\0') {
		conf_error(c, "service", "missing after the address");
		servtab_free(sep);
		return NULL;
	}
	sep->se_service = strdup(service);
	if (hostfield != NULL)
		sep->se_host = strdup(hostfield);

	/* socktype and proto, which must agree. */
	if (strcmp(f[1], "stream") == 0)
		sep->se_socktype = SOCK_STREAM;
	else if (strcmp(f[1], "dgram") == 0)
		sep->se_socktype = SOCK_DGRAM;
	else {
		conf_error(c, "socktype", "\"%s\": expected stream or dgram",
		    f[1]);
		bad = 1;
	}
	if (strcmp(f[2], "tcp") == 0 || strcmp(f[2], "udp") == 0)
		sep->se_family = AF_INET;
	else if (strcmp(f[2], "tcp6") == 0 || strcmp(f[2], "udp6") == 0)
		sep->se_family = AF_INET6;
	else {
		conf_error(c, "proto", "\"%s\": expected tcp, tcp6, udp or "
		    "udp6", f[2]);
		bad = 1;
	}
	if (!bad) {
		strlcpy(sep->se_proto, f[2], sizeof(sep->se_proto));
		if ((sep->se_socktype == SOCK_STREAM) != (f[2][0] == 't')) {
			conf_error(c, "proto", "\"%s\" does not go with "
			    "socktype %s", f[2], f[1]);
			bad = 1;
		}
	}
	if (!bad && conf_addr(c, sep, sep->se_host) == -1)
		bad = 1;
	if (!bad && conf_port(c, sep, service, &port) == -1)
		bad = 1;
	if (!bad) {
		if (sep->se_family == AF_INET)
			((struct sockaddr_in *)&sep->se_addr)->sin_port =
			    htons((uint16_t)port);
		else
			((struct sockaddr_in6 *)&sep->se_addr)->sin6_port =
			    htons((uint16_t)port);
		if (sep->se_host != NULL && sep->se_family == AF_INET6)
			snprintf(sep->se_name, sizeof(sep->se_name),
			    "[%s]:%s/%s", sep->se_host, service, f[2]);
		else if (sep->se_host != NULL)
			snprintf(sep->se_name, sizeof(sep->se_name),
			    "%s:%s/%s", sep->se_host, service, f[2]);
		else
			snprintf(sep->se_name, sizeof(sep->se_name), "%s/%s",
			    service, f[2]);
	}
	if (!bad && conf_mode(c, sep, f[3]) == -1)
		bad = 1;
	if (conf_user(c, sep, f[4]) == -1)
		bad = 1;

	/* The program: an absolute path to something we may execute. */
	if (f[5][0] != '/') {
		conf_error(c, "program", "\"%s\" is not an absolute path",
		    f[5]);
		bad = 1;
	} else if (access(f[5], X_OK) == -1) {
		conf_error(c, "program", "%s: %s", f[5], strerror(errno));
		bad = 1;
	}
	sep->se_program = strdup(f[5]);
	for (i = 6; i < nf; i++)
		sep->se_argv[sep->se_argc++] = strdup(f[i]);
	sep->se_argv[sep->se_argc] = NULL;
	if (bad) {
		servtab_free(sep);
		return NULL;
	}
	return sep;
}

int
conf_parse(const char *path, struct servtab **list, char *err, size_t errlen)
{
	struct conf_ctx c;
	struct servtab *head = NULL, **tail = &head, *sep, *o;
	const char delim[3] = { '\\', '\\', '\0' };
	char *line, *f[CONF_FIELDS_MAX + 1], *p;
	size_t len, lineno = 0;
	FILE *fp;
	int nf;

	*list = NULL;
	memset(&c, 0, sizeof(c));
	c.path = path;
	c.err = err;
	c.errlen = errlen;
	if (err != NULL && errlen > 0)
		err[0] = '\0';

	if ((fp = fopen(path, "r")) == NULL) {
		if (err != NULL)
			snprintf(err, errlen, "%s: %s\n", path,
			    strerror(errno));
		return -1;
	}
	for (;;) {
		size_t start = lineno + 1;

		/*
		 * fparseln's comment handling would skip comment lines
		 * without a trace, and then no line number would be right:
		 * it only joins continued lines here, and a field that
		 * starts with '#' starts a comment.
		 */
		line = fparseln(fp, &len, &lineno, delim, 0);
		if (line == NULL)
			break;
		/* The record's first line, past leading blank lines. */
		c.line = (int)start;
		/* strtok would stop at a NUL byte and drop the rest unseen. */
		if (memchr(line, '\0', len) != NULL) {
			conf_error(&c, "line", "a NUL byte");
			free(line);
			continue;
		}
		nf = 0;
		for (p = strtok(line, " \t\r"); p != NULL && *p != '#';
		    p = strtok(NULL, " \t\r")) {
			if (nf == CONF_FIELDS_MAX) {
				nf++;
				break;
			}
			f[nf++] = p;
		}
		if (nf == 0) {
			free(line);
			continue;
		}
		if (nf > CONF_FIELDS_MAX) {
			conf_error(&c, "arguments", "more than %d",
			    SE_ARGV_MAX);
			free(line);
			continue;
		}
		sep = conf_line(&c, f, nf);
		free(line);
		if (sep == NULL)
			continue;
		for (o = head; o != NULL; o = o->se_next) {
			if (conf_same_listener(o, sep)) {
				conf_error(&c, "service", "%s is already "
				    "on line %d", sep->se_name, o->se_line);
				servtab_free(sep);
				sep = NULL;
				break;
			}
		}
		if (sep == NULL)
			continue;
		*tail = sep;
		tail = &sep->se_next;
	}
	if (ferror(fp)) {
		c.line = (int)lineno;
		conf_error(&c, "file", "read error: %s", strerror(errno));
	}
	fclose(fp);
	if (c.nerr > 0) {
		conf_free(head);
		return -1;
	}
	*list = head;
	return 0;
}

void
conf_free(struct servtab *list)
{
	struct servtab *next;

	for (; list != NULL; list = next) {
		next = list->se_next;
		servtab_free(list);
	}
}

int
conf_same_listener(const struct servtab *a, const struct servtab *b)
{
	return a->se_socktype == b->se_socktype &&
	    a->se_family == b->se_family &&
	    strcmp(a->se_proto, b->se_proto) == 0 &&
	    a->se_addrlen == b->se_addrlen &&
	    memcmp(&a->se_addr, &b->se_addr, a->se_addrlen) == 0;
}

int
conf_same_handler(const struct servtab *a, const struct servtab *b)
{
	int i;

	/*
	 * Prefork handlers learn "+proxy" and get the per-source table when
	 * they start: a change of either needs new handlers.
	 */
	if (a->se_proxy != b->se_proxy || SE_PERSOURCE(a) != SE_PERSOURCE(b))
		return 0;
	if (a->se_mode != b->se_mode || a->se_uid != b->se_uid ||
	    a->se_gid != b->se_gid || a->se_argc != b->se_argc ||
	    strcmp(a->se_program, b->se_program) != 0)
		return 0;
	for (i = 0; i < a->se_argc; i++)
		if (strcmp(a->se_argv[i], b->se_argv[i]) != 0)
			return 0;
	return 1;
}

const char *
conf_mode_name(const struct servtab *sep, char *buf, size_t len)
{
	size_t n;

	switch (sep->se_mode) {
	case SE_PREFORK:
		snprintf(buf, len, "prefork.%d", sep->se_max);
		break;
	case SE_WAIT:
		snprintf(buf, len, "wait.%d", sep->se_max);
		break;
	case SE_NOWAIT:
	default:
		snprintf(buf, len, "nowait.%d", sep->se_max);
		break;
	}
	n = strlen(buf);
	if (SE_PERSOURCE(sep) || sep->se_maxchild > 0)
		snprintf(buf + n, len - n, "/%d/%d/%d", sep->se_maxchild,
		    sep->se_maxcpm, sep->se_maxperip);
	if (sep->se_proxy)
		strlcat(buf, "+proxy", len);
	return buf;
}

void
conf_print(FILE *fp, const struct servtab *list)
{
	const struct servtab *sep;
	char mode[64];
	int i;

	for (sep = list; sep != NULL; sep = sep->se_next) {
		fprintf(fp, "%s:%d: %s %s %s user %s(%u):%s(%u) %s [",
		    sep->se_file, sep->se_line, sep->se_name,
		    sep->se_socktype == SOCK_STREAM ? "stream" : "dgram",
		    conf_mode_name(sep, mode, sizeof(mode)), sep->se_user,
		    (unsigned)sep->se_uid,
		    sep->se_group != NULL ? sep->se_group : "-",
		    (unsigned)sep->se_gid, sep->se_program);
		for (i = 0; i < sep->se_argc; i++)
			fprintf(fp, "%s%s", i ? " " : "", sep->se_argv[i]);
		fprintf(fp, "]\n");
	}
}
