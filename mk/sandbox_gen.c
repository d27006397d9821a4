/*
 * sandbox_gen: compile a program's seccomp profiles to BPF at build time.
 *
 * Linked with one program's profile.c (its NULL-terminated
 * sandbox_profiles[]) and libforkd.a, it builds each profile's filter
 * with libseccomp (sandbox_build(), the same rules sandbox_enter() would
 * build), exports it with seccomp_export_bpf(3), and writes C to stdout:
 * the instructions of each profile, for the kill and the trap mode, and
 * the table sandbox_bpf that lib/sandbox.c looks the profile up in. A
 * handler's start-up then loads a ready filter with one prctl(2) instead
 * of building it again on every exec.
 *
 * Usage: sandbox_gen program >program_bpf.c. Exit 0, or 1 (stderr says
 * why).
 */
#include <err.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <seccomp.h>

#include "sandbox.h"

extern const struct sandbox_profile *const sandbox_profiles[];

/* The filter of p in mode trap, into *len instructions (malloc'd). */
static struct sock_filter *
gen_export(const struct sandbox_profile *p, int trap, size_t *len)
{
	scmp_filter_ctx ctx;
	struct sock_filter *prog;
	FILE *tmp;
	long size;
	int r;

	if ((ctx = sandbox_build(p, trap)) == NULL)
		err(1, "%s: building the filter", p->sp_name);
	if ((tmp = tmpfile()) == NULL)
		err(1, "tmpfile");
	if ((r = seccomp_export_bpf(ctx, fileno(tmp))) != 0)
		errx(1, "%s: seccomp_export_bpf: %s", p->sp_name, strerror(-r));
	seccomp_release(ctx);
	if (fseek(tmp, 0, SEEK_END) == -1 || (size = ftell(tmp)) == -1)
		err(1, "%s: the exported filter", p->sp_name);
	if (size == 0 || size % sizeof(*prog) != 0 ||
	    size / sizeof(*prog) > BPF_MAXINSNS)
		errx(1, "%s: exported filter of %ld bytes", p->sp_name, size);
	if ((prog = malloc(size)) == NULL)
		err(1, NULL);
	rewind(tmp);
	if (fread(prog, 1, size, tmp) != (size_t)size)
		err(1, "%s: reading the exported filter", p->sp_name);
	fclose(tmp);
	*len = size / sizeof(*prog);
	return prog;
}

/*
 * Write the array name[] of the filter. An allow list always holds a
 * rule on the caller's pid (the base set's tgkill): SANDBOX_SELF must
 * be there, as an equality test lib/sandbox.c can fill in.
 */
static size_t
gen_write(const struct sandbox_profile *p, int trap, const char *name)
{
	struct sock_filter *prog;
	size_t i, n, self = 0;

	prog = gen_export(p, trap, &n);
	printf("static struct sock_filter %s[%zu] = {\n", name, n);
	for (i = 0; i < n; i++) {
		printf("\t{ 0x%04x, %u, %u, 0x%08x },\n", prog[i].code,
		    prog[i].jt, prog[i].jf, prog[i].k);
		if (prog[i].code == (BPF_JMP | BPF_JEQ | BPF_K) &&
		    prog[i].k == SANDBOX_SELF)
			self++;
	}
	printf("};\n\n");
	free(prog);
	if (p->sp_list == SANDBOX_ALLOWLIST && self == 0)
		errx(1, "%s: no test of the caller's pid in the filter",
		    p->sp_name);
	return n;
}

int
main(int argc, char *argv[])
{
	size_t i, nkill, ntrap, count = 0;
	char kill[64], trap[64];

	if (argc != 2)
		errx(1, "usage: sandbox_gen program");
	printf("/* %s's seccomp profiles as BPF: made by mk/sandbox_gen.c "
	    "from its profile.c. */\n#include \"sandbox.h\"\n\n", argv[1]);
	for (i = 0; sandbox_profiles[i] != NULL; i++) {
		snprintf(kill, sizeof(kill), "sandbox_bpf_%zu_kill", i);
		snprintf(trap, sizeof(trap), "sandbox_bpf_%zu_trap", i);
		nkill = gen_write(sandbox_profiles[i], 0, kill);
		ntrap = gen_write(sandbox_profiles[i], 1, trap);
		printf("#define SANDBOX_BPF_%zu { \"%s\", %s, %zu, %s, %zu }\n\n",
		    i, sandbox_profiles[i]->sp_name, kill, nkill, trap, ntrap);
		count++;
	}
	printf("const struct sandbox_bpf sandbox_bpf[] = {\n");
	for (i = 0; i < count; i++)
		printf("\tSANDBOX_BPF_%zu,\n", i);
	printf("\t{ NULL, NULL, 0, NULL, 0 },\n};\n");
	if (fflush(stdout) == EOF || ferror(stdout))
		err(1, "stdout");
	return 0;
}
