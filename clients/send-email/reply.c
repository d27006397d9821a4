/*
 * reply: the client's half of the SMTP dialogue, commands out and replies
 * in (RFC 5321 4.2). A reply is one or more lines "xyz-text" ending with a
 * line "xyz text" or "xyz"; every line carries the same code. Every read
 * waits at most the timeout for the whole reply.
 */
#include <sys/types.h>

#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "clock.h"
#include "log.h"
#include "send-email.h"

static int	reply_getline(struct se_state *, char *, size_t *, long long);
static const char *reply_context(const struct se_state *);

/* Where in the dialogue we were, for error messages. */
static const char *
reply_context(const struct se_state *st)
{
	return st->se_cmd[0] != '\0' ? st->se_cmd :
	    "waiting for the greeting";
}

void
reply_trace(const struct se_state *st, char dir, const char *line,
    size_t len)
{
	static char vis[SE_VIS_MAX];

	if (!st->se_verbose)
		return;
	if (len > SE_LINE_MAX)
		len = SE_LINE_MAX;
	fprintf(stderr, "%c: %s\n", dir, log_vis(vis, sizeof(vis), line, len));
}

char *
reply_string(const struct se_reply *r, char *dst, size_t dstsize)
{
	char vis[SE_VIS_MAX];
	size_t i;

	snprintf(dst, dstsize, "%d", r->r_code);
	for (i = 0; i < r->r_nlines; i++) {
		if (r->r_text[i][0] == '\0')
			continue;
		strlcat(dst, " ", dstsize);
		strlcat(dst, log_vis(vis, sizeof(vis), r->r_text[i],
		    strlen(r->r_text[i])), dstsize);
	}
	return dst;
}

int
reply_command_secret(struct se_state *st, const char *shown,
    const char *fmt, ...)
{
	char line[SE_LINE_MAX];
	va_list ap;
	int n, r;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line) - 2, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(line) - 2) {
		fprintf(stderr, "send-email: command too long\n");
		return -1;
	}
	/* -v shows shown, or the line itself when there is no secret. */
	if (shown != NULL)
		reply_trace(st, 'C', shown, strlen(shown));
	else
		reply_trace(st, 'C', line, n);
	/* A secret's line is named by its shown form in messages too. */
	snprintf(st->se_cmd, sizeof(st->se_cmd), "after %.*s",
	    (int)strcspn(shown != NULL ? shown : line, " "),
	    shown != NULL ? shown : line);
	memcpy(line + n, "\r\n", 2);
	r = conn_write(st, line, n + 2);
	explicit_bzero(line, sizeof(line));
	if (r == -1) {
		fprintf(stderr, "send-email: write to %s: %s\n", st->se_server,
		    st->se_ioerr);
		return -1;
	}
	return 0;
}

/*
 * Take the next line from the connection into line (at least SE_LINE_MAX
 * bytes), without its CRLF (a bare LF is taken as well: being lenient in
 * what we accept costs nothing here). *lenp gets its length. Waits until
 * deadline (clock_ms() milliseconds). Returns 0 or -1 after printing.
 */
static int
reply_getline(struct se_state *st, char *line, size_t *lenp,
    long long deadline)
{
	char *nl;
	size_t len;
	ssize_t n;

	for (;;) {
		nl = memchr(st->se_rbuf, '\n', st->se_rlen);
		if (nl != NULL) {
			len = nl - st->se_rbuf;
			if (len >= SE_LINE_MAX)
				goto toolong;
			memcpy(line, st->se_rbuf, len);
			if (len > 0 && line[len - 1] == '\r')
				len--;
			line[len] = '\0';
			*lenp = len;
			st->se_rlen -= nl + 1 - st->se_rbuf;
			memmove(st->se_rbuf, nl + 1, st->se_rlen);
			return 0;
		}
		if (st->se_rlen >= SE_LINE_MAX)
			goto toolong;
		n = conn_read(st, st->se_rbuf + st->se_rlen,
		    sizeof(st->se_rbuf) - st->se_rlen, deadline);
		if (n == -2) {
			fprintf(stderr, "send-email: %s: no reply within %d "
			    "s (%s)\n", st->se_server,
			    st->se_timeout_ms / 1000, reply_context(st));
			return -1;
		}
		if (n == -1) {
			fprintf(stderr, "send-email: read from %s: %s "
			    "(%s)\n", st->se_server, st->se_ioerr,
			    reply_context(st));
			return -1;
		}
		if (n == 0) {
			fprintf(stderr, "send-email: %s closed the connection"
			    "%s (%s)\n", st->se_server, st->se_rlen > 0 ?
			    " in the middle of a line" : "",
			    reply_context(st));
			return -1;
		}
		st->se_rlen += n;
	}
toolong:
	fprintf(stderr, "send-email: %s: reply line longer than %d octets\n",
	    st->se_server, SE_LINE_MAX);
	return -1;
}

int
reply_parse_line(struct se_reply *r, const char *line, size_t len)
{
	int code;

	/*
	 * RFC 5321 4.2: Reply-line = *( Reply-code "-" [ textstring ] CRLF )
	 * Reply-code [ SP textstring ] CRLF, the code three digits, the
	 * first 2 to 5 (4.2.1).
	 */
	if (len < 3 || line[0] < '2' || line[0] > '5' ||
	    line[1] < '0' || line[1] > '9' ||
	    line[2] < '0' || line[2] > '9' ||
	    (len > 3 && line[3] != ' ' && line[3] != '-'))
		return -1;
	code = (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
	if (r->r_nlines > 0 && code != r->r_code)
		return -1;
	r->r_code = code;
	if (r->r_nlines < SE_REPLY_LINES) {
		size_t n = len > 4 ? len - 4 : 0;

		if (n >= SE_LINE_MAX)
			n = SE_LINE_MAX - 1;
		if (n > 0)
			memcpy(r->r_text[r->r_nlines], line + 4, n);
		r->r_text[r->r_nlines][n] = '\0';
		r->r_nlines++;
	}
	return len == 3 || line[3] == ' ';
}

void
reply_ehlo_keywords(struct se_state *st)
{
	const struct se_reply *r = &st->se_reply;
	const char *kw, *arg;
	size_t i;

	st->se_esmtp = 1;
	/* The first line is the server's domain and greeting text. */
	for (i = 1; i < r->r_nlines; i++) {
		kw = r->r_text[i];
		arg = strchr(kw, ' ');
		if (strcasecmp(kw, "8BITMIME") == 0)
			st->se_8bitmime = 1;
		else if (strcasecmp(kw, "STARTTLS") == 0)
			st->se_starttls = 1;
		else if (strncasecmp(kw, "AUTH", 4) == 0 &&
		    (kw[4] == ' ' || kw[4] == '=')) {
			/* "AUTH PLAIN LOGIN"; "AUTH=" is an old form of it */
			char mechs[SE_LINE_MAX], *m, *p;

			strlcpy(mechs, kw + 5, sizeof(mechs));
			for (p = mechs; (m = strsep(&p, " ")) != NULL;) {
				if (strcasecmp(m, "PLAIN") == 0)
					st->se_auth_plain = 1;
				else if (strcasecmp(m, "LOGIN") == 0)
					st->se_auth_login = 1;
			}
		}
		else if (strncasecmp(kw, "SIZE", 4) == 0 &&
		    (kw[4] == '\0' || kw[4] == ' ') && arg != NULL)
			st->se_size = strtoull(arg + 1, NULL, 10);
	}
}

int
reply_read(struct se_state *st)
{
	struct se_reply *r = &st->se_reply;
	char line[SE_LINE_MAX], vis[SE_VIS_MAX];
	long long deadline;
	size_t len;
	int last;

	deadline = clock_ms() + st->se_timeout_ms;
	r->r_code = 0;
	r->r_nlines = 0;
	do {
		if (reply_getline(st, line, &len, deadline) == -1)
			return -1;
		reply_trace(st, 'S', line, len);
		if ((last = reply_parse_line(r, line, len)) == -1)
			goto bad;
	} while (!last);
	return 0;
bad:
	fprintf(stderr, "send-email: %s: malformed reply (RFC 5321 4.2): "
	    "\"%s\"\n", st->se_server, log_vis(vis, sizeof(vis), line, len));
	return -1;
}
