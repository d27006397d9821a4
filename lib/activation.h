/*
 * activation: the systemd socket-passing protocol, as sd_listen_fds(3)
 * describes it, for handlers and for forkd itself.
 *
 * A service manager that opened sockets for a program (systemd with a
 * .socket unit whose service has no StandardInput=socket, or
 * systemd-socket-activate without --inetd) passes them on fds 3, 4, ...
 * and says so in the environment:
 *   LISTEN_PID       the pid the sockets are for (the variables are
 *                    inherited, so a child must not take them as its own)
 *   LISTEN_FDS       how many fds, from ACTIVATION_FDS_START on
 *   LISTEN_FDNAMES   optional: their names (FileDescriptorName=),
 *                    colon-separated, one per fd
 */
#ifndef FORKD_ACTIVATION_H
#define FORKD_ACTIVATION_H

/* The first passed fd: SD_LISTEN_FDS_START of sd-daemon.h. */
#define ACTIVATION_FDS_START	3

/*
 * Take the sockets the service manager passed: read LISTEN_PID and
 * LISTEN_FDS, and set FD_CLOEXEC on each passed fd so a program this
 * process runs later does not inherit them. With unset_env non-zero,
 * remove LISTEN_PID, LISTEN_FDS and LISTEN_FDNAMES from the environment
 * whatever the outcome, as sd_listen_fds(3) does, so that children never
 * see them.
 *
 * names: NULL, or where to store the fds' names on success with a count
 * above 0: an array of count strings and a NULL, in one allocation that
 * the caller frees with free(3). A fd without a name (no LISTEN_FDNAMES)
 * is "unknown", as in sd_listen_fds_with_names(3).
 *
 * Returns the number of passed fds, which are ACTIVATION_FDS_START to
 * ACTIVATION_FDS_START + count - 1; 0 when the process was not activated
 * (no LISTEN_PID or LISTEN_FDS, or LISTEN_PID names another process);
 * -1 with errno EINVAL when a variable is malformed (or LISTEN_FDNAMES
 * does not name each fd), EBADF when a counted fd is not open, ENOMEM.
 */
int	activation_listen_fds(int unset_env, char ***names);

#endif
