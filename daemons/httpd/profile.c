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

#include <netinet/in.h>
#include <netinet/tcp.h>

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
	/* the open-file cache's watches (fcache.c) */
	SCMP_SYS(inotify_init1), SCMP_SYS(inotify_add_watch),
	SCMP_SYS(inotify_rm_watch),
	/* the access log, a batch of datagrams at a time (alog.c) */
	SCMP_SYS(sendmmsg),
};

/* What glibc or libbsd may try that we can do without. */
static const int profile_worker_refuse[] = {
	SCMP_SYS(openat), SCMP_SYS(open), SCMP_SYS(ioctl),
};

static const struct sandbox_arg profile_worker_args[] = {
	/* Nagle off on a connection (conn.c); no other socket option. */
	SANDBOX_ARG2(SCMP_SYS(setsockopt), 1, IPPROTO_TCP, 2, TCP_NODELAY),
	/* A process title (libbsd's setproctitle), nothing else of prctl. */
	SANDBOX_ARG(SCMP_SYS(prctl), 0, PR_SET_NAME),
};

/*
 * The worker forks the CGI helper at start-up (cgi_start), so it is not
 * given RLIMIT_NPROC 0; after this it cannot fork anyway: clone(2) is
 * outside the list.
 */
static const struct sandbox_profile profile_httpd = {
	.sp_name = "httpd",
	.sp_syscalls = profile_worker_allow,
	.sp_nsyscalls = SANDBOX_NELEM(profile_worker_allow),
	.sp_refuse = profile_worker_refuse,
	.sp_nrefuse = SANDBOX_NELEM(profile_worker_refuse),
	.sp_args = profile_worker_args,
	.sp_nargs = SANDBOX_NELEM(profile_worker_args),
	.sp_forks = 1,
};

void
profile_worker(struct httpd *h)
{
	struct sandbox_limits lim;
	struct rlimit rl;
	rlim_t want;

	/*
	 * A connection holds a socket and a file, plus the open-file cache
	 * (fcache.c) and slack for syslog and the helper's socket; only
	 * root may go past the hard limit, and forkd runs us as nobody.
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
	lim.sl_nofile = want;
	lim.sl_beneath = -1;
	sandbox_enter_limits(&profile_httpd, &lim);
}

/* Refused with EPERM below the CGI helper (trapped under trap mode). */
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

/*
 * A deny list: the CGI helper forks a process per script and runs it, so
 * it may fork (no RLIMIT_NPROC) and everything outside the list runs.
 */
static const struct sandbox_profile profile_cgi_helper = {
	.sp_name = "httpd-cgi",
	.sp_list = SANDBOX_DENYLIST,
	.sp_syscalls = profile_cgi_deny,
	.sp_nsyscalls = SANDBOX_NELEM(profile_cgi_deny),
	.sp_forks = 1,
};

/* The profiles the build compiles to BPF (mk/sandbox_gen.c). */
const struct sandbox_profile *const sandbox_profiles[] = {
	&profile_httpd, &profile_cgi_helper, NULL,
};

void
profile_cgi(void)
{
	sandbox_enter(&profile_cgi_helper);
}
