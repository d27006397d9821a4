/*
 * script: plan SMTP sessions the way smtpstress(1) describes -- the
 * normal protocol (HELO, MAIL FROM, RCPT TO, DATA, text, ".") with
 * pseudo-random names, addresses and bodies, and random deviations that
 * must each draw one of the protocol's error replies -- and check a reply
 * against what it requires (smtpd(8) STANDARDS), byte for byte.
 *
 * A plan depends only on the generator, never on the server's replies, so
 * a run is reproducible from its seed: the session model below assumes
 * the server answers as the protocol says, and a reply that differs is a
 * mismatch that ends the session.
 */
#include <err.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "smtpstress.h"

/*
 * Deviations per session stay below the protocol's "continually sending
 * invalid commands" limit (forkd's smtpd disconnects after 10 errors).
 */
#define DEV_MAX		6
/* A deviation is chosen at about this many steps in a hundred. */
#define DEV_PERCENT	15
#define RCPT_MAX	4
#define BODY_LINES_MAX	8

/* Where the model of the server's session stands (its command order). */
struct model {
	int		 m_helo;	/* a valid HELO was answered 250 */
	int		 m_mail;	/* a MAIL FROM was accepted */
	unsigned	 m_rcpt;	/* RCPT TO accepted in this message */
	unsigned	 m_dev;		/* deviations so far */
	unsigned	 m_msgs;	/* messages sent so far */
};

static void	 step_add(struct sx_script *, int, int, char *, char *);
static void	 step_path(struct sx_gen *, struct sx_script *, int, int, int);
static void	 step_helo(struct sx_gen *, struct sx_script *, int);
static char	*xprintf(const char *, ...)
		    __attribute__((format(printf, 1, 2)));
static void	 word(struct sx_gen *, char *, size_t, const char *,
		    unsigned, unsigned);
static char	*make_helo_name(struct sx_gen *);
static char	*make_address(struct sx_gen *, int);
static char	*make_body(struct sx_gen *, unsigned, int);
static char	*make_unknown(struct sx_gen *);
static int	 deviation_pick(struct sx_gen *, const struct model *);
static void	 deviation_plan(struct sx_gen *, struct sx_script *,
		    struct model *, int);
static void	 dormant_plan(struct sx_gen *, struct sx_script *, unsigned);

static const char *const kind_names[SX_KINDS] = {
	[EX_500 - EX_ERR_FIRST] = "500 command not recognized",
	[EX_501_HELO - EX_ERR_FIRST] = "501 HELO syntax",
	[EX_503_HELO - EX_ERR_FIRST] = "503 need HELO command",
	[EX_503_MAIL - EX_ERR_FIRST] = "503 need MAIL command",
	[EX_503_RCPT - EX_ERR_FIRST] = "503 need RCPT command",
	[EX_503_DUP - EX_ERR_FIRST] = "503 duplicate HELO",
	[EX_503_NESTED - EX_ERR_FIRST] = "503 nested MAIL command",
	[EX_555_FROM - EX_ERR_FIRST] = "555 sender address rejected",
	[EX_555_TO - EX_ERR_FIRST] = "555 recipient address invalid",
	[EX_421 - EX_ERR_FIRST] = "421 timeout exceeded (dormant)",
};

static const char *const cmd_names[CMD_MAX] = {
	[CMD_CONNECT] = "connect/220",
	[CMD_HELO] = "HELO",
	[CMD_MAIL] = "MAIL",
	[CMD_RCPT] = "RCPT",
	[CMD_DATA] = "DATA",
	[CMD_BODY] = "text/.",
	[CMD_QUIT] = "QUIT",
	[CMD_OTHER] = "unknown",
	[CMD_DORMANT] = "dormant/421",
};

const char *
script_kind_name(int expect)
{
	return kind_names[expect - EX_ERR_FIRST];
}

const char *
script_cmd_name(int cmd)
{
	return cmd_names[cmd];
}

/* splitmix64 (Steele, Lea, Flood 2014): small, fast, fixed everywhere. */
void
gen_init(struct sx_gen *g, uint64_t seed)
{
	memset(g, 0, sizeof(*g));
	g->g_state = seed;
}

uint64_t
gen_next(struct sx_gen *g)
{
	uint64_t z;

	z = (g->g_state += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

unsigned
gen_below(struct sx_gen *g, unsigned n)
{
	return (unsigned)(gen_next(g) % n);
}

static char *
xprintf(const char *fmt, ...)
{
	va_list ap;
	char *s;

	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) == -1)
		err(1, "vasprintf");
	va_end(ap);
	return s;
}

static void
step_add(struct sx_script *sc, int cmd, int expect, char *line, char *arg)
{
	struct sx_step *st;

	if (sc->sc_nsteps == sc->sc_cap) {
		size_t cap = sc->sc_cap ? sc->sc_cap * 2 : 16;

		st = reallocarray(sc->sc_steps, cap, sizeof(*st));
		if (st == NULL)
			err(1, "reallocarray");
		sc->sc_steps = st;
		sc->sc_cap = cap;
	}
	st = &sc->sc_steps[sc->sc_nsteps++];
	st->st_cmd = cmd;
	st->st_expect = expect;
	st->st_line = line;
	st->st_len = line ? strlen(line) : 0;
	st->st_arg = arg;
	if (cmd != CMD_CONNECT)
		sc->sc_ops++;
}

/*
 * A MAIL (cmd CMD_MAIL) or RCPT step with a made-up path, a bad one when
 * bad: the step then keeps the path as its argument, for the report.
 */
static void
step_path(struct sx_gen *g, struct sx_script *sc, int cmd, int expect,
    int bad)
{
	char *a = make_address(g, bad);

	step_add(sc, cmd, expect, xprintf("%s %s\r\n", cmd == CMD_MAIL ?
	    "MAIL FROM:" : "RCPT TO:", a), bad ? a : NULL);
	if (!bad)
		free(a);
}

/* A HELO step with a made-up domain. */
static void
step_helo(struct sx_gen *g, struct sx_script *sc, int expect)
{
	char *a = make_helo_name(g);

	step_add(sc, CMD_HELO, expect, xprintf("HELO %s\r\n", a), NULL);
	free(a);
}

/* A word of min..max characters drawn from set. */
static void
word(struct sx_gen *g, char *buf, size_t bufsz, const char *set,
    unsigned min, unsigned max)
{
	size_t i, n, nset = strlen(set);

	n = min + gen_below(g, max - min + 1);
	if (n >= bufsz)
		n = bufsz - 1;
	for (i = 0; i < n; i++)
		buf[i] = set[gen_below(g, nset)];
	buf[n] = '\0';
}

static const char lower[] = "abcdefghijklmnopqrstuvwxyz";
static const char alnum[] = "abcdefghijklmnopqrstuvwxyz0123456789";
static const char tlds[][8] = { "com", "org", "net", "edu", "example" };

/* A host name: one to three labels and a top-level domain. */
static char *
make_helo_name(struct sx_gen *g)
{
	char l1[16], l2[16], l3[16];

	word(g, l1, sizeof(l1), lower, 1, 1);
	word(g, l1 + 1, sizeof(l1) - 1, alnum, 2, 9);
	word(g, l2, sizeof(l2), lower, 2, 8);
	word(g, l3, sizeof(l3), alnum, 1, 6);
	switch (gen_below(g, 3)) {
	case 0:
		return xprintf("%s", l1);
	case 1:
		return xprintf("%s.%s", l1, tlds[gen_below(g, 5)]);
	default:
		return xprintf("%s-%s.%s.%s", l1, l3, l2,
		    tlds[gen_below(g, 5)]);
	}
}

/*
 * An address of "consecutive, printable ASCII characters" (smtpd(8)); bad
 * != 0 puts one space inside it, which that protocol calls significant
 * whitespace.
 */
static char *
make_address(struct sx_gen *g, int bad)
{
	static const char local_set[] =
	    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-+";
	char local[32], domain[24], tail[24];

	word(g, local, sizeof(local), lower, 1, 1);
	word(g, local + 1, sizeof(local) - 1, local_set, 0, 11);
	word(g, domain, sizeof(domain), lower, 2, 10);
	if (bad) {
		word(g, tail, sizeof(tail), alnum, 1, 6);
		return xprintf("%s %s@%s.%s", local, tail, domain,
		    tlds[gen_below(g, 5)]);
	}
	return xprintf("%s@%s.%s", local, domain, tlds[gen_below(g, 5)]);
}

/*
 * Message text: lines of lower-case words, each line CRLF-ended, none
 * beginning with "." so that no dot-stuffing is needed (the assignment's server
 * knows none); end != 0 appends the ".".
 */
static char *
make_body(struct sx_gen *g, unsigned lines, int end)
{
	char *body, *p;
	size_t cap;
	unsigned i, j, nw;
	char w[16];

	cap = (size_t)lines * (8 * 16 + 2) + 4;
	if ((body = malloc(cap)) == NULL)
		err(1, "malloc");
	p = body;
	for (i = 0; i < lines; i++) {
		nw = gen_below(g, 9);	/* 0: an empty line */
		for (j = 0; j < nw; j++) {
			word(g, w, sizeof(w), lower, 1, 12);
			p += sprintf(p, j ? " %s" : "%s", w);
		}
		*p++ = '\r';
		*p++ = '\n';
	}
	if (end)
		p += sprintf(p, ".\r\n");
	*p = '\0';
	return body;
}

/*
 * A command no SMTP server knows: a word from a list of other protocols'
 * verbs, or letters with no vowel, r or y, which no SMTP verb is made of.
 */
static char *
make_unknown(struct sx_gen *g)
{
	static const char *const verbs[] = {
		"mkdir", "ls -l", "GET / HTTP/1.0", "USER anonymous",
		"PASS secret", "STAT", "LIST", "RETR 1", "PING", "xyzzy",
		"cd /tmp", "JOIN #cs4410", "frobnicate",
	};
	char w[16];

	if (gen_below(g, 2) == 0)
		return xprintf("%s\r\n",
		    verbs[gen_below(g, sizeof(verbs) / sizeof(verbs[0]))]);
	word(g, w, sizeof(w), "bcdfgjkpqvwxzBCDFGJKPQVWXZ", 3, 8);
	return xprintf("%s\r\n", w);
}

/*
 * The deviations that are unambiguous in this state: where the protocol
 * leaves open which of two errors wins (a bare HELO after a valid one:
 * 501 or duplicate?), the deviation is not planned there. Of those that
 * fit, the one planned least often so far wins, so that a default run
 * provokes every kind.
 */
static int
deviation_pick(struct sx_gen *g, const struct model *m)
{
	int fit[SX_KINDS], ties[SX_KINDS], nfit = 0, nties = 0, i;
	unsigned least = ~0U, n;

	fit[nfit++] = EX_500;
	if (!m->m_helo) {
		fit[nfit++] = EX_501_HELO;
		fit[nfit++] = EX_503_HELO;
	} else {
		fit[nfit++] = EX_503_DUP;
		if (!m->m_mail) {
			fit[nfit++] = EX_503_MAIL;
			fit[nfit++] = EX_555_FROM;
		} else {
			fit[nfit++] = EX_503_NESTED;
			fit[nfit++] = EX_555_TO;
			if (m->m_rcpt == 0)
				fit[nfit++] = EX_503_RCPT;
		}
	}
	for (i = 0; i < nfit; i++) {
		n = g->g_planned[fit[i] - EX_ERR_FIRST];
		if (n < least) {
			least = n;
			nties = 0;
		}
		if (n == least)
			ties[nties++] = fit[i];
	}
	return ties[gen_below(g, nties)];
}

static void
deviation_plan(struct sx_gen *g, struct sx_script *sc, struct model *m,
    int kind)
{
	g->g_planned[kind - EX_ERR_FIRST]++;
	m->m_dev++;
	switch (kind) {
	case EX_500:
		step_add(sc, CMD_OTHER, kind, make_unknown(g), NULL);
		break;
	case EX_501_HELO:
		step_add(sc, CMD_HELO, kind, xprintf("HELO\r\n"), NULL);
		break;
	case EX_503_HELO:
	case EX_503_NESTED:
		step_path(g, sc, CMD_MAIL, kind, 0);
		break;
	case EX_503_MAIL:
		step_path(g, sc, CMD_RCPT, kind, 0);
		break;
	case EX_503_RCPT:
		step_add(sc, CMD_DATA, kind, xprintf("DATA\r\n"), NULL);
		break;
	case EX_503_DUP:
		step_helo(g, sc, kind);
		break;
	case EX_555_FROM:
		step_path(g, sc, CMD_MAIL, kind, 1);
		break;
	case EX_555_TO:
		step_path(g, sc, CMD_RCPT, kind, 1);
		break;
	}
}

/*
 * smtpd(8): dormant in the command phase, or in the data phase after
 * some text, as in its second example. Either way the server must close
 * with 421.
 */
static void
dormant_plan(struct sx_gen *g, struct sx_script *sc, unsigned budget)
{
	int data = budget >= 5 && gen_below(g, 2);

	g->g_planned[EX_421 - EX_ERR_FIRST]++;
	if (budget >= 2) {
		step_helo(g, sc, EX_HELO);
	}
	if (data) {
		step_path(g, sc, CMD_MAIL, EX_OK, 0);
		step_path(g, sc, CMD_RCPT, EX_OK, 0);
		step_add(sc, CMD_DATA, EX_354, xprintf("DATA\r\n"),
		    NULL);
		step_add(sc, CMD_DORMANT, EX_421,
		    make_body(g, 1 + gen_below(g, 3), 0), NULL);
	} else
		step_add(sc, CMD_DORMANT, EX_421, NULL, NULL);
}

unsigned
script_length(struct sx_gen *g)
{
	return 4 + gen_below(g, 28);
}

void
script_plan(struct sx_gen *g, struct sx_script *sc, unsigned budget,
    int dormant)
{
	struct model m;
	unsigned left;

	memset(&m, 0, sizeof(m));
	step_add(sc, CMD_CONNECT, EX_GREETING, NULL, NULL);

	if (dormant) {
		dormant_plan(g, sc, budget);
		return;
	}

	while ((left = budget - sc->sc_ops) > 0) {
		if (m.m_dev < DEV_MAX && gen_below(g, 100) < DEV_PERCENT) {
			deviation_plan(g, sc, &m, deviation_pick(g, &m));
			continue;
		}
		if (!m.m_helo) {
			step_helo(g, sc, EX_HELO);
			m.m_helo = 1;
		} else if (!m.m_mail) {
			/* After a message, a session may end. */
			if (m.m_msgs > 0 && gen_below(g, 4) == 0)
				goto quit;
			step_path(g, sc, CMD_MAIL, EX_OK, 0);
			m.m_mail = 1;
		} else if (m.m_rcpt == 0 || (m.m_rcpt < RCPT_MAX &&
		    gen_below(g, 10) < 3) || left < 2) {
			/* No room for DATA and its text. */
			if (left < 2 && m.m_rcpt > 0)
				goto quit;
			step_path(g, sc, CMD_RCPT, EX_OK, 0);
			m.m_rcpt++;
		} else {
			step_add(sc, CMD_DATA, EX_354, xprintf("DATA\r\n"),
			    NULL);
			step_add(sc, CMD_BODY, EX_DELIVERED,
			    make_body(g, 1 + gen_below(g, BODY_LINES_MAX), 1),
			    NULL);
			m.m_mail = 0;
			m.m_rcpt = 0;
			m.m_msgs++;
		}
	}
	return;
quit:
	step_add(sc, CMD_QUIT, EX_221, xprintf("QUIT\r\n"), NULL);
}

void
script_free(struct sx_script *sc)
{
	size_t i;

	for (i = 0; i < sc->sc_nsteps; i++) {
		free(sc->sc_steps[i].st_line);
		free(sc->sc_steps[i].st_arg);
	}
	free(sc->sc_steps);
	memset(sc, 0, sizeof(*sc));
}

/* The reply the protocol requires for st, into want. */
static void
expected(const struct sx_step *st, const char *name, char *want,
    size_t wantsz)
{
	switch (st->st_expect) {
	case EX_GREETING:
		snprintf(want, wantsz, "220 NAME SMTP CS4410MP3");
		break;
	case EX_HELO:
		snprintf(want, wantsz, "250 %s", name);
		break;
	case EX_OK:
		snprintf(want, wantsz, "250 OK");
		break;
	case EX_354:
		snprintf(want, wantsz, "354 End data with <CR><LF>.<CR><LF>");
		break;
	case EX_DELIVERED:
		snprintf(want, wantsz, "250 OK:  delivered message N");
		break;
	case EX_221:
		snprintf(want, wantsz, "221 ...");
		break;
	case EX_500:
		snprintf(want, wantsz, "500 Error: command not recognized");
		break;
	case EX_501_HELO:
		snprintf(want, wantsz, "501 Syntax:  HELO yourhostname");
		break;
	case EX_503_HELO:
		snprintf(want, wantsz, "503 Error: need HELO command");
		break;
	case EX_503_MAIL:
		snprintf(want, wantsz, "503 Error: need MAIL command");
		break;
	case EX_503_RCPT:
		snprintf(want, wantsz, "503 Error: need RCPT command");
		break;
	case EX_503_DUP:
		snprintf(want, wantsz, "503 Error: duplicate HELO");
		break;
	case EX_503_NESTED:
		snprintf(want, wantsz, "503 Error: nested MAIL command");
		break;
	case EX_555_FROM:
		snprintf(want, wantsz, "555 <%s>: Sender address rejected",
		    st->st_arg);
		break;
	case EX_555_TO:
		snprintf(want, wantsz, "555 <%s>: Recipient address invalid",
		    st->st_arg);
		break;
	case EX_421:
		snprintf(want, wantsz, "421 4.4.2 %s Error: timeout exceeded",
		    name);
		break;
	}
}

int
script_check(const struct sx_step *st, const char *reply, const char *name,
    char *learnt, size_t namesz, unsigned long *number, char *want,
    size_t wantsz)
{
	static const char greet_end[] = " SMTP CS4410MP3";
	static const char delivered[] = "250 OK:  delivered message ";
	const char *p, *end;
	size_t n;
	char *ep;

	expected(st, name, want, wantsz);
	switch (st->st_expect) {
	case EX_GREETING:
		/* 220 NAME SMTP CS4410MP3, NAME one word (smtpd(8)). */
		n = strlen(reply);
		if (strncmp(reply, "220 ", 4) != 0 ||
		    n <= 4 + sizeof(greet_end) - 1)
			return 0;
		end = reply + n - (sizeof(greet_end) - 1);
		if (strcmp(end, greet_end) != 0)
			return 0;
		for (p = reply + 4; p < end; p++)
			if (*p == ' ' || *p == '\t')
				return 0;
		if ((size_t)(end - (reply + 4)) >= namesz)
			return 0;
		memcpy(learnt, reply + 4, end - (reply + 4));
		learnt[end - (reply + 4)] = '\0';
		return 1;
	case EX_DELIVERED:
		if (strncmp(reply, delivered, sizeof(delivered) - 1) != 0)
			return 0;
		p = reply + sizeof(delivered) - 1;
		/* Decimal, no sign, no leading zero, nothing after. */
		if (*p < '1' || *p > '9')
			return 0;
		for (end = p; *end >= '0' && *end <= '9'; end++)
			;
		if (*end != '\0' || end - p > 18)
			return 0;
		*number = strtoul(p, &ep, 10);
		return 1;
	case EX_221:
		/* RFC 5321 4.1.1.10: QUIT gets 221; the text is free. */
		return strncmp(reply, "221", 3) == 0 &&
		    (reply[3] == '\0' || reply[3] == ' ');
	default:
		return strcmp(reply, want) == 0;
	}
}
