/*
 * smtpstress: a stress tester ("multiclient"): many SMTP sessions at once
 * against a server that speaks the SMTP assignment's protocol (smtpd(8)
 * STANDARDS), each reply checked byte for byte against what it requires.
 *
 * script.c plans sessions (the commands and the reply each must get) from
 * a seeded generator; net.c runs them over non-blocking sockets with
 * poll(2); main.c parses options and reports.
 */
#ifndef SMTPSTRESS_H
#define SMTPSTRESS_H

#include <stddef.h>
#include <stdint.h>

#include "clock.h"

/* The command classes, for latency and the operation count. */
enum sx_cmd {
	CMD_CONNECT,		/* connect to the 220 greeting (not an op) */
	CMD_HELO,
	CMD_MAIL,
	CMD_RCPT,
	CMD_DATA,
	CMD_BODY,		/* the message text and its "." */
	CMD_QUIT,
	CMD_OTHER,		/* an unknown command */
	CMD_DORMANT,		/* silence until the 421 */
	CMD_MAX
};

/*
 * The replies the protocol requires (smtpd(8) STANDARDS). The errors come
 * last, in the order the report lists them; EX_ERR_FIRST .. EX_MAX-1 are
 * the provoked kinds.
 */
enum sx_expect {
	EX_GREETING,		/* 220 NAME SMTP CS4410MP3 (learns NAME) */
	EX_HELO,		/* 250 NAME */
	EX_OK,			/* 250 OK */
	EX_354,			/* 354 End data with <CR><LF>.<CR><LF> */
	EX_DELIVERED,		/* 250 OK:  delivered message N */
	EX_221,			/* 221 ... (QUIT: no text is required) */
	EX_500,
	EX_501_HELO,
	EX_503_HELO,
	EX_503_MAIL,
	EX_503_RCPT,
	EX_503_DUP,
	EX_503_NESTED,
	EX_555_FROM,
	EX_555_TO,
	EX_421,
	EX_MAX
};
#define EX_ERR_FIRST	EX_500
#define SX_KINDS	(EX_MAX - EX_ERR_FIRST)

/* One exchange: what is sent (NULL: nothing) and the reply it must get. */
struct sx_step {
	int	 st_cmd;	/* enum sx_cmd */
	int	 st_expect;	/* enum sx_expect */
	char	*st_line;	/* bytes to send, CRLF included, or NULL */
	size_t	 st_len;	/* bytes in st_line */
	char	*st_arg;	/* the bad address of a 555, or NULL */
};

/* A planned session: a greeting step, then the exchanges in order. */
struct sx_script {
	struct sx_step	*sc_steps;
	size_t		 sc_nsteps;
	size_t		 sc_cap;
	unsigned	 sc_ops;	/* operations (steps after the greeting) */
};

/* The generator: a splitmix64 stream, so a seed means the same run anywhere. */
struct sx_gen {
	uint64_t	 g_state;
	unsigned	 g_planned[SX_KINDS];	/* deviations planned, per kind */
};

void	 gen_init(struct sx_gen *, uint64_t seed);
uint64_t gen_next(struct sx_gen *);
/* A number in [0, n), n > 0. */
unsigned gen_below(struct sx_gen *, unsigned n);

/*
 * Plan one session of at most budget operations (budget >= 1) into sc,
 * which must be empty. dormant != 0 makes the session end in silence that
 * the server must end with 421. Exits on allocation failure.
 */
void	 script_plan(struct sx_gen *, struct sx_script *sc, unsigned budget,
	    int dormant);
/* The session length to offer the next session, before the budget cut. */
unsigned script_length(struct sx_gen *);
void	 script_free(struct sx_script *);

/*
 * Check reply (one line, CRLF removed, NUL-terminated) against step st.
 * name is the server's name from the greeting ("" before it); for
 * EX_GREETING the name found is copied to learnt (namesz bytes). For
 * EX_DELIVERED the message number goes to *number. want receives the
 * expected reply for diagnostics (wantsz bytes). Returns 1 on a match,
 * 0 on a mismatch.
 */
int	 script_check(const struct sx_step *st, const char *reply,
	    const char *name, char *learnt, size_t namesz,
	    unsigned long *number, char *want, size_t wantsz);

/* The report's label for an error kind (EX_ERR_FIRST .. EX_MAX-1). */
const char *script_kind_name(int expect);
/* The report's label for a command class. */
const char *script_cmd_name(int cmd);

/* What a run is asked to do, and what it saw. */
struct sx_run {
	/* options */
	const char	*r_host;
	const char	*r_port;
	unsigned	 r_conns;	/* sessions open at once */
	unsigned	 r_ops;		/* operations in all */
	uint64_t	 r_seed;
	int		 r_dormant_s;	/* -T: server timeout (s), 0: none */
	int		 r_quiet;
	int		 r_progress;	/* stderr is a terminal */

	/* results */
	unsigned	 r_done;	/* operations completed */
	unsigned	 r_sessions;	/* sessions started */
	unsigned	 r_failures;	/* connection failures */
	unsigned	 r_connects;	/* connections made */
	unsigned	 r_mismatches;
	unsigned	 r_provoked[SX_KINDS];
	unsigned long	*r_numbers;	/* message numbers delivered */
	size_t		 r_nnumbers, r_capnumbers;
	uint32_t	*r_lat[CMD_MAX];	/* latencies, microseconds */
	size_t		 r_nlat[CMD_MAX], r_caplat[CMD_MAX];
	long long	 r_start_us, r_end_us;
	/* The sessions other than the dormant one: operations, last reply. */
	unsigned	 r_busy_done;
	long long	 r_busy_end_us;
	char		 r_name[256];	/* the server's name, first seen */
	unsigned	 r_reported;	/* diagnostics printed so far */
};


/*
 * Run the stress test: run's options in, its results out (mismatches and
 * connection failures counted there, each reported with sx_diag).
 * Returns 0, or -1 when host and port could not be resolved (a message
 * is printed).
 */
int	 net_run(struct sx_run *run);

/* Print one diagnostic line to stderr, at most SX_DIAG_MAX of them. */
void	 sx_diag(struct sx_run *, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
#define SX_DIAG_MAX	20

#endif
