# fuzz.mk: the parsers' fuzz harnesses (fuzz/NAME.c), included by the
# GNUmakefile after its own rules.
#
#   make fuzz [FUZZTIME=60] [FUZZERS="conf smtpd_session"]
#       builds build-fuzz/NAME with clang -fsanitize=fuzzer,address,undefined
#       and runs each for FUZZTIME seconds over fuzz/corpus/NAME (the seeds,
#       read only) and build-fuzz/corpus/NAME (what the run finds); a
#       crashing input is left in build-fuzz/artifacts/. Exits 1 on a finding.
#   make fuzz-replay
#       $(B)/fuzz/replay-NAME: the same harness with fuzz/replay.c's main()
#       and the build's own compiler and flags, so `make check`
#       (t/common/fuzz-corpus.t) runs every corpus once; in the sanitizer
#       build it runs under ASan/UBSan.
#
# Each harness is listed below (FUZZ HARNESSES) with the sources it tests,
# one line each, as the GNUmakefile lists the unit tests.

FUZZ_CC      ?= clang
FUZZTIME     ?= 60
FUZZ_MAXLEN  ?= 16384
FUZZ_B        = build-fuzz
FUZZ_SUPPORT := fuzz/replay.c fuzz/quiet.c

# FUZZ HARNESSES: fuzz/NAME.c and the modules it tests (libforkd.a is
# linked to every one). One line each:
#   $(eval $(call fuzzer,NAME,module.c ...))
FUZZ_ALL :=
define fuzzer
FUZZ_ALL += $(1)
FUZZ_UNITS_$(1) := $(2)
endef
$(eval $(call fuzzer,conf,supervisor/conf.c supervisor/mode.c))
$(eval $(call fuzzer,httpd_chunked,daemons/httpd/chunked.c \
    daemons/httpd/request.c daemons/httpd/response.c daemons/httpd/date.c daemons/httpd/alog.c))
$(eval $(call fuzzer,httpd_request,daemons/httpd/request.c \
    daemons/httpd/response.c daemons/httpd/date.c daemons/httpd/alog.c))
$(eval $(call fuzzer,httpget_chunked,clients/httpget/chunked.c \
    clients/httpget/conn.c))
$(eval $(call fuzzer,httpget_response,clients/httpget/response.c \
    clients/httpget/chunked.c clients/httpget/conn.c))
$(eval $(call fuzzer,pingd_datagram,daemons/pingd/ping.c \
    daemons/pingd/heartbeat.c))
$(eval $(call fuzzer,pinger_icmp,clients/pinger/icmpmsg.c))
$(eval $(call fuzzer,proxy,))
$(eval $(call fuzzer,send_email_reply,clients/send-email/reply.c \
    clients/send-email/conn.c))
$(eval $(call fuzzer,smtpd_session,daemons/smtpd/session.c \
    daemons/smtpd/reply.c daemons/smtpd/io.c daemons/smtpd/data.c \
    daemons/smtpd/mailbox.c daemons/smtpd/mbox_state.c \
    daemons/smtpd/mbox_record.c daemons/smtpd/mbox_commit.c \
    daemons/smtpd/mbox_backup.c daemons/smtpd/mbox_open.c \
    daemons/smtpd/mbox_hint.c daemons/smtpd/mbox_test.c \
    daemons/smtpd/tls.c daemons/smtpd/text.c \
    daemons/smtpd/path.c))

FUZZ_UNLISTED := $(filter-out $(FUZZ_ALL),$(basename $(notdir \
    $(filter-out $(FUZZ_SUPPORT),$(wildcard fuzz/*.c)))))
ifneq ($(FUZZ_UNLISTED),)
$(error fuzz/$(firstword $(FUZZ_UNLISTED)).c is not listed under FUZZ HARNESSES in mk/fuzz.mk)
endif
FUZZERS      ?= $(FUZZ_ALL)

FUZZ_SAN     = -fsanitize=address,undefined -fno-sanitize-recover=undefined
FUZZ_CFLAGS  = -g -O1 -fno-omit-frame-pointer -fsanitize=fuzzer-no-link \
	       $(FUZZ_SAN) -Wall -Wextra -std=gnu11 -D_GNU_SOURCE \
	       -DLIBBSD_OPENBSD_VIS -Ilib $(PKG_CFLAGS) -DPREFIX='"$(PREFIX)"' \
	       -Wno-missing-field-initializers -MMD -MP

FUZZ_REPLAY := $(FUZZ_ALL:%=$(B)/fuzz/replay-%)
FUZZ_BINS   := $(FUZZERS:%=$(FUZZ_B)/%)

.PHONY: fuzz fuzz-build fuzz-replay fuzz-clean fuzz-cc
fuzz-replay: $(FUZZ_REPLAY)
fuzz-build: fuzz-cc $(FUZZ_BINS)
fuzz-cc:
	@command -v $(FUZZ_CC) >/dev/null || { echo "fuzz: no $(FUZZ_CC)" \
	    "(Debian: apt-get install clang libclang-rt-14-dev)" >&2; exit 1; }
check: $(FUZZ_REPLAY)
clean: fuzz-clean

# The replay programs: the build's compiler, objects and library.
define fuzz_replay_rule
$(B)/fuzz/replay-$(1): $(B)/obj/fuzz/$(1).o $(B)/obj/fuzz/replay.o \
    $(B)/obj/fuzz/quiet.o $(patsubst %.c,$(B)/obj/%.o,$(FUZZ_UNITS_$(1))) $(LIBFORKD)
	@mkdir -p $$(@D)
	$$(CC) $$(LDFLAGS) -o $$@ $$^ $$(LDLIBS)
endef
$(foreach f,$(FUZZ_ALL),$(eval $(call fuzz_replay_rule,$(f))))

# The libFuzzer programs: their own objects, never mixed with $(B)'s.
$(FUZZ_B)/obj/%.o: %.c
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -c -o $@ $<

$(FUZZ_B)/libforkd.a: $(LIB_SRC:%.c=$(FUZZ_B)/obj/%.o)
	$(AR) rcs $@ $^

define fuzz_rule
$(FUZZ_B)/$(1): $(FUZZ_B)/obj/fuzz/$(1).o $(FUZZ_B)/obj/fuzz/quiet.o \
    $(patsubst %.c,$(FUZZ_B)/obj/%.o,$(FUZZ_UNITS_$(1))) $(FUZZ_B)/libforkd.a
	$(FUZZ_CC) -fsanitize=fuzzer $(FUZZ_SAN) -o $$@ $$^ $$(LDLIBS)
endef
$(foreach f,$(FUZZ_ALL),$(eval $(call fuzz_rule,$(f))))

# The libraries their program links beyond libforkd's (libtls): TLS is in
# the I/O the session and the reply reader go through.
$(B)/fuzz/replay-send_email_reply $(FUZZ_B)/send_email_reply: \
    LDLIBS += $(SEND_EMAIL_LIBS)
$(B)/fuzz/replay-smtpd_session $(FUZZ_B)/smtpd_session: \
    LDLIBS += $(SMTPD_LIBS)

# Each harness for FUZZTIME seconds; a summary line each, the logs kept.
fuzz: fuzz-cc $(FUZZ_BINS)
	@mkdir -p $(FUZZ_B)/artifacts; fail=0; \
	for f in $(FUZZERS); do \
	    mkdir -p $(FUZZ_B)/corpus/$$f; \
	    $(FUZZ_B)/$$f -max_total_time=$(FUZZTIME) -max_len=$(FUZZ_MAXLEN) \
	        -timeout=10 -print_final_stats=1 \
	        -artifact_prefix=$(FUZZ_B)/artifacts/$$f- \
	        $(FUZZ_B)/corpus/$$f fuzz/corpus/$$f >$(FUZZ_B)/$$f.log 2>&1; \
	    st=$$?; \
	    runs=$$(sed -n 's/^stat::number_of_executed_units: *//p' $(FUZZ_B)/$$f.log); \
	    cov=$$(sed -n 's/^#[0-9]*.*DONE *cov: \([0-9]*\).*/\1/p' $(FUZZ_B)/$$f.log); \
	    if [ $$st -eq 0 ]; then res=ok; else res="FINDING (see $(FUZZ_B)/$$f.log)"; fail=1; fi; \
	    echo "fuzz $$f: $${runs:-?} runs in $(FUZZTIME) s, cov $${cov:-?}, $$res"; \
	done; exit $$fail

fuzz-clean:
	rm -rf $(FUZZ_B)

-include $(shell find $(FUZZ_B)/obj -name '*.d' 2>/dev/null)
