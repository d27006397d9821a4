/*
 * dial: connect to the mail server, trying every address of its name in
 * turn (RFC 5321 5.1: a client tries the addresses of a host until one
 * answers), each connect(2) bounded by the timeout.
 */
#include <sys/types.h>
#include <sys/socket.h>

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dial.h"
#include "send-email.h"


/* Where dial_failed() says why an address failed. */
struct dial_fails {
	struct se_state	*df_st;
	FILE		*df_out;	/* stderr, or the kept failures */
};

/* One address failed (dial_host's report), or with tried the last one. */
static void
dial_failed(const struct dial_peer *peer, int error, void *arg)
{
	struct dial_fails *df = arg;

	if (df->df_st->se_verbose)
		fprintf(stderr, "* trying [%s]:%s\n", peer->dp_ip,
		    df->df_st->se_port);
	fprintf(df->df_out, "send-email: connect [%s]:%s: %s\n", peer->dp_ip,
	    df->df_st->se_port, strerror(error));
}

int
dial_connect(struct se_state *st)
{
	struct dial_peer peer;
	struct dial_fails df;
	char *failed = NULL;
	size_t failedlen = 0;
	int e;

	/*
	 * A failed address is only news when no address works (or under
	 * -v): the failures are kept and printed then, in order. Under -v
	 * an address's "trying" line comes once its attempt has ended.
	 */
	df.df_st = st;
	df.df_out = st->se_verbose ? NULL : open_memstream(&failed,
	    &failedlen);
	if (df.df_out == NULL)
		df.df_out = stderr;
	st->se_fd = dial_host(st->se_server, st->se_port, st->se_family,
	    st->se_timeout_ms, dial_failed, &df, &peer);
	if (st->se_fd == DIAL_ECONNECT)
		dial_failed(&peer, errno, &df);
	if (df.df_out != stderr)
		fclose(df.df_out);
	if (st->se_fd >= 0) {
		if (st->se_verbose)
			fprintf(stderr, "* trying [%s]:%s\n"
			    "* connected to [%s]:%s\n", peer.dp_ip,
			    st->se_port, peer.dp_ip, st->se_port);
		free(failed);
		return EXIT_SUCCESS;
	}
	if (failed != NULL)
		fputs(failed, stderr);
	free(failed);
	if (st->se_fd == DIAL_ECONNECT)
		return EXIT_TEMP;
	e = peer.dp_gai;
	fprintf(stderr, "send-email: %s port %s: %s\n", st->se_server,
	    st->se_port, e == EAI_SYSTEM ? strerror(errno) : gai_strerror(e));
	/* A name that does not exist stays so; DNS trouble passes. */
	if (e == EAI_NONAME || e == EAI_SERVICE || e == EAI_FAMILY)
		return EXIT_USAGE;
#ifdef EAI_ADDRFAMILY
	/* glibc: the name has no address of the family -4/-6 ask */
	if (e == EAI_ADDRFAMILY || e == EAI_NODATA)
		return EXIT_USAGE;
#endif
	return EXIT_TEMP;
}
