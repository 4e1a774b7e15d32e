#!/usr/bin/env bash
# 41: what `make install` adds for operators (issue 20): man pages that
# mandoc lints clean and that document every option each program's --help
# lists, and systemd units (dedicated dynamic user, hardening) that pass
# `systemd-analyze verify` and an offline security review, both read from
# the DESTDIR tree; `make uninstall` removes them again.
. "$(dirname "$0")/../lib/check.sh"
check_stack

root="$CHECK_DIR/root"
make --no-print-directory install BUILD="$BUILD" DESTDIR="$root" > "$CHECK_DIR/install.log" 2>&1
check_eq "make install DESTDIR=... exits 0" 0 $?
man="$root/usr/local/share/man"
units="$root/usr/local/lib/systemd/system"

for page in man1/tpdiag.1 man1/tpclaim.1 man1/tpsim.1 man1/tpkey.1 man8/tpdiagd.8 man8/tpcollect.8; do
	f="$man/$page"
	check "installed $page" test -s "$f"
	out=$(mandoc -T lint -W warning "$f" 2>&1)
	check_eq "$page: mandoc -T lint -W warning is clean${out:+ ($out)}" "" "$out"
	p=$(basename "$page"); p=${p%.*}
	# every option --help lists is in the page, as .Fl -NAME
	missing=""
	for o in $("$STACK_BIN/$p" --help | sed -n '/^options:/,$p' | grep -o -E '^  --[a-z][a-z0-9-]*' | sed 's/^  --//'); do
		grep -q -E "^\.(It|Op|Fl)( Op)? Fl -$o( |$)|Fl -$o( |$)" "$f" || missing="$missing --$o"
	done
	check "$page names every option of $p --help${missing:+ (missing:$missing)}" test -z "$missing"
	check "$page renders" bash -c "mandoc -T markdown '$f' | grep -q '^# NAME'"
done
check "a page with a bad macro fails the lint (the check can fail)" \
	bash -c "printf '.Dd December 3, 2026\n.Dt X 1\n.Os\n.Sh NAME\n.Nm x\n.Nd y\n.Bl -tag\n.It a\n' > '$CHECK_DIR/x.1'; ! mandoc -T lint -W warning '$CHECK_DIR/x.1' > /dev/null 2>&1"

# systemd: the installed units, their ExecStart pointing into the DESTDIR
# tree (the programs are not installed on this machine), no systemd
# running needed.
mkdir -p "$CHECK_DIR/units"
for u in tpcollect tpdiagd; do
	f="$units/$u.service"
	check "installed $u.service" test -s "$f"
	check "$u.service: no placeholder left" bash -c "! grep -q '@[A-Z]*@' '$f'"
	for k in DynamicUser=yes NoNewPrivileges=yes ProtectSystem=strict PrivateTmp=yes ProtectHome=yes; do
		check "$u.service: $k" grep -qx "$k" "$f"
	done
	check "$u.service: StateDirectory" grep -q "^StateDirectory=" "$f"
	sed "s|/usr/local/bin/|$root/usr/local/bin/|" "$f" > "$CHECK_DIR/units/$u.service"
	out=$(systemd-analyze verify --man=no "$CHECK_DIR/units/$u.service" 2>&1)
	rc=$?
	check_eq "$u.service: systemd-analyze verify exits 0" 0 $rc
	check_eq "$u.service: ... and says nothing${out:+ ($out)}" "" "$out"
	systemd-analyze security --offline=yes --threshold=20 "$CHECK_DIR/units/$u.service" \
		> "$CHECK_DIR/security-$u.log" 2>&1
	rc=$?
	level=$(sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p' "$CHECK_DIR/security-$u.log")
	check_eq "$u.service: exposure 2.0 or less (systemd-analyze security: ${level:-none})" 0 $rc
done
check "tpcollect.service: sd_notify when built with libsystemd" \
	bash -c "grep -qx 'Type=notify' '$units/tpcollect.service' || ! pkg-config --exists libsystemd"
cp "$CHECK_DIR/units/tpdiagd.service" "$CHECK_DIR/units/bad.service"
echo "ProtectSystem=sometimes" >> "$CHECK_DIR/units/bad.service"
check "a bad setting is reported by verify (the check can fail)" \
	bash -c "systemd-analyze verify --man=no '$CHECK_DIR/units/bad.service' 2>&1 | grep -q ProtectSystem"

make --no-print-directory uninstall BUILD="$BUILD" DESTDIR="$root" > "$CHECK_DIR/uninstall.log" 2>&1
check_eq "make uninstall exits 0" 0 $?
check "uninstall removes the man pages" \
	bash -c "! ls '$man'/man1/tp* '$man'/man8/tp* > /dev/null 2>&1"
check "uninstall removes the units" test ! -e "$units/tpcollect.service" -a ! -e "$units/tpdiagd.service"
check_done
