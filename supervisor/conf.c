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

/* [addr:]service: the address is IPv4, [IPv6] or "*". -1: no service. */
static int
conf_service(struct conf_ctx *c, struct servtab *sep, char *field,
    char **service)
{
	char *hostfield = NULL, *p;

	*service = field;
	if (field[0] == '[') {
		if ((p = strstr(field, "]:")) == NULL) {
			conf_error(c, "address", "\"%s\": expected "
			    "[IPv6]:service", field);
			return -1;
		}
		*p = '\0';
		hostfield = field + 1;
		*service = p + 2;
	} else if ((p = strrchr(field, ':')) != NULL) {
		*p = '\0';
		hostfield = field;
		*service = p + 1;
	}
	if (**service == '\0') {
		conf_error(c, "service", "missing after the address");
		return -1;
	}
	sep->se_service = strdup(*service);
	if (hostfield != NULL)
		sep->se_host = strdup(hostfield);
	return 0;
}

/* socktype and proto, which must agree. Returns 1 when bad. */
static int
conf_socktype(struct conf_ctx *c, struct servtab *sep, const char *type,
    const char *proto)
{
	int bad = 0;

	if (strcmp(type, "stream") == 0)
		sep->se_socktype = SOCK_STREAM;
	else if (strcmp(type, "dgram") == 0)
		sep->se_socktype = SOCK_DGRAM;
	else {
		conf_error(c, "socktype", "\"%s\": expected stream or dgram",
		    type);
		bad = 1;
	}
	if (strcmp(proto, "tcp") == 0 || strcmp(proto, "udp") == 0)
		sep->se_family = AF_INET;
	else if (strcmp(proto, "tcp6") == 0 || strcmp(proto, "udp6") == 0)
		sep->se_family = AF_INET6;
	else {
		conf_error(c, "proto", "\"%s\": expected tcp, tcp6, udp or "
		    "udp6", proto);
		bad = 1;
	}
	if (!bad) {
		strlcpy(sep->se_proto, proto, sizeof(sep->se_proto));
		if ((sep->se_socktype == SOCK_STREAM) != (proto[0] == 't')) {
			conf_error(c, "proto", "\"%s\" does not go with "
			    "socktype %s", proto, type);
			bad = 1;
		}
	}
	return bad;
}

/* The address to bind with its port, and the name for logs. 1: bad. */
static int
conf_bind_addr(struct conf_ctx *c, struct servtab *sep, const char *service)
{
	int port = 0;

	if (conf_addr(c, sep, sep->se_host) == -1 ||
	    conf_port(c, sep, service, &port) == -1)
		return 1;
	if (sep->se_family == AF_INET)
		((struct sockaddr_in *)&sep->se_addr)->sin_port =
		    htons((uint16_t)port);
	else
		((struct sockaddr_in6 *)&sep->se_addr)->sin6_port =
		    htons((uint16_t)port);
	if (sep->se_host != NULL && sep->se_family == AF_INET6)
		snprintf(sep->se_name, sizeof(sep->se_name), "[%s]:%s/%s",
		    sep->se_host, service, sep->se_proto);
	else if (sep->se_host != NULL)
		snprintf(sep->se_name, sizeof(sep->se_name), "%s:%s/%s",
		    sep->se_host, service, sep->se_proto);
	else
		snprintf(sep->se_name, sizeof(sep->se_name), "%s/%s",
		    service, sep->se_proto);
	return 0;
}

/* The program: an absolute path to something we may execute. 1: bad. */
static int
conf_program(struct conf_ctx *c, struct servtab *sep, char **f, int nf)
{
	int bad = 0, i;

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
	return bad;
}

/* Parse the fields of one line; NULL after logging its errors. */
static struct servtab *
conf_line(struct conf_ctx *c, char **f, int nf)
{
	struct servtab *sep;
	char *service, why[256];
	int bad;

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
	if (conf_service(c, sep, f[0], &service) == -1) {
		servtab_free(sep);
		return NULL;
	}
	bad = conf_socktype(c, sep, f[1], f[2]);
	if (!bad)
		bad = conf_bind_addr(c, sep, service);
	if (!bad && conf_mode_parse(sep, f[3], why, sizeof(why)) == -1) {
		conf_error(c, "wait/nowait", "%s", why);
		bad = 1;
	}
	if (conf_user(c, sep, f[4]) == -1)
		bad = 1;
	if (conf_program(c, sep, f, nf))
		bad = 1;
	if (bad) {
		servtab_free(sep);
		return NULL;
	}
	return sep;
}

/*
 * Split line (len bytes) into f at blanks, up to a '#' field. Returns the
 * number of fields, 0 for a blank or comment line, -1 (said) when bad.
 */
static int
conf_fields(struct conf_ctx *c, char *line, size_t len, char **f)
{
	char *p;
	int nf = 0;

	/* strtok would stop at a NUL byte and drop the rest unseen. */
	if (memchr(line, '\0', len) != NULL) {
		conf_error(c, "line", "a NUL byte");
		return -1;
	}
	for (p = strtok(line, " \t\r"); p != NULL && *p != '#';
	    p = strtok(NULL, " \t\r")) {
		if (nf == CONF_FIELDS_MAX) {
			conf_error(c, "arguments", "more than %d",
			    SE_ARGV_MAX);
			return -1;
		}
		f[nf++] = p;
	}
	return nf;
}

/* 1 if no service in list has sep's listener; else 0, said, sep freed. */
static int
conf_unique(struct conf_ctx *c, const struct servtab *list,
    struct servtab *sep)
{
	const struct servtab *o;

	for (o = list; o != NULL; o = o->se_next)
		if (conf_same_listener(o, sep)) {
			conf_error(c, "service", "%s is already on line %d",
			    sep->se_name, o->se_line);
			servtab_free(sep);
			return 0;
		}
	return 1;
}

int
conf_parse(const char *path, struct servtab **list, char *err, size_t errlen)
{
	struct conf_ctx c;
	struct servtab *head = NULL, **tail = &head, *sep;
	const char delim[3] = { '\\', '\\', '\0' };
	char *line, *f[CONF_FIELDS_MAX + 1];
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
		nf = conf_fields(&c, line, len, f);
		sep = nf > 0 ? conf_line(&c, f, nf) : NULL;
		free(line);
		if (sep != NULL && conf_unique(&c, head, sep)) {
			*tail = sep;
			tail = &sep->se_next;
		}
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
