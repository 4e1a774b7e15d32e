#!/usr/bin/env bash
# cross.sh TRIPLET... - the agent (tpdiagd, tpdiag) cross-built for each
# target with Debian's cross gcc and the target's multiarch -dev packages
# (`make cross`; CI runs it). Installs what is missing (dpkg
# --add-architecture, apt-get), builds with `make CROSS_COMPILE=TRIPLET-`,
# checks that `file` names the target's ELF and prints the stripped sizes.
# Exits 1 when a target does not build or is not the ELF it should be.
set -u
cd "$(dirname "$0")/.."
SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
deb_arch() {
	case $1 in
	aarch64-linux-gnu) echo arm64 ;;
	arm-linux-gnueabihf) echo armhf ;;
	mipsel-linux-gnu) echo mipsel ;;
	mips-linux-gnu) echo mips ;;
	mips64el-linux-gnuabi64) echo mips64el ;;
	*) return 1 ;;
	esac
}
elf_says() {
	case $1 in
	aarch64-*) echo "64-bit LSB .* ARM aarch64" ;;
	arm-*) echo "32-bit LSB .* ARM, EABI5" ;;
	mipsel-*) echo "32-bit LSB .* MIPS" ;;
	mips-*) echo "32-bit MSB .* MIPS" ;;
	mips64el-*) echo "64-bit LSB .* MIPS" ;;
	esac
}
AGENT_DEV="libmosquitto-dev libcjson-dev libmbedtls-dev libinih-dev"

need=() arches=()
for t in "$@"; do
	a=$(deb_arch "$t") || { echo "cross: $t: unknown target (aarch64-linux-gnu, mipsel-linux-gnu, ...)"; exit 2; }
	arches+=("$a")
	# the target's C library headers for the cross gcc: only a Recommends of
	# gcc-TRIPLET, which --no-install-recommends below leaves out
	for p in "gcc-$t" "libc6-dev-$a-cross" $(printf "%s:$a " $AGENT_DEV); do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || need+=("$p")
	done
done
command -v file >/dev/null 2>&1 || need+=(file)
if [ "${#need[@]}" -gt 0 ]; then
	start=$(date +%s)
	for a in "${arches[@]}"; do $SUDO dpkg --add-architecture "$a"; done
	$SUDO apt-get update -qq
	# libssl3 is Multi-Arch: same (libmosquitto1 needs it): every
	# architecture must have the one version. bookworm-security carries no
	# mipsel, so take the newest version every architecture has.
	pin=""
	v=$(for a in amd64 "${arches[@]}"; do apt-cache madison "libssl3:$a" | awk '{print $3}'; done \
		| sort | uniq -c | awk -v n=$((${#arches[@]} + 1)) '$1 == n {print $2}' | sort -V | tail -n 1)
	if [ -n "$v" ]; then
		pin="libssl3=$v libssl-dev=$v openssl=$v"
		for a in "${arches[@]}"; do pin="$pin libssl3:$a=$v"; done
	fi
	echo "cross: installing ${need[*]} $pin"
	DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends \
		"${need[@]}" $pin > /dev/null || exit 1
	echo "cross: toolchains installed in $(( $(date +%s) - start )) s"
fi
fail=0
for t in "$@"; do
	start=$(date +%s)
	mkdir -p "build-$t"
	if ! make --no-print-directory -j2 CROSS_COMPILE="$t-" agent > "build-$t/build.log" 2>&1; then
		tail -n 20 "build-$t/build.log"; echo "cross: $t: FAILED (log: build-$t/build.log)"; fail=1; continue
	fi
	for prog in tpdiagd tpdiag; do
		bin="build-$t/$prog"
		what=$(file -b "$bin")
		"$t-strip" -o "$bin.stripped" "$bin"
		kib=$(( ($(stat -c %s "$bin.stripped") + 1023) / 1024 ))
		if grep -Eq "^ELF $(elf_says "$t")" <<< "$what"; then
			echo "cross: $t: $prog: ${what%%, BuildID*}; stripped $kib KiB"
		else
			echo "cross: $t: $prog: FAILED: not the target's ELF: $what"; fail=1
		fi
	done
	echo "cross: $t: built in $(( $(date +%s) - start )) s"
done
exit $fail
