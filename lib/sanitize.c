/*
 * sanitize: the sanitizer runtime's default options in the sanitizer
 * build (make check-asan, FORKD_SANITIZE), decided here once for every
 * program; ASAN_OPTIONS and UBSAN_OPTIONS in the environment still
 * override them. Empty in the normal build.
 *
 * detect_leaks=0: LeakSanitizer's check at exit stops the world with
 * ptrace(2) from a new thread, which no seccomp profile of a handler
 * allows, and a handler that serves one connection exits without freeing
 * what the kernel frees anyway. The parsers' leaks are the fuzzers' to
 * find (make fuzz keeps leak detection on).
 */
#ifdef FORKD_SANITIZE

const char	*__asan_default_options(void);
const char	*__ubsan_default_options(void);

const char *
__asan_default_options(void)
{
	return "detect_leaks=0";
}

const char *
__ubsan_default_options(void)
{
	return "print_stacktrace=1:halt_on_error=1";
}

#else

/* ISO C wants at least one declaration in a translation unit. */
typedef int	sanitize_unused;

#endif
