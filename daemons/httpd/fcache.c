/*
 * fcache: the open files of a worker, kept between requests.
 *
 * A static GET costs two openat2(2), two fstat(2) and the closes when
 * resolved afresh (file.c). Once a file was served whole with 200, its
 * descriptor and what its answer said (type, size, mtime) are kept
 * here, keyed by the request's decoded path, and a later GET or HEAD of
 * the same path costs one fstatat(2): the answer is reused only while
 * the path still names the same inode with the same size, mtime and
 * ctime, so a file changed, replaced or removed is seen at once (nginx's
 * open_file_cache and lighttpd's stat cache trust theirs for a second or
 * more). Requests
 * with Range or If-Modified-Since take file.c's long way. A small file
 * settled for two seconds is kept in memory too (fcache_body()) and sent
 * with its head in one send(2).
 *
 * In the epoll worker even that fstatat(2) goes: each entry's file and
 * the directories on its path are watched with inotify(7) (fcache_watch,
 * fcache_events), and an entry is trusted without a look until an event
 * names its file or any of those directories (a write, a chmod, a link
 * count that changed: removed or renamed over; an entry of a directory
 * created, removed or renamed: a symlink swapped). The event loop reads
 * the events before the requests of the same round, so a change made
 * before a request was sent is seen by it. Then, or where no watch could
 * be set (the inotify limits, no /proc), the entry is checked with
 * fstatat(2) again. Writes through a shared mapping raise no event: they
 * are seen by the next change of the file's ctime that raises one.
 *
 * An entry being sent by a connection is pinned (fe_refs): it is never
 * closed under a transfer, and a new file that maps to its slot is then
 * just not cached.
 */
#include <sys/inotify.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "httpd.h"

#define FCACHE_PATH_MAX	256	/* longer paths are not cached */
#define FCACHE_BODY_MAX	2048	/* files kept in memory, at most (bytes) */

struct fcache_entry {
	char		 fe_path[FCACHE_PATH_MAX];	/* r_path; "": free */
	char		 fe_rel[FCACHE_PATH_MAX + 16];	/* opened beneath root */
	int		 fe_fd;
	int		 fe_refs;	/* connections sending it now */
	dev_t		 fe_dev;
	ino_t		 fe_ino;
	off_t		 fe_size;
	struct timespec	 fe_mtim;
	struct timespec	 fe_ctim;
	const char	*fe_type;	/* Content-Type */
	char		*fe_body;	/* a small file's bytes, or NULL */
	int		 fe_wd;		/* the file's inotify watch, or -1 */
	int		 fe_trusted;	/* watched, no event since checked */
};

/* What is watched: the file, and the names in each directory above it. */
#define FCACHE_FILE_EVENTS \
	(IN_MODIFY | IN_ATTRIB | IN_MOVE_SELF | IN_DELETE_SELF)
#define FCACHE_DIR_EVENTS \
	(IN_ATTRIB | IN_CREATE | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO | \
	IN_MOVE_SELF | IN_DELETE_SELF)

static struct fcache_entry *fcache;
static int fcache_ifd = -1;	/* the inotify instance, -1: none */
static int fcache_rootfd = -1;	/* the document root, for the watches */

static unsigned int	fcache_hash(const char *);
static int		fcache_same(const struct fcache_entry *,
			    const struct stat *);
static void		fcache_body(struct fcache_entry *);
static void		fcache_drop(struct fcache_entry *);
static void		fcache_watch_add(struct fcache_entry *);
static void		fcache_stale(int);

/* FNV-1a of the path. */
static unsigned int
fcache_hash(const char *s)
{
	unsigned int h = 2166136261u;

	for (; *s != '\0'; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h % FCACHE_SLOTS;
}

static int
fcache_same(const struct fcache_entry *fe, const struct stat *st)
{
	return st->st_dev == fe->fe_dev && st->st_ino == fe->fe_ino &&
	    st->st_size == fe->fe_size && S_ISREG(st->st_mode) &&
	    st->st_mtim.tv_sec == fe->fe_mtim.tv_sec &&
	    st->st_mtim.tv_nsec == fe->fe_mtim.tv_nsec &&
	    st->st_ctim.tv_sec == fe->fe_ctim.tv_sec &&
	    st->st_ctim.tv_nsec == fe->fe_ctim.tv_nsec;
}

/*
 * A small file's bytes, kept with its entry: its answer then leaves in
 * one send with the head, no sendfile(2). A change in place moves the
 * ctime, and the entry goes; but timestamps are as coarse as the kernel's
 * clock tick, so a file changed less than two seconds ago is not copied
 * yet (a write in the same tick would leave the ctime as it was) and is
 * sent from its descriptor meanwhile.
 */
static void
fcache_body(struct fcache_entry *fe)
{
	time_t now;

	if (fe->fe_body != NULL || fe->fe_size == 0 ||
	    fe->fe_size > FCACHE_BODY_MAX)
		return;
	now = time(NULL);
	if (now - fe->fe_ctim.tv_sec < 2 || now - fe->fe_mtim.tv_sec < 2)
		return;
	if ((fe->fe_body = malloc(fe->fe_size)) != NULL &&
	    pread(fe->fe_fd, fe->fe_body, fe->fe_size, 0) != fe->fe_size) {
		free(fe->fe_body);
		fe->fe_body = NULL;
	}
}

int
fcache_lookup(struct httpd *h, const struct http_request *r,
    struct file_reply *fr)
{
	struct fcache_entry *fe;
	struct stat st;

	if (fcache == NULL || strlen(r->r_path) >= FCACHE_PATH_MAX ||
	    r->r_range != NULL || r->r_ims != NULL)
		return 0;
	fe = &fcache[fcache_hash(r->r_path)];
	if (fe->fe_path[0] == '\0' || strcmp(fe->fe_path, r->r_path) != 0)
		return 0;
	/*
	 * fe_rel was resolved beneath the root when it was opened; if the
	 * path now leads anywhere else (a symlink swapped in), the inode
	 * differs and file.c resolves it again with RESOLVE_BENEATH.
	 */
	if (!fe->fe_trusted) {
		if (fstatat(h->h_rootfd, fe->fe_rel, &st, 0) == -1 ||
		    !fcache_same(fe, &st)) {
			if (fe->fe_refs == 0)
				fcache_drop(fe);
			return 0;
		}
		fe->fe_trusted = fe->fe_wd != -1;
	}
	fcache_body(fe);
	fr->fr_status = 200;
	fr->fr_type = fe->fe_type;
	fr->fr_size = fe->fe_size;
	fr->fr_mtime = fe->fe_mtim.tv_sec;
	fr->fr_off = 0;
	fr->fr_len = fe->fe_size;
	if (strcmp(r->r_method, "HEAD") != 0) {
		fr->fr_fd = fe->fe_fd;
		fr->fr_cache = fe;
		fr->fr_body = fe->fe_body;
		fe->fe_refs++;
	}
	return 1;
}

void
fcache_insert(const struct http_request *r, const char *rel,
    struct file_reply *fr, const struct stat *st)
{
	struct fcache_entry *fe;

	if (fcache == NULL)
		fcache = calloc(FCACHE_SLOTS, sizeof(*fcache));
	if (fcache == NULL || fr->fr_fd == -1 || fr->fr_status != 200 ||
	    fr->fr_off != 0 || fr->fr_len != st->st_size ||
	    strlen(r->r_path) >= FCACHE_PATH_MAX ||
	    strlen(rel) >= sizeof(fe->fe_rel))
		return;
	fe = &fcache[fcache_hash(r->r_path)];
	if (fe->fe_path[0] != '\0') {
		if (fe->fe_refs > 0)
			return;	/* being sent: keep it, cache nothing */
		fcache_drop(fe);
	}
	strlcpy(fe->fe_path, r->r_path, sizeof(fe->fe_path));
	strlcpy(fe->fe_rel, rel, sizeof(fe->fe_rel));
	fe->fe_fd = fr->fr_fd;
	fe->fe_refs = 1;
	fe->fe_dev = st->st_dev;
	fe->fe_ino = st->st_ino;
	fe->fe_size = st->st_size;
	fe->fe_mtim = st->st_mtim;
	fe->fe_ctim = st->st_ctim;
	fe->fe_type = fr->fr_type;
	fcache_watch_add(fe);
	fr->fr_cache = fe;
	fcache_body(fe);
}

/* Forget entry fe: close its file, remove its watch if no other has it. */
static void
fcache_drop(struct fcache_entry *fe)
{
	int i;

	close(fe->fe_fd);
	free(fe->fe_body);
	fe->fe_body = NULL;
	fe->fe_path[0] = '\0';
	fe->fe_trusted = 0;
	if (fe->fe_wd == -1)
		return;
	for (i = 0; i < FCACHE_SLOTS; i++)
		if (&fcache[i] != fe && fcache[i].fe_path[0] != '\0' &&
		    fcache[i].fe_wd == fe->fe_wd)
			break;
	if (i == FCACHE_SLOTS)
		inotify_rm_watch(fcache_ifd, fe->fe_wd);
	fe->fe_wd = -1;
}

/*
 * Watch fe's file and each directory from the root down to it. The
 * entry is not trusted yet: a change between its fstat(2) and the
 * watch raised no event, so the next lookup checks it once.
 */
static void
fcache_watch_add(struct fcache_entry *fe)
{
	char path[64 + sizeof(fe->fe_rel)];
	const char *p;
	int n;

	fe->fe_wd = -1;
	fe->fe_trusted = 0;
	if (fcache_ifd == -1)
		return;
	/* Through the descriptors: the names need not be reachable. */
	n = snprintf(path, sizeof(path), "/proc/self/fd/%d/", fcache_rootfd);
	if (inotify_add_watch(fcache_ifd, path, FCACHE_DIR_EVENTS) == -1)
		return;
	for (p = fe->fe_rel; (p = strchr(p, '/')) != NULL; p++) {
		snprintf(path + n, sizeof(path) - n, "%.*s",
		    (int)(p - fe->fe_rel), fe->fe_rel);
		if (inotify_add_watch(fcache_ifd, path,
		    FCACHE_DIR_EVENTS | IN_ONLYDIR) == -1)
			return;
	}
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fe->fe_fd);
	fe->fe_wd = inotify_add_watch(fcache_ifd, path, FCACHE_FILE_EVENTS);
}

/* Entries watched by wd are no longer trusted; wd -1: all of them. */
static void
fcache_stale(int wd)
{
	int i;

	for (i = 0; i < FCACHE_SLOTS; i++)
		if (wd == -1 || fcache[i].fe_wd == wd)
			fcache[i].fe_trusted = 0;
}

int
fcache_watch(int rootfd)
{
	fcache_rootfd = rootfd;
	fcache_ifd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	return fcache_ifd;
}

void
fcache_events(void)
{
	char buf[4096]
	    __attribute__((aligned(__alignof__(struct inotify_event))));
	const struct inotify_event *ev;
	ssize_t n;
	char *p;
	int i;

	while ((n = read(fcache_ifd, buf, sizeof(buf))) > 0 ||
	    (n == -1 && errno == EINTR)) {
		for (p = buf; n > 0 && p < buf + n;
		    p += sizeof(*ev) + ev->len) {
			ev = (const struct inotify_event *)p;
			if (fcache == NULL)
				continue;
			for (i = 0; i < FCACHE_SLOTS; i++)
				if (fcache[i].fe_path[0] != '\0' &&
				    fcache[i].fe_wd == ev->wd)
					break;
			if (ev->mask & IN_IGNORED) {
				/* A watch removed: ours, or its inode gone. */
				if (i < FCACHE_SLOTS)
					fcache_stale(ev->wd);
				continue;
			}
			/* Not a file's: a directory's, or the queue overflowed. */
			fcache_stale(i < FCACHE_SLOTS ? ev->wd : -1);
		}
	}
}

void
fcache_release(struct fcache_entry *fe)
{
	fe->fe_refs--;
}
