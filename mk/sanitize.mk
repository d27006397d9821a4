# sanitize.mk: the sanitizer build, included by the GNUmakefile right
# after it names the build directory.
#
#   make check-asan        (the same as make check SANITIZE=1)
#       builds everything with -fsanitize=address,undefined into
#       build-asan/, never mixed with build/'s objects, and runs the whole
#       suite on it: the tests find the programs through FORKD_BUILD
#       (t/lib/Forkd.pm build()).
#
# In that build FORKD_SANITIZE is defined: lib/sandbox.c then allows the
# few syscalls the sanitizer runtime makes in a sandboxed handler, and
# lib/sanitize.c gives the runtime its default options (the one place
# they are decided). -Wl,--undefined pulls lib/sanitize.o out of the
# library, as nothing else refers to it.

SANITIZE ?= 0
ifeq ($(SANITIZE),1)
B        := build-asan
SAN_FLAGS = -fsanitize=address,undefined -fno-sanitize-recover=undefined \
	    -fno-omit-frame-pointer
# The GNUmakefile's own default, which its later ?= no longer sets.
CFLAGS   ?= -O2 -g
CFLAGS   += $(SAN_FLAGS) -DFORKD_SANITIZE
LDFLAGS  += $(SAN_FLAGS) -Wl,--undefined=__asan_default_options \
	    -Wl,--undefined=__ubsan_default_options
export FORKD_BUILD := $(B)
# A make that a test runs (t/install/build-fresh.t builds a fresh copy)
# builds the normal way: SANITIZE, set on check-asan's command line, stays
# out of its environment.
unexport SANITIZE
endif

.PHONY: check-asan clean-asan
check-asan:
	$(MAKE) SANITIZE=1 check
clean: clean-asan
clean-asan:
	rm -rf build-asan

# Included before the GNUmakefile's first rule: make's default goal is
# still to be that rule (all), not the one above.
.DEFAULT_GOAL :=
