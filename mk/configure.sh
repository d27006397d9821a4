#!/bin/sh
# Writes BUILD/config.mk, the part of the build that depends on this
# machine, for the GNUmakefile to include:
#   - the compile and link flags of the libraries, from pkg-config, asked
#     only now that mk/deps.sh has installed them (a flag computed before
#     the packages are there compiles with implicit declarations);
#   - where the programs, the sample site and the spool of `make run` and
#     the tests live (RUNDIR), and which user runs the sample's handlers.
#
# Handlers run as nobody. When nobody cannot reach the checkout (root's
# clone in /root, mode 0700; or a umask of 077), the build copies what
# they need into a stage directory nobody can reach: a fresh mktemp(1)
# directory under /var/tmp, owned by root, mode 0755, named by the link
# BUILD/stage. A stage that disappeared (tmp cleaning) is made anew.
#
# usage: configure.sh BUILD	(run from the top of the tree)
# Exit 1, naming the Debian package to install, when a library is missing.
set -eu
b=$1
top=$(pwd)

if ! command -v pkg-config >/dev/null 2>&1; then
	echo "configure: pkg-config not found: apt-get install pkg-config (or run make as root: its deps step installs it)" >&2
	exit 1
fi

# pkg-config module and the Debian package that ships its .pc file.
mods='libbsd-overlay:libbsd-dev libseccomp:libseccomp-dev cmocka:libcmocka-dev
    libtls:libtls-dev libmagic:libmagic-dev'
missing=
for m in $mods; do
	pkg-config --exists "${m%%:*}" 2>/dev/null ||
	    missing="$missing ${m#*:}"
done
if [ -n "$missing" ]; then
	for m in $mods; do
		pkg-config --exists "${m%%:*}" 2>/dev/null ||
		    echo "configure: pkg-config cannot find ${m%%:*} (Debian package ${m#*:})" >&2
	done
	echo "configure: install the Debian packages:$missing" >&2
	echo "configure: apt-get install$missing" >&2
	exit 1
fi

# True when nobody can reach the tree and what the build will make in it.
nobody_reaches() {
	[ $(( $(umask) & 5 )) -eq 0 ] || return 1
	runuser -u nobody -- test -r "$top/GNUmakefile" 2>/dev/null &&
	    runuser -u nobody -- test -r "$top/etc/www/index.html" 2>/dev/null
}

# A stage directory of ours: a real directory, owned by us, that no one
# else may write. Anything else under that name is not used.
stage_ok() {
	[ -d "$1" ] && [ ! -L "$1" ] || return 1
	[ "$(stat -c %u "$1")" = "$(id -u)" ] || return 1
	case $(stat -c %A "$1") in
	d????-??-?) return 0 ;;
	esac
	return 1
}

rundir=$top/$b
runuser=$(id -un)
if [ "$(id -u)" = 0 ]; then
	runuser=nobody
	if nobody_reaches; then
		# A stage from an earlier, unreachable checkout is not needed.
		rm -f "$b/stage"
	else
		s=$(readlink "$b/stage" 2>/dev/null || true)
		if [ -z "$s" ] || ! stage_ok "$s"; then
			s=$(umask 022 && mktemp -d /var/tmp/forkd-stage.XXXXXX)
			chmod 755 "$s"
			ln -sfn "$s" "$b/stage"
			echo "configure: nobody cannot reach $top: handlers, sample site and spool staged in $s" >&2
		fi
		rundir=$s
	fi
fi

# libbsd (with libmd, which it needs) and libseccomp are linked into the
# programs statically where their archives are installed and a test link
# works: forkd starts a handler per connection ("nowait"), and three
# shared objects fewer to find, map and relocate are about a sixth of
# echod's start-up here. Dynamic otherwise, as pkg-config says.
static_libs() {
	cc=${CC:-cc}
	libs=$(pkg-config --libs --static libbsd-overlay libseccomp) || return 1
	for l in $libs; do
		case $l in
		-l*) a=lib${l#-l}.a
		     [ "$($cc -print-file-name="$a")" != "$a" ] || return 1 ;;
		*) return 1 ;;
		esac
	done
	t=$(mktemp -d) || return 1
	printf '#include <string.h>\n#include <seccomp.h>\nint main(int c, char **v) { char b[8]; strlcpy(b, v[0], sizeof(b)); seccomp_release(seccomp_init(SCMP_ACT_ALLOW)); return c + b[0] == 0; }\n' >"$t/t.c"
	if $cc $(pkg-config --cflags libbsd-overlay libseccomp) -fPIE -pie \
	    -o "$t/t" "$t/t.c" -Wl,-Bstatic $libs -Wl,-Bdynamic \
	    >/dev/null 2>&1 && "$t/t"; then
		rm -rf "$t"
		echo "-Wl,-Bstatic $libs -Wl,-Bdynamic"
		return 0
	fi
	rm -rf "$t"
	return 1
}
pkg_libs=$(static_libs) || pkg_libs=$(pkg-config --libs libbsd-overlay libseccomp)

cat <<EOF
# Written by mk/configure.sh; remade when the packages or the tree move.
PKG_CFLAGS := $(pkg-config --cflags libbsd-overlay libseccomp libtls libmagic)
PKG_LIBS := $pkg_libs
# send-email links TLS (libtls) and media types (libmagic); smtpd TLS.
SEND_EMAIL_LIBS := $(pkg-config --libs libtls libmagic)
SMTPD_LIBS := $(pkg-config --libs libtls)
CMOCKA_CFLAGS := $(pkg-config --cflags cmocka)
CMOCKA_LIBS := $(pkg-config --libs cmocka)
# Where make run and the tests run the programs from, and as whom.
RUNDIR := $rundir
RUN_USER := $runuser
EOF
