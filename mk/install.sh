#!/bin/sh
# make install and make uninstall.
#
# install puts the programs, man pages, sample configs (forkd.conf never
# over an existing one), the sample site, the rc script, the systemd and
# xinetd files, creates the spool and the system user smtpd runs as, and
# records each file with its SHA-256, and each directory and user it
# created, in DATADIR/install.manifest. uninstall removes what the
# manifest names, except a file whose contents changed since (an edited
# config), a directory that is not empty (a spool holding mail) and the
# user while its spool is kept.
#
# Files under etc/ get the installed paths for their @TOKENS@:
# @SBINDIR@ @BINDIR@ @LIBEXECDIR@ @SYSCONFDIR@ @DATADIR@ @WWWDIR@
# @SPOOLDIR@ @MANDIR@ @RCDIR@ @FORKD_USER@.
#
# usage: install.sh install|uninstall, with the make variables in the
# environment (DESTDIR PREFIX SBINDIR BINDIR LIBEXECDIR MANDIR SYSCONFDIR
# DATADIR SYSTEMDDIR SPOOLDIR RCDIR FORKD_USER ADDUSER B DAEMONS CLIENTS).
set -eu

D=${DESTDIR:-}
manifest=$DATADIR/install.manifest
umask 022

say() {
	printf '%s: %s\n' "$mode" "$*"
}

subst() {
	sed -e "s|@SBINDIR@|$SBINDIR|g" -e "s|@BINDIR@|$BINDIR|g" \
	    -e "s|@LIBEXECDIR@|$LIBEXECDIR|g" -e "s|@SYSCONFDIR@|$SYSCONFDIR|g" \
	    -e "s|@DATADIR@|$DATADIR|g" -e "s|@WWWDIR@|$DATADIR/www|g" \
	    -e "s|@SPOOLDIR@|$SPOOLDIR|g" -e "s|@MANDIR@|$MANDIR|g" \
	    -e "s|@RCDIR@|$RCDIR|g" -e "s|@FORKD_USER@|$FORKD_USER|g" "$1"
}

sum() {
	sha256sum <"$1" | cut -d' ' -f1
}

# The entry of the previous install for path $1 (type $2), if any.
previous() {
	[ -f "$old" ] || return 1
	awk -v t="$2" -v p="$1" '$1 == t && $NF == p { print; found = 1 }
	    END { exit !found }' "$old"
}

# A directory: made with its missing parents (and then recorded, so that
# uninstall removes them once empty), or recorded again if an earlier
# install made it.
dir() {
	if [ "$1" = / ] || [ "$1" = . ]; then
		install -d "$D/"
	elif [ ! -d "$D$1" ]; then
		[ -d "$D$(dirname "$1")" ] || dir "$(dirname "$1")"
		install -d -m "${2:-755}" "$D$1"
		echo "d $1" >>"$new"
	fi
}

# put MODE SRC DEST [subst]: a file, recorded with its checksum.
put() {
	if [ "${4:-}" = subst ]; then
		subst "$2" >"$D$3.new"
	else
		cat "$2" >"$D$3.new"
	fi
	chmod "$1" "$D$3.new"
	mv -f "$D$3.new" "$D$3"
	echo "f $(sum "$D$3") $3" >>"$new"
}

# A config: put only where none is, else kept as the administrator left it.
conf() {
	if [ -e "$D$3" ]; then
		say "keeping the existing $D$3"
		previous "$3" f >>"$new" || true
	else
		put "$@"
	fi
}

do_install() {
	old=$D$manifest
	new=$(mktemp)
	trap 'rm -f "$new"' EXIT
	dir "$SBINDIR"
	dir "$BINDIR"
	dir "$LIBEXECDIR"
	dir "$SYSCONFDIR"
	dir "$DATADIR"
	put 755 "$B/forkd" "$SBINDIR/forkd"
	for d in $DAEMONS; do put 755 "$B/$d" "$LIBEXECDIR/$d"; done
	for c in $CLIENTS; do put 755 "$B/$c" "$BINDIR/$c"; done
	dir "$MANDIR"
	for m in man/*.[1-8]; do
		[ -f "$m" ] || continue
		dir "$MANDIR/man${m##*.}"
		put 644 "$m" "$MANDIR/man${m##*.}/${m##*/}"
	done

	conf 644 etc/forkd.conf "$SYSCONFDIR/forkd.conf" subst
	put 644 etc/inetd.conf "$SYSCONFDIR/forkd-inetd.conf.sample" subst
	dir "$RCDIR"
	put 755 etc/rc.d/forkd "$RCDIR/forkd" subst
	dir "$SYSTEMDDIR"
	for u in etc/systemd/*; do
		[ -f "$u" ] && put 644 "$u" "$SYSTEMDDIR/${u##*/}" subst
	done
	if [ -d etc/xinetd.d ]; then
		dir "$DATADIR/xinetd.d"
		for x in etc/xinetd.d/*; do
			[ -f "$x" ] && put 644 "$x" "$DATADIR/xinetd.d/${x##*/}" subst
		done
	fi

	# The sample site, the document root of the sample config.
	(cd etc/www && find . -type d) | sort | while read -r w; do
		dir "$DATADIR/www${w#.}"
	done
	(cd etc/www && find . -type f) | sort | while read -r w; do
		if [ -x "etc/www/$w" ]; then m=755; else m=644; fi
		put $m "etc/www/$w" "$DATADIR/www${w#.}"
	done

	# The spool and its owner, the user smtpd runs as: a system user
	# with no shell and no home. A staged install (DESTDIR) creates no
	# user; it chowns the spool only if the user exists already.
	dir "$SPOOLDIR" 700
	if [ -z "$D" ] && [ "$ADDUSER" != no ] && ! id -u "$FORKD_USER" >/dev/null 2>&1; then
		if command -v adduser >/dev/null 2>&1; then
			adduser --system --group --no-create-home \
			    --home /nonexistent --shell /usr/sbin/nologin \
			    --quiet "$FORKD_USER"
		else
			useradd --system --user-group --no-create-home \
			    --home-dir /nonexistent --shell /usr/sbin/nologin \
			    "$FORKD_USER"
		fi
		say "created the system user $FORKD_USER"
		echo "u $FORKD_USER" >>"$new"
	fi
	if id -u "$FORKD_USER" >/dev/null 2>&1; then
		chown "$FORKD_USER:$(id -gn "$FORKD_USER")" "$D$SPOOLDIR"
	else
		say "no user $FORKD_USER here: $D$SPOOLDIR left to $(id -un); chown it to $FORKD_USER where forkd runs"
	fi
	chmod 700 "$D$SPOOLDIR"

	# The directories and the user an earlier install made stay ours.
	if [ -f "$old" ]; then
		awk '$1 == "d" || $1 == "u"' "$old" >>"$new"
	fi
	awk '!seen[$0]++' "$new" >"$D$manifest.new"
	mv -f "$D$manifest.new" "$D$manifest"
}

do_uninstall() {
	m=$D$manifest
	if [ ! -f "$m" ]; then
		say "no $m: nothing installed with this PREFIX and DESTDIR" >&2
		exit 1
	fi
	awk '$1 == "f" { print $2, $3 }' "$m" | while read -r h p; do
		[ -e "$D$p" ] || [ -L "$D$p" ] || continue
		if [ -f "$D$p" ] && [ "$(sum "$D$p")" = "$h" ]; then
			rm -f "$D$p"
		else
			say "keeping $D$p: changed since make install"
		fi
	done
	rm -f "$m"
	# Deepest first; a directory that still holds something is kept.
	awk '$1 == "d" { print $2 }' "$keep" | sort -r | while read -r p; do
		[ -d "$D$p" ] || continue
		if ! rmdir "$D$p" 2>/dev/null; then
			case $p in
			"$SPOOLDIR"|"$SYSCONFDIR"|"$DATADIR"*) say "keeping $D$p: not empty" ;;
			esac
		fi
	done
	awk '$1 == "u" { print $2 }' "$keep" | while read -r u; do
		if [ -n "$D" ]; then
			continue
		elif [ -d "$SPOOLDIR" ]; then
			say "keeping the user $u: it owns $SPOOLDIR"
		elif command -v deluser >/dev/null 2>&1; then
			deluser --system --quiet "$u" && say "removed the system user $u"
		else
			userdel "$u" && say "removed the system user $u"
		fi
	done
}

mode=${1:-}
case $mode in
install) do_install ;;
uninstall)
	keep=$(mktemp)
	trap 'rm -f "$keep"' EXIT
	cat "$D$manifest" >"$keep" 2>/dev/null || true
	do_uninstall
	;;
*) echo "usage: install.sh install|uninstall" >&2; exit 100 ;;
esac
