/*
 * profile: the seccomp rules of httpd's two kinds of process.
 *
 * The worker serves static files: after start-up it only accepts,
 * reads, opens files beneath the document root with openat2(2) and
 * sends them. No fork, no exec, no sockets but syslog's AF_UNIX one.
 *
 * The CGI helper and the scripts below it run programs, so an allow
 * list cannot hold (a shell or Perl needs most of the kernel). They get
 * a deny list instead: no tracing, no mounts or namespaces, no kernel
 * modules, no BPF, no clock setting; no new privileges (set-uid
 * programs do not elevate); and a CPU limit per script (cgi.c).
 */
#include <sys/prctl.h>
#include <sys/resource.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <seccomp.h>

#include "httpd.h"
#include "sandbox.h"

static const int profile_worker_allow[] = {
	/* the event loop */
	SCMP_SYS(epoll_create1), SCMP_SYS(epoll_ctl), SCMP_SYS(epoll_wait),
	SCMP_SYS(epoll_pwait),
	/* connections */
	SCMP_SYS(accept4), SCMP_SYS(accept), SCMP_SYS(getsockname),
	SCMP_SYS(getpeername), SCMP_SYS(setsockopt),
	/* files beneath the document root (file.c) */
	SCMP_SYS(openat2), SCMP_SYS(sendfile), SCMP_SYS(pread64),
	SCMP_SYS(statx),
	/* the CGI helper, our child, may die: reap it */
	SCMP_SYS(wait4),
	/* the access log, a batch of datagrams at a time (alog.c) */
	SCMP_SYS(sendmmsg),
	/* setproctitle, strptime */
	SCMP_SYS(prctl),
};

/* What glibc or libbsd may try that we can do without. */
static const int profile_worker_refuse[] = {
	SCMP_SYS(openat), SCMP_SYS(open), SCMP_SYS(ioctl),
};

static struct sandbox_profile profile_httpd = {
	.sp_name = "httpd",
	.sp_allow = profile_worker_allow,
	.sp_nallow = SANDBOX_NELEM(profile_worker_allow),
	.sp_refuse = profile_worker_refuse,
	.sp_nrefuse = SANDBOX_NELEM(profile_worker_refuse),
	.sp_rules = NULL,
	.sp_nofile = 0,
	.sp_fsize = 0,
};

void
profile_worker(struct httpd *h)
{
	struct rlimit rl;
	rlim_t want;

	/*
	 * A connection holds a socket and a file, plus the open-file cache
	 * (fcache.c) and slack for syslog and the helper's socket; only root may go past the hard limit,
	 * and forkd runs us as nobody.
	 */
	want = (rlim_t)h->h_maxconn * 2 + 32 + FCACHE_SLOTS;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_max != RLIM_INFINITY &&
	    want > rl.rlim_max) {
		want = rl.rlim_max;
		h->h_maxconn = want > 32 + FCACHE_SLOTS + 2 ?
		    (int)((want - 32 - FCACHE_SLOTS) / 2) : 1;
		log_warnx("at most %d connections: RLIMIT_NOFILE is %llu",
		    h->h_maxconn, (unsigned long long)rl.rlim_max);
	}
	profile_httpd.sp_nofile = want;
	sandbox_enter(&profile_httpd);
}

/* Refused with EPERM below the CGI helper. */
static const int profile_cgi_deny[] = {
	SCMP_SYS(ptrace), SCMP_SYS(process_vm_readv),
	SCMP_SYS(process_vm_writev), SCMP_SYS(mount), SCMP_SYS(umount2),
	SCMP_SYS(pivot_root), SCMP_SYS(chroot), SCMP_SYS(unshare),
	SCMP_SYS(setns), SCMP_SYS(swapon), SCMP_SYS(swapoff),
	SCMP_SYS(reboot), SCMP_SYS(kexec_load), SCMP_SYS(kexec_file_load),
	SCMP_SYS(init_module), SCMP_SYS(finit_module),
	SCMP_SYS(delete_module), SCMP_SYS(bpf), SCMP_SYS(perf_event_open),
	SCMP_SYS(userfaultfd), SCMP_SYS(keyctl), SCMP_SYS(add_key),
	SCMP_SYS(request_key), SCMP_SYS(acct), SCMP_SYS(settimeofday),
	SCMP_SYS(clock_settime), SCMP_SYS(adjtimex), SCMP_SYS(iopl),
	SCMP_SYS(ioperm), SCMP_SYS(quotactl), SCMP_SYS(open_by_handle_at),
	SCMP_SYS(name_to_handle_at), SCMP_SYS(syslog), SCMP_SYS(vhangup),
	SCMP_SYS(fanotify_init), SCMP_SYS(sethostname),
	SCMP_SYS(setdomainname),
};

void
profile_cgi(void)
{
	const char *mode = getenv("FORKD_SANDBOX");
	scmp_filter_ctx ctx;
	struct rlimit rl;
	size_t i;
	int r = 0;

	rl.rlim_cur = rl.rlim_max = 0;
	if (setrlimit(RLIMIT_CORE, &rl) == -1)
		fatal("cgi: setrlimit");
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == -1)
		fatal("cgi: PR_SET_NO_NEW_PRIVS");
	if (mode != NULL && strcmp(mode, "off") == 0)
		return;
	if ((ctx = seccomp_init(SCMP_ACT_ALLOW)) == NULL)
		fatalx("cgi: seccomp_init failed");
	for (i = 0; r == 0 && i < SANDBOX_NELEM(profile_cgi_deny); i++)
		r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM),
		    profile_cgi_deny[i], 0);
	if (r == 0)
		r = seccomp_load(ctx);
	seccomp_release(ctx);
	if (r != 0) {
		errno = -r;
		fatal("cgi: cannot load the seccomp filter");
	}
}
