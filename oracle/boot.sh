#!/usr/bin/env bash
# Boot one kernel under QEMU (TCG) with emulated pmem and run the scenario programs of BINDIR.
# Usage: oracle/boot.sh 6.12|7.3 ext4|xfs BINDIR     (console on stdout)
# Needs `npm run oracle:setup` first.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
CACHE=${DAXREF_ORACLE_CACHE:-$(dirname "$HERE")/.cache/oracle}
KV=$1 FS=$2 BINDIR=$3
die() { echo "oracle-boot: error: $*" >&2; exit 2; }
case $KV in
6.12) K=6.12.115+deb12-amd64; KDIR=$CACHE/k612; MODDIR=$KDIR/root/lib/modules/$K; VMLINUZ=$KDIR/root/boot/vmlinuz-$K;;
7.3) K=7.3.4+deb13-amd64; KDIR=$CACHE/k73; MODDIR=$KDIR/root/usr/lib/modules/$K; VMLINUZ=$MODDIR/vmlinuz.unsigned;;
*) die "unknown kernel $KV (6.12 or 7.3)";;
esac
[ -e "$KDIR/.unpacked" ] && [ -e "$KDIR/module/daxref_page.ko" ] && [ -e "$VMLINUZ" ] || die "kernel $KV is not set up: run npm run oracle:setup"
command -v qemu-system-x86_64 >/dev/null || die "qemu-system-x86_64 missing: run npm run oracle:setup"
WORK=$(mktemp -d "${TMPDIR:-/tmp}/daxref-oracle.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
R=$WORK/root
mkdir -p "$R"/{bin,sbin,proc,sys,dev,mnt,tmp,etc,lib/mod,scn}
cp /bin/busybox "$R/bin/busybox"
for c in sh mount umount insmod ls cat echo sleep dmesg grep poweroff mkdir uname cut sed head timeout sync; do ln -s busybox "$R/bin/$c"; done
for b in /sbin/mke2fs /sbin/mkfs.xfs; do
	cp "$b" "$R/sbin/"
	for l in $(ldd "$b" | grep -o '/[^ ]*'); do mkdir -p "$R$(dirname "$l")"; cp -Ln "$l" "$R$l"; done
done
ln -s mke2fs "$R/sbin/mkfs.ext4"
cp /etc/mke2fs.conf "$R/etc/" 2>/dev/null || true
# modules: the targets and what they depend on (from each module's .modinfo), dependencies first
declare -A seen=()
order=()
add_mod() {
	local m=$1 f dep
	[ -n "${seen[$m]:-}" ] && return
	seen[$m]=1
	f=$(find "$MODDIR/kernel" \( -name "$m.ko" -o -name "$m.ko.xz" -o -name "${m//_/-}.ko.xz" \) | head -1)
	[ -n "$f" ] || return 0 # built in
	case $f in *.xz) xz -dc "$f" > "$R/lib/mod/$m.ko";; *) cp "$f" "$R/lib/mod/$m.ko";; esac
	for dep in $(strings -a "$R/lib/mod/$m.ko" | sed -n 's/^depends=//p' | tr ',' ' '); do add_mod "${dep//-/_}"; done
	order+=("$m")
}
# crc32c: ext4, jbd2 and xfs ask the crypto API for it at mount time (a soft dependency, not in .modinfo)
for m in crc32c_generic crc32c_intel nd_pmem nd_e820 ext4 xfs null_blk; do add_mod $m; done
echo "${order[*]}" > "$R/lib/mod/order"
cp "$KDIR/module/daxref_page.ko" "$R/lib/mod/"
cp "$BINDIR"/* "$R/scn/"
cp "$HERE/guest/init.sh" "$R/init" && chmod +x "$R/init"
(cd "$R" && find . | cpio -o -H newc --quiet | gzip -1) > "$WORK/initrd"
echo "oracle-boot: kernel $K, $FS, $(ls "$BINDIR" | grep -vc "\\.") program(s), modules: ${order[*]}" >&2
exec 3>&1
timeout "${DAXREF_ORACLE_TIMEOUT:-600}" qemu-system-x86_64 -accel tcg -cpu max -m 2G -smp 2 -nographic -no-reboot \
	-kernel "$VMLINUZ" -initrd "$WORK/initrd" \
	-append "console=ttyS0 memmap=512M!1G panic=-1 quiet loglevel=1 daxref.fs=$FS daxref.dio_ns=${DAXREF_ORACLE_DIO_NS:-6000000000}" </dev/null
