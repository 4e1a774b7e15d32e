#!/usr/bin/env bash
# fresh.sh - README's two commands on a bare Debian root, first try (`make fresh`).
#
# 1. A minbase Debian root (mmdebstrap; make, git and ca-certificates added),
#    built once with this machine's apt sources and cached as a tarball under
#    build/fresh-cache/, extracted anew for every run under /var/tmp.
# 2. Into it only what any new machine of this workplace has besides Debian:
#    the apt sources, /etc/npmrc, the local CA certificates, resolv.conf.
# 3. A git clone of the committed HEAD (not the working tree) in /root/tpdiag.
# 4. chroot (with /proc, /sys read-only, /dev, /dev/pts, a fresh /dev/shm):
#    `make demo`, then `make test`, as root, each timed; the first failure
#    ends the run with a non-zero exit.
# 5. Always (EXIT, INT, TERM): processes left in the root are killed by PID,
#    every mount under it is unmounted (lazily as a fallback), and the root
#    is removed only once findmnt shows nothing mounted beneath it.
#
# Environment: FRESH_SUITE (bookworm), FRESH_CACHE (build/fresh-cache),
# FRESH_REBUILD=1 to rebuild the cached tarball, KEEP=1 to keep the root.
#
# Design note: the root lives outside the work tree so that no `make clean`
# or `rm -rf build` can ever reach a root whose /dev is still bound.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"

SUITE=${FRESH_SUITE:-bookworm}
CACHE=${FRESH_CACHE:-build/fresh-cache}
TARBALL="$CACHE/$SUITE-minbase-make-git-ca.tar"
ROOT=""

fresh_log() { echo "fresh: $*"; }

if [ "$(id -u)" != 0 ]; then
	fresh_log "needs root (mmdebstrap, mount, chroot)" >&2
	exit 1
fi

# The mounts at or under $ROOT, deepest first (findmnt lists parents first).
fresh_mounts_under() {
	[ -n "$ROOT" ] || return 0
	findmnt -rn -o TARGET | awk -v r="$ROOT" '$0 == r || index($0, r "/") == 1' | sort -r
}

# Processes whose root directory is ours: started by this run, so they may
# be killed (by PID; zombies have no root and are not listed).
fresh_pids_inside() {
	local p
	for p in /proc/[0-9]*; do
		[ "$(readlink "$p/root" 2>/dev/null)" = "$ROOT" ] && echo "${p#/proc/}"
	done
	return 0
}

fresh_kill_inside() {
	local sig pids i
	for sig in TERM KILL; do
		pids=$(fresh_pids_inside)
		[ -n "$pids" ] || return 0
		fresh_log "SIG$sig to what runs in the root:" $pids
		kill -s "$sig" $pids 2>/dev/null || true
		for i in $(seq 30); do
			[ -n "$(fresh_pids_inside)" ] || return 0
			sleep 0.1
		done
	done
}

fresh_cleanup() {
	local rc=$? m left
	# A second signal (make forwards its own to us) must not cut this short.
	trap '' INT TERM HUP
	trap - EXIT
	[ -n "$ROOT" ] || exit "$rc"
	fresh_kill_inside
	for m in $(fresh_mounts_under); do
		umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || true
	done
	left=$(fresh_mounts_under)
	if [ -n "$left" ]; then
		fresh_log "still mounted, NOT removing $ROOT:" >&2
		echo "$left" >&2
		exit 1
	fi
	if [ "${KEEP:-0}" = 1 ]; then
		fresh_log "root kept in $ROOT"
	else
		# --one-file-system as a second guard: never cross into another mount.
		rm -rf --one-file-system "$ROOT"
	fi
	exit "$rc"
}
trap fresh_cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

fresh_mount() {
	local target="$ROOT$1"
	shift
	mkdir -p "$target"
	mount "$@" "$target"
}

# The host's active apt sources, as mmdebstrap mirror arguments (files).
fresh_sources() {
	local f
	if [ -s /etc/apt/sources.list ] && grep -q '^[[:space:]]*deb' /etc/apt/sources.list; then
		echo /etc/apt/sources.list
	fi
	for f in /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources; do
		[ -f "$f" ] && echo "$f"
	done
	return 0
}

fresh_build_tarball() {
	local srcs part
	if ! command -v mmdebstrap > /dev/null 2>&1; then
		fresh_log "installing mmdebstrap"
		apt-get update -qq
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq mmdebstrap > /dev/null
	fi
	mapfile -t srcs < <(fresh_sources)
	[ "${#srcs[@]}" -gt 0 ] || { fresh_log "no apt sources on this machine" >&2; return 1; }
	mkdir -p "$CACHE"
	part="$CACHE/partial-$SUITE.tar"
	rm -rf "$part"
	fresh_log "building a $SUITE minbase root (sources: ${srcs[*]})"
	mmdebstrap --quiet --variant=minbase --format=tar --include=make,git,ca-certificates \
		"$SUITE" "$part" "${srcs[@]}"
	mv "$part" "$TARBALL"
}

if [ "${FRESH_REBUILD:-0}" = 1 ] || [ ! -s "$TARBALL" ]; then
	fresh_build_tarball
fi

rev=$(git rev-parse HEAD)
if [ -n "$(git status --porcelain --untracked-files=no)" ]; then
	fresh_log "note: uncommitted changes are not tested, only HEAD $rev"
fi

ROOT=$(mktemp -d /var/tmp/tpdiag-fresh.XXXXXX)
fresh_log "root $ROOT from $TARBALL"
chmod 0755 "$ROOT"   # mktemp's 0700 would shut out apt's _apt user
tar -C "$ROOT" --numeric-owner -xpf "$TARBALL"

# What a new machine of this workplace has besides Debian itself.
rm -rf "$ROOT/etc/apt/sources.list" "$ROOT/etc/apt/sources.list.d"
mkdir -p "$ROOT/etc/apt/sources.list.d"
[ -f /etc/apt/sources.list ] && cp /etc/apt/sources.list "$ROOT/etc/apt/"
cp -a /etc/apt/sources.list.d/. "$ROOT/etc/apt/sources.list.d/"
[ -f /etc/npmrc ] && cp /etc/npmrc "$ROOT/etc/npmrc"
mkdir -p "$ROOT/usr/local/share/ca-certificates"
for crt in /usr/local/share/ca-certificates/*.crt; do
	[ -f "$crt" ] && cp "$crt" "$ROOT/usr/local/share/ca-certificates/"
done
# The mirror and the npm registry are names: the root needs this machine's resolver.
rm -f "$ROOT/etc/resolv.conf"
cp -L /etc/resolv.conf "$ROOT/etc/resolv.conf"
# Every installed Debian system has these two lines; minbase writes none.
[ -s "$ROOT/etc/hosts" ] || printf '127.0.0.1\tlocalhost\n::1\t\tlocalhost ip6-localhost ip6-loopback\n' > "$ROOT/etc/hosts"
# No init system runs in a chroot: a package's service (mosquitto's) must
# not be started by its postinst and outlive the run (chroot convention).
printf '#!/bin/sh\nexit 101\n' > "$ROOT/usr/sbin/policy-rc.d"
chmod 0755 "$ROOT/usr/sbin/policy-rc.d"

fresh_mount /proc -t proc proc
fresh_mount /sys -t sysfs -o ro sysfs
fresh_mount /dev --bind /dev
fresh_mount /dev/pts --bind /dev/pts
fresh_mount /dev/shm -t tmpfs -o mode=1777,nosuid,nodev tmpfs

fresh_in_root() {
	chroot "$ROOT" /usr/bin/env -i HOME=/root LANG=C.UTF-8 TERM=dumb \
		PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
		/bin/bash -c "$1" < /dev/null
}

fresh_in_root "update-ca-certificates 2>&1 > /dev/null | grep -v 'does not contain exactly one certificate' >&2 || true"
git clone -q --no-checkout "$here" "$ROOT/root/tpdiag"
git -C "$ROOT/root/tpdiag" checkout -q --detach "$rev"
fresh_log "cloned HEAD $(git log -1 --format='%h %s' "$rev")"

# Wall time of one command, tenths of a second, into FRESH_TOOK.
fresh_timed() {
	local t0 t1 rc=0 ms
	fresh_log "== $1 (first try, in the fresh root)"
	t0=$(date +%s%N)
	# In the background so that a signal reaches our trap at once (bash runs
	# traps only between foreground commands); the trap's cleanup kills it.
	fresh_in_root "cd /root/tpdiag && $1" &
	wait "$!" || rc=$?
	t1=$(date +%s%N)
	ms=$(( (t1 - t0) / 1000000 ))
	FRESH_TOOK="$(( ms / 1000 )).$(( ms % 1000 / 100 ))"
	fresh_log "$1: exit $rc, wall $FRESH_TOOK s"
	if [ "$rc" -ne 0 ]; then
		fresh_log "FAILED: $1 in a fresh $SUITE root"
		return 1
	fi
}

fresh_timed "make demo"
demo_s=$FRESH_TOOK
fresh_timed "make test"
test_s=$FRESH_TOOK
fresh_log "passed on $SUITE: make demo $demo_s s, make test $test_s s (wall, first try)"
