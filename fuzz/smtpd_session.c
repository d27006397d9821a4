/*
 * smtpd's whole SMTP session (RFC 5321: the command table, the
 * transaction, DATA with its dot-stuffing and line rules, delivery) driven
 * by a client that sends the input and closes. The input reaches the
 * session through a pipe, as under inetd with stdio; the replies go to
 * /dev/null; messages are delivered into a spool in a temporary directory
 * (on /dev/shm when there is one, so fsync costs nothing), emptied every
 * few hundred inputs. The first byte picks the mailbox format.
 */
#include <sys/mman.h>

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../daemons/smtpd/smtpd.h"
#include "fuzz.h"

#define SPOOL_RUNS	512	/* inputs between two emptyings */

static struct smtpd	 sd;
static char		 spool[64];

/* Close the spool and remove every file in it. */
static void
spool_clear(void)
{
	struct dirent *de;
	DIR *dir;

	if (sd.sd_lockfd != -1)
		close(sd.sd_lockfd);
	if (sd.sd_spoolfd != -1)
		close(sd.sd_spoolfd);
	sd.sd_spoolfd = sd.sd_lockfd = -1;
	/* The shared page of the spool's waiters (one page). */
	if (sd.sd_hint != NULL)
		munmap(sd.sd_hint, 4096);
	sd.sd_hint = NULL;
	if ((dir = opendir(spool)) == NULL)
		abort();
	while ((de = readdir(dir)) != NULL)
		if (strcmp(de->d_name, ".") != 0 &&
		    strcmp(de->d_name, "..") != 0)
			(void)unlinkat(dirfd(dir), de->d_name, 0);
	closedir(dir);
}

/* Start again with an empty spool. */
static void
spool_empty(void)
{
	spool_clear();
	if (mbox_open(&sd) == -1)
		abort();
}

static void
spool_remove(void)
{
	spool_clear();
	(void)rmdir(spool);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	snprintf(spool, sizeof(spool), "%s/forkd-fuzz-XXXXXX",
	    access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp");
	if (mkdtemp(spool) == NULL)
		abort();
	strlcpy(sd.sd_name, "fuzz.example", sizeof(sd.sd_name));
	sd.sd_spool = spool;
	sd.sd_timeout = 2;
	sd.sd_maxerrors = 10;
	sd.sd_junklimit = 100;
	sd.sd_minrate = 0;
	sd.sd_maxsize = 64 * 1024;
	sd.sd_backup = 8;
	sd.sd_spoolfd = sd.sd_lockfd = -1;
	spool_empty();
	atexit(spool_remove);
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct serve_peer peer = { "127.0.0.1", "40312", "127.0.0.1",
	    "25" };
	static unsigned long runs;
	int p[2];

	/* A pipe holds 64 KiB: the whole input is written before the run. */
	if (size < 1 || size > 65536)
		return 0;
	sd.sd_format = (data[0] & 1) ? SMTPD_FMT_MBOX : SMTPD_FMT_SEED;
	data++;
	size--;
	if (++runs % SPOOL_RUNS == 0)
		spool_empty();
	if (pipe2(p, O_CLOEXEC) == -1)
		abort();
	if (size > 0 && write(p[1], data, size) != (ssize_t)size)
		abort();
	close(p[1]);
	(void)smtp_session(p[0], fuzz_devnull(), &peer, &sd);
	close(p[0]);
	return 0;
}
