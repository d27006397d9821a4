/*
 * Unit tests of the forkd.conf parser (supervisor/conf.c), every error case
 * with its file:line and field. Run by t/forkd/unit-conf.t with cmocka's
 * TAP output.
 */
#include <sys/socket.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "../../supervisor/forkd.h"

static char path[] = "/tmp/forkd-conf-test-XXXXXX";
static char err[8192];

/* Write text to the test file and parse it. */
static int
parse(const char *text, struct servtab **list)
{
	FILE *fp = fopen(path, "w");

	assert_non_null(fp);
	fputs(text, fp);
	fclose(fp);
	return conf_parse(path, list, err, sizeof(err));
}

/* The parse fails with exactly one error, at line, naming field, saying
 * something containing why. */
static void
expect_error(const char *text, int line, const char *field, const char *why)
{
	struct servtab *list = (struct servtab *)1;
	char want[256];

	assert_int_equal(parse(text, &list), -1);
	assert_null(list);
	snprintf(want, sizeof(want), "%s:%d: %s: ", path, line, field);
	if (strncmp(err, want, strlen(want)) != 0)
		fail_msg("want \"%s...\", got \"%s\"", want, err);
	if (strstr(err, why) == NULL)
		fail_msg("want \"%s\" in \"%s\"", why, err);
	/* One line: one error. */
	assert_int_equal(strchr(err, '\n') - err + 1, (int)strlen(err));
}

static void
test_full_line(void **state)
{
	struct servtab *list, *sep;
	struct sockaddr_in *sin;

	(void)state;
	assert_int_equal(parse("127.0.0.1:4199 stream tcp prefork.32 "
	    "nobody:nogroup /bin/cat cat -u -v\n", &list), 0);
	sep = list;
	assert_non_null(sep);
	assert_null(sep->se_next);
	assert_int_equal(sep->se_line, 1);
	assert_string_equal(sep->se_host, "127.0.0.1");
	assert_string_equal(sep->se_service, "4199");
	assert_int_equal(sep->se_socktype, SOCK_STREAM);
	assert_string_equal(sep->se_proto, "tcp");
	assert_int_equal(sep->se_family, AF_INET);
	sin = (struct sockaddr_in *)&sep->se_addr;
	assert_int_equal(ntohs(sin->sin_port), 4199);
	assert_int_equal(ntohl(sin->sin_addr.s_addr), 0x7f000001);
	assert_int_equal(sep->se_mode, SE_PREFORK);
	assert_int_equal(sep->se_max, 32);
	assert_string_equal(sep->se_user, "nobody");
	assert_string_equal(sep->se_group, "nogroup");
	assert_int_equal(sep->se_uid, 65534);
	assert_string_equal(sep->se_program, "/bin/cat");
	assert_int_equal(sep->se_argc, 3);
	assert_string_equal(sep->se_argv[0], "cat");
	assert_string_equal(sep->se_argv[2], "-v");
	assert_null(sep->se_argv[3]);
	assert_string_equal(sep->se_name, "127.0.0.1:4199/tcp");
	assert_int_equal(sep->se_fd, -1);
	conf_free(list);
}

static void
test_forms(void **state)
{
	struct servtab *list, *sep;
	struct sockaddr_in6 *sin6;
	struct sockaddr_in *sin;

	(void)state;
	assert_int_equal(parse(
	    "# a comment\n"
	    "\n"
	    "echo stream tcp nowait root /bin/cat cat\n"
	    "[::1]:echo stream tcp6 nowait.5 root /bin/cat cat\n"
	    "*:4200 dgram udp wait root /bin/cat cat   # trailing comment\n"
	    "127.0.0.1:4201 stream tcp \\\n"
	    "    wait root /bin/cat cat\n"
	    "[::]:4202 dgram udp6 wait.0 root /bin/cat cat\n", &list), 0);

	sep = list;
	assert_int_equal(sep->se_line, 3);
	assert_null(sep->se_host);
	sin = (struct sockaddr_in *)&sep->se_addr;
	assert_int_equal(ntohs(sin->sin_port), 7);	/* /etc/services */
	assert_int_equal(sin->sin_addr.s_addr, htonl(INADDR_ANY));
	assert_int_equal(sep->se_mode, SE_NOWAIT);
	assert_int_equal(sep->se_max, SE_MAX_DEFAULT);

	sep = sep->se_next;
	assert_int_equal(sep->se_line, 4);
	assert_int_equal(sep->se_family, AF_INET6);
	sin6 = (struct sockaddr_in6 *)&sep->se_addr;
	assert_true(IN6_IS_ADDR_LOOPBACK(&sin6->sin6_addr));
	assert_int_equal(ntohs(sin6->sin6_port), 7);
	assert_int_equal(sep->se_max, 5);
	assert_string_equal(sep->se_name, "[::1]:echo/tcp6");

	sep = sep->se_next;
	assert_int_equal(sep->se_line, 5);
	assert_int_equal(sep->se_socktype, SOCK_DGRAM);
	assert_int_equal(sep->se_mode, SE_WAIT);
	assert_int_equal(sep->se_argc, 1);

	sep = sep->se_next;
	assert_int_equal(sep->se_line, 6);	/* a continued line */
	assert_int_equal(sep->se_mode, SE_WAIT);

	sep = sep->se_next;
	assert_int_equal(sep->se_line, 8);
	assert_int_equal(sep->se_max, 0);	/* wait.0: no limit */
	assert_null(sep->se_next);
	conf_free(list);
}

static void
test_empty(void **state)
{
	struct servtab *list = (struct servtab *)1;

	(void)state;
	assert_int_equal(parse("# nothing\n\n", &list), 0);
	assert_null(list);
}

static void
test_errors(void **state)
{
	(void)state;
	expect_error("4199 stream tcp nowait root /bin/cat\n", 1, "program",
	    "6 fields");
	expect_error("\n4199 strem tcp nowait root /bin/cat cat\n", 2,
	    "socktype", "\"strem\": expected stream or dgram");
	expect_error("4199 stream tcq nowait root /bin/cat cat\n", 1, "proto",
	    "expected tcp, tcp6, udp or udp6");
	expect_error("4199 stream udp wait root /bin/cat cat\n", 1, "proto",
	    "\"udp\" does not go with socktype stream");
	expect_error("4199 dgram tcp wait root /bin/cat cat\n", 1, "proto",
	    "does not go with socktype dgram");
	expect_error("[::1]:4199 stream tcp nowait root /bin/cat cat\n", 1,
	    "address", "is not an IPv4 address");
	expect_error("127.0.0.1:4199 stream tcp6 nowait root /bin/cat cat\n",
	    1, "address", "is not an IPv6 address");
	expect_error("localhost:4199 stream tcp nowait root /bin/cat cat\n", 1,
	    "address", "\"localhost\" is not an IPv4 address");
	expect_error("[::1 stream tcp6 nowait root /bin/cat cat\n", 1,
	    "address", "expected [IPv6]:service");
	expect_error("127.0.0.1: stream tcp nowait root /bin/cat cat\n", 1,
	    "service", "missing");
	expect_error("0 stream tcp nowait root /bin/cat cat\n", 1, "service",
	    "port \"0\" is too small");
	expect_error("65536 stream tcp nowait root /bin/cat cat\n", 1,
	    "service", "port \"65536\" is too large");
	expect_error("nosuchservice stream tcp nowait root /bin/cat cat\n", 1,
	    "service", "\"nosuchservice/tcp\" is not in /etc/services");
	expect_error("4199 stream tcp waitt root /bin/cat cat\n", 1,
	    "wait/nowait", "expected wait, nowait[.max] or prefork.N");
	expect_error("4199 stream tcp prefork root /bin/cat cat\n", 1,
	    "wait/nowait", "needs a pool size");
	expect_error("4199 stream tcp prefork.0 root /bin/cat cat\n", 1,
	    "wait/nowait", "is too small");
	expect_error("4199 stream tcp prefork.99999 root /bin/cat cat\n", 1,
	    "wait/nowait", "is too large");
	expect_error("4199 stream tcp nowait.x root /bin/cat cat\n", 1,
	    "wait/nowait", "is invalid");
	expect_error("4199 dgram udp nowait root /bin/cat cat\n", 1,
	    "wait/nowait", "nowait needs a stream socket");
	expect_error("4199 dgram udp prefork.2 root /bin/cat cat\n", 1,
	    "wait/nowait", "prefork needs a stream socket");
	expect_error("4199 stream tcp nowait nosuchuser /bin/cat cat\n", 1,
	    "user", "no such user \"nosuchuser\"");
	expect_error("4199 stream tcp nowait root:nosuchgroup /bin/cat cat\n",
	    1, "group", "no such group \"nosuchgroup\"");
	expect_error("4199 stream tcp nowait root bin/cat cat\n", 1,
	    "program", "\"bin/cat\" is not an absolute path");
	expect_error("4199 stream tcp nowait root /nonexistent/x x\n", 1,
	    "program", "/nonexistent/x: No such file or directory");
	expect_error("4199 stream tcp nowait root /bin/cat cat\n"
	    "# same port and address\n"
	    "4199 stream tcp wait root /bin/cat cat\n", 3, "service",
	    "4199/tcp is already on line 1");
}

static void
test_many_errors(void **state)
{
	struct servtab *list;
	char *second;

	(void)state;
	/* Every bad line is reported, the good one does not count. */
	assert_int_equal(parse(
	    "4199 stream tcp nowait root /bin/cat cat\n"
	    "4200 strem tcp nowait root /bin/cat cat\n"
	    "4201 stream tcp nowait nosuchuser /bin/cat cat\n", &list), -1);
	assert_null(list);
	assert_non_null(strstr(err, ":2: socktype: "));
	second = strstr(err, ":3: user: ");
	assert_non_null(second);
}

static void
test_missing_file(void **state)
{
	struct servtab *list;

	(void)state;
	assert_int_equal(conf_parse("/nonexistent/forkd.conf", &list, err,
	    sizeof(err)), -1);
	assert_string_equal(err,
	    "/nonexistent/forkd.conf: No such file or directory\n");
}

/* Write len bytes of text (NULs and all) to the test file and parse it. */
static int
parse_bytes(const char *text, size_t len, struct servtab **list)
{
	FILE *fp = fopen(path, "w");

	assert_non_null(fp);
	assert_int_equal(fwrite(text, 1, len, fp), len);
	fclose(fp);
	return conf_parse(path, list, err, sizeof(err));
}

static void
test_line_forms(void **state)
{
	struct servtab *list, *sep;
	char *text, *p;
	size_t i;

	(void)state;
	/* CRLF line ends, as a file edited on another system has. */
	assert_int_equal(parse("4199 stream tcp nowait root /bin/cat cat -u\r\n"
	    "4200 stream tcp nowait root /bin/cat cat\r\n", &list), 0);
	sep = list;
	assert_int_equal(sep->se_argc, 2);
	assert_string_equal(sep->se_argv[1], "-u");
	assert_int_equal(sep->se_next->se_line, 2);
	assert_string_equal(sep->se_next->se_argv[0], "cat");
	conf_free(list);

	/* The line after a continued one has its own number. */
	assert_int_equal(parse("4199 stream tcp \\\n nowait \\\n root /bin/cat "
	    "cat\n4200 stream tcp nowait root /bin/cat cat\n", &list), 0);
	assert_int_equal(list->se_line, 1);
	assert_int_equal(list->se_next->se_line, 4);
	conf_free(list);

	/* argv0 and 63 arguments: 64, the most. */
	text = malloc(65536);
	assert_non_null(text);
	p = text + sprintf(text, "4199 stream tcp nowait root /bin/cat cat");
	for (i = 1; i < SE_ARGV_MAX; i++)
		p += sprintf(p, " a%zu", i);
	strcpy(p, "\n");
	assert_int_equal(parse(text, &list), 0);
	assert_int_equal(list->se_argc, SE_ARGV_MAX);
	assert_null(list->se_argv[SE_ARGV_MAX]);
	conf_free(list);

	/* 70 arguments, on line 2. */
	p = text + sprintf(text, "\n4199 stream tcp nowait root /bin/cat cat");
	for (i = 0; i < 70; i++)
		p += sprintf(p, " a%zu", i);
	strcpy(p, "\n");
	expect_error(text, 2, "arguments", "more than 64");

	/* A very long argument is kept whole. */
	p = text + sprintf(text, "4199 stream tcp nowait root /bin/cat cat ");
	memset(p, 'x', 60000);
	strcpy(p + 60000, "\n");
	assert_int_equal(parse(text, &list), 0);
	assert_int_equal(strlen(list->se_argv[1]), 60000);
	conf_free(list);
	free(text);
}

static void
test_nul_byte(void **state)
{
	static const char text[] = "4199 stream tcp nowait root /bin/cat cat\n"
	    "4200 stream tcp nowait root /bin/cat cat\0 -x\n";
	struct servtab *list = (struct servtab *)1;

	(void)state;
	/* What follows a NUL byte would be dropped unseen: refuse it. */
	assert_int_equal(parse_bytes(text, sizeof(text) - 1, &list), -1);
	assert_null(list);
	if (strstr(err, ":2: line: ") == NULL || strstr(err, "NUL") == NULL)
		fail_msg("want \":2: line: ...NUL...\", got \"%s\"", err);
}

static void
test_same(void **state)
{
	struct servtab *list;

	(void)state;
	assert_int_equal(parse(
	    "127.0.0.1:4199 stream tcp nowait root /bin/cat cat\n"
	    "127.0.0.1:4199 dgram udp wait root /bin/cat cat\n"
	    "127.0.0.2:4199 stream tcp nowait root /bin/cat cat -x\n", &list),
	    0);
	assert_false(conf_same_listener(list, list->se_next));
	assert_false(conf_same_listener(list, list->se_next->se_next));
	assert_true(conf_same_listener(list, list));
	assert_false(conf_same_handler(list, list->se_next));
	assert_false(conf_same_handler(list, list->se_next->se_next));
	assert_true(conf_same_handler(list, list));
	conf_free(list);
}

/* FreeBSD inetd's limits after the mode, and +proxy. */
static void
test_limits(void **state)
{
	struct servtab *list, *sep;

	(void)state;
	assert_int_equal(parse(
	    "4199 stream tcp nowait.0/10/60/4+proxy root /bin/cat cat\n"
	    "4200 stream tcp prefork.32/0/0/8 root /bin/cat cat\n"
	    "4201 stream tcp wait+proxy root /bin/cat cat\n"
	    "4202 stream tcp nowait//30 root /bin/cat cat\n"
	    "4203 stream tcp prefork.2+proxy root /bin/cat cat\n", &list), 0);
	sep = list;
	assert_int_equal(sep->se_mode, SE_NOWAIT);
	assert_int_equal(sep->se_max, 0);
	assert_int_equal(sep->se_maxchild, 10);
	assert_int_equal(sep->se_maxcpm, 60);
	assert_int_equal(sep->se_maxperip, 4);
	assert_int_equal(sep->se_proxy, 1);
	sep = sep->se_next;
	assert_int_equal(sep->se_mode, SE_PREFORK);
	assert_int_equal(sep->se_max, 32);
	assert_int_equal(sep->se_maxperip, 8);
	assert_int_equal(sep->se_proxy, 0);
	sep = sep->se_next;
	assert_int_equal(sep->se_mode, SE_WAIT);
	assert_int_equal(sep->se_proxy, 1);
	assert_false(SE_PERSOURCE(sep));
	sep = sep->se_next;
	assert_int_equal(sep->se_maxchild, 0);
	assert_int_equal(sep->se_maxcpm, 30);
	assert_int_equal(sep->se_maxperip, 0);
	/* A pool that gains +proxy or a per-source limit is replaced. */
	assert_false(conf_same_handler(sep->se_next, list->se_next));
	conf_free(list);

	expect_error("4199 stream tcp nowait+proxyy root /bin/cat cat\n", 1,
	    "wait/nowait", "the only suffix is +proxy");
	expect_error("4199 stream tcp nowait/1/2/3/4 root /bin/cat cat\n", 1,
	    "wait/nowait", "at most three limits");
	expect_error("4199 stream tcp nowait/1/x root /bin/cat cat\n", 1,
	    "wait/nowait", "max-connections-per-ip-per-minute \"x\" is "
	    "invalid");
	expect_error("4199 stream tcp nowait/0/0/-1 root /bin/cat cat\n", 1,
	    "wait/nowait", "max-child-per-ip \"-1\" is too small");
	expect_error("4199 stream tcp prefork.4/2 root /bin/cat cat\n", 1,
	    "wait/nowait", "max-child is for nowait");
	expect_error("4199 dgram udp wait+proxy root /bin/cat cat\n", 1,
	    "wait/nowait", "for stream services");
	expect_error("4199 dgram udp wait/0/0/1 root /bin/cat cat\n", 1,
	    "wait/nowait", "for stream services");
}

/*
 * ".max 0" is no looping cap, kept apart from the default 256 (which is
 * what OpenBSD inetd makes of 0): the parse, and the mode forkd -n and
 * SIGUSR1 print.
 */
static void
test_max_zero(void **state)
{
	struct servtab sep;
	char why[128], buf[64];

	(void)state;
	memset(&sep, 0, sizeof(sep));
	sep.se_socktype = SOCK_STREAM;
	assert_int_equal(conf_mode_parse(&sep, "nowait.0", why, sizeof(why)),
	    0);
	assert_int_equal(sep.se_mode, SE_NOWAIT);
	assert_int_equal(sep.se_max, 0);
	assert_string_equal(conf_mode_name(&sep, buf, sizeof(buf)),
	    "nowait.0");
	assert_int_equal(conf_mode_parse(&sep, "nowait", why, sizeof(why)),
	    0);
	assert_int_equal(sep.se_max, SE_MAX_DEFAULT);
	assert_int_equal(SE_MAX_DEFAULT, 256);
	assert_string_equal(conf_mode_name(&sep, buf, sizeof(buf)),
	    "nowait.256");
	assert_int_equal(conf_mode_parse(&sep, "nowait.1", why, sizeof(why)),
	    0);
	assert_int_equal(sep.se_max, 1);
	assert_int_equal(conf_mode_parse(&sep, "wait.0", why, sizeof(why)),
	    0);
	assert_int_equal(sep.se_mode, SE_WAIT);
	assert_int_equal(sep.se_max, 0);
	assert_int_equal(conf_mode_parse(&sep, "nowait.-1", why,
	    sizeof(why)), -1);
	assert_non_null(strstr(why, "too small"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_full_line),
		cmocka_unit_test(test_forms),
		cmocka_unit_test(test_empty),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_many_errors),
		cmocka_unit_test(test_missing_file),
		cmocka_unit_test(test_line_forms),
		cmocka_unit_test(test_nul_byte),
		cmocka_unit_test(test_same),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_max_zero),
	};
	int fd, r;

	if ((fd = mkstemp(path)) == -1)
		return 1;
	close(fd);
	cmocka_set_message_output(CM_OUTPUT_TAP);
	r = cmocka_run_group_tests(tests, NULL, NULL);
	unlink(path);
	return r;
}
