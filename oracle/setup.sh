#!/usr/bin/env bash
# daxref oracle setup: everything `daxref oracle` needs, from Debian's packages only.
#   host:  qemu-system-x86, busybox-static, e2fsprogs, xfsprogs, gcc, make, cpio, xz-utils
#   cache: the 6.12 (bookworm-security) and 7.3 (trixie-backports) kernel image, modules and
#          headers, unpacked with `dpkg -x` (nothing of either kernel is installed on the host),
#          and the page-counter module built against each kernel's headers.
# Idempotent: each stage leaves a stamp file and is skipped when its stamp exists.
# Cache folder: $DAXREF_ORACLE_CACHE or <repo>/.cache/oracle (git-ignored).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(dirname "$HERE")
CACHE=${DAXREF_ORACLE_CACHE:-$REPO/.cache/oracle}
K612=6.12.115+deb12-amd64
K612_VER=6.12.115-2~deb12u1
K73=7.3.4+deb13-amd64
mkdir -p "$CACHE"
CACHE=$(cd "$CACHE" && pwd)
log() { echo "oracle-setup: $*" >&2; }
die() { echo "oracle-setup: error: $*" >&2; exit 1; }
SUDO=; [ "$(id -u)" = 0 ] || SUDO=sudo
export DEBIAN_FRONTEND=noninteractive

# ---- 1. host packages (bookworm)
HOST_PKGS="qemu-system-x86 busybox-static e2fsprogs xfsprogs gcc make cpio xz-utils libc6-dev"
missing=
for p in $HOST_PKGS; do dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing="$missing $p"; done
if [ -n "$missing" ]; then
	log "installing host packages:$missing"
	$SUDO apt-get update -qq || die "apt-get update failed"
	$SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null || die "apt-get install$missing failed"
fi

# ---- 2. kernel packages, downloaded with apt-get download and unpacked with dpkg -x
# Private apt configuration for suites the host does not use (trixie, trixie-backports).
MIRROR=$(grep -rhE '^[[:space:]]*(URIs:|deb )' /etc/apt/sources.list /etc/apt/sources.list.d/ 2>/dev/null | grep -oE 'https?://[^ ]+/debian/?' | grep -v -e security -e snapshot | head -1 || true)
[ -n "$MIRROR" ] || MIRROR=http://deb.debian.org/debian
private_apt() { # $1 = name, $2.. = suites
	local dir=$CACHE/apt-$1; shift
	mkdir -p "$dir/lists/partial" "$dir/archives/partial"
	: > "$dir/sources.list"
	for s in "$@"; do echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $MIRROR $s main" >> "$dir/sources.list"; done
	printf 'Dir::Etc::SourceList "%s";\nDir::Etc::SourceParts "/dev/null";\nDir::State::Lists "%s";\nDir::Cache "%s";\nDir::Cache::archives "%s";\n' \
		"$dir/sources.list" "$dir/lists" "$dir" "$dir/archives" > "$dir/apt.conf"
	APT_CONFIG=$dir/apt.conf apt-get update -qq || die "apt-get update ($*) failed"
	echo "$dir/apt.conf"
}
unpack() { # $1 = kernel dir, $2 = apt config or '' (host), $3.. = packages
	local kdir=$1 conf=$2; shift 2
	mkdir -p "$kdir/debs" "$kdir/root"
	( cd "$kdir/debs" && if [ -n "$conf" ]; then APT_CONFIG=$conf apt-get download -qq -o APT::Sandbox::User=root "$@"; else apt-get download -qq -o APT::Sandbox::User=root "$@"; fi ) || die "apt-get download $* failed"
	for d in "$kdir"/debs/*.deb; do dpkg -x "$d" "$kdir/root"; done
}
fix_headers() { # $1 = kernel dir, $2 = kernel release: the headers name /usr/src/... absolutely
	local h=$1/root/usr/src/linux-headers-$2
	[ -d "$h" ] || die "no headers in $1"
	sed -i "s|/usr/src/|$1/root/usr/src/|g" "$h/Makefile"
	# the kbuild scripts are symlinked absolutely to /usr/lib/linux-kbuild-*
	for l in $(find "$1/root/usr/src" -maxdepth 2 -type l); do
		t=$(readlink "$l"); case $t in /usr/*) ln -sfn "$1/root$t" "$l";; esac
	done
}

K612DIR=$CACHE/k612
if [ ! -e "$K612DIR/.unpacked" ]; then
	log "downloading and unpacking kernel $K612 (bookworm-security)"
	rm -rf "$K612DIR"
	unpack "$K612DIR" '' "linux-image-$K612-unsigned=$K612_VER" "linux-headers-$K612=$K612_VER" \
		"linux-headers-6.12.115+deb12-common=$K612_VER" "linux-kbuild-6.12.115+deb12=$K612_VER"
	fix_headers "$K612DIR" "$K612"
	touch "$K612DIR/.unpacked"
fi

K73DIR=$CACHE/k73
if [ ! -e "$K73DIR/.unpacked" ]; then
	log "downloading and unpacking kernel $K73 (trixie-backports, not installed)"
	rm -rf "$K73DIR"
	conf=$(private_apt tb trixie-backports trixie)
	unpack "$K73DIR" "$conf" "linux-binary-unsigned-$K73" "linux-modules-$K73" "linux-headers-$K73" \
		linux-headers-7.3.4+deb13-common linux-kbuild-7.3.4+deb13
	fix_headers "$K73DIR" "$K73"
	H=$K73DIR/root/usr/src/linux-headers-$K73
	# The 7.3 headers expect gcc-14: gcc-12 lacks -fmin-function-alignment (falls back to -falign-functions).
	sed -i 's/^CONFIG_CC_HAS_MIN_FUNCTION_ALIGNMENT=y/# CONFIG_CC_HAS_MIN_FUNCTION_ALIGNMENT removed for gcc-12/' "$H/include/config/auto.conf"
	# trixie's modpost and objtool need glibc >= 2.38: run them with trixie's libc6 (unpacked only).
	mkdir -p "$K73DIR/libc"
	( cd "$K73DIR/libc" && APT_CONFIG=$conf apt-get download -qq -o APT::Sandbox::User=root libc6 ) || die "apt-get download libc6 (trixie) failed"
	dpkg -x "$K73DIR"/libc/libc6_*.deb "$K73DIR/libc/root"
	L=$K73DIR/libc/root/usr/lib/x86_64-linux-gnu
	for f in "$K73DIR"/root/usr/lib/linux-kbuild-7.3.4+deb13/scripts/mod/modpost.real-lsb-64 \
	         "$K73DIR"/root/usr/lib/linux-kbuild-7.3.4+deb13/tools/objtool/objtool.real-x86; do
		[ -e "$f" ] || continue
		[ -e "$f.bin" ] || mv "$f" "$f.bin"
		printf '#!/bin/sh\nexec %s --library-path %s "$0.bin" "$@"\n' "$L/ld-linux-x86-64.so.2" "$L" > "$f"
		chmod +x "$f"
	done
	touch "$K73DIR/.unpacked"
fi

# ---- 3. the page-counter module, per kernel (no BTF: pahole is not needed for a module we only insmod)
build_module() { # $1 = kernel dir, $2 = release, $3.. = extra make arguments
	local kdir=$1 rel=$2; shift 2
	local out=$kdir/module
	if [ -e "$out/daxref_page.ko" ] && cmp -s "$HERE/module/daxref_page.c" "$out/daxref_page.c"; then return; fi
	rm -rf "$out" && mkdir -p "$out"
	cp "$HERE/module/daxref_page.c" "$HERE/module/Makefile" "$out/"
	log "building daxref_page.ko for $rel"
	make -s -C "$kdir/root/usr/src/linux-headers-$rel" M="$out" "$@" modules > "$out/build.log" 2>&1 ||
		{ tail -30 "$out/build.log" >&2; die "module build for $rel failed (log: $out/build.log)"; }
	[ -e "$out/daxref_page.ko" ] || die "module build for $rel produced no daxref_page.ko"
}
if [ -e "$HERE/module/daxref_page.c" ]; then
	build_module "$K612DIR" "$K612" CC=gcc-12 CONFIG_DEBUG_INFO_BTF_MODULES=
	build_module "$K73DIR" "$K73" CC=gcc-12 HOSTCC=gcc-12 CONFIG_DEBUG_INFO_BTF_MODULES=
fi
log "ready: $CACHE"
