/*
 * fuzz.h: what the fuzz harnesses share. Each fuzz/NAME.c defines
 * LLVMFuzzerTestOneInput() over the parsers of one module, listed with
 * the sources it tests in mk/fuzz.mk (FUZZ HARNESSES), and is built
 * twice: with libFuzzer (make fuzz: build-fuzz/NAME) and with replay.c's
 * main() (make check: $(B)/fuzz/replay-NAME runs fuzz/corpus/NAME once).
 */
#ifndef FORKD_FUZZ_H
#define FORKD_FUZZ_H

#include <stddef.h>
#include <stdint.h>

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A descriptor open on /dev/null for writing, opened once. */
int	fuzz_devnull(void);

#endif
