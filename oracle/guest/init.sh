#!/bin/busybox sh
# PID 1 of the daxref oracle guest: load the modules, then for every scenario program in /scn:
# make a fresh filesystem on the emulated pmem, mount it with DAX, run the program, unmount.
export PATH=/bin:/sbin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
echo "DAXREF-GUEST init at uptime $(cut -d" " -f1 /proc/uptime)"
# O_DIRECT on null_blk completes after DIO_NS: the FOLL_PIN lifetime. 7 s or more makes the
# partition scan of nullb0 at insmod slow (boot 100 s instead of 25 s).
FS=ext4 DIO_NS=6000000000
for a in $(cat /proc/cmdline); do
	case $a in daxref.fs=*) FS=${a#daxref.fs=};; daxref.dio_ns=*) DIO_NS=${a#daxref.dio_ns=};; esac
done
for m in $(cat /lib/mod/order); do
	case $m in
	null_blk) insmod /lib/mod/$m.ko nr_devices=1 irqmode=2 completion_nsec=$DIO_NS;;
	*) insmod /lib/mod/$m.ko;;
	esac || echo "DAXREF-GUEST insmod $m failed"
done
insmod /lib/mod/daxref_page.ko || echo "DAXREF-GUEST insmod daxref_page failed"
i=0
while [ ! -e /dev/pmem0 ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
echo "DAXREF-GUEST kernel $(uname -r) fs $FS pmem dax=$(cat /sys/block/pmem0/queue/dax 2>/dev/null) uptime $(cut -d' ' -f1 /proc/uptime)"
mkdir -p /mnt /sys/kernel/debug
mount -t debugfs debugfs /sys/kernel/debug 2>/dev/null
for s in $(ls /scn | grep -v '\.'); do
	# /scn/ID.mkfs: extra mkfs options for this scenario (2 MiB stripe unit when a file asks for 2 MiB alignment)
	OPTS=$(cat /scn/$s.mkfs 2>/dev/null)
	if [ "$FS" = xfs ]; then
		mkfs.xfs -f -q $OPTS /dev/pmem0 >/dev/null 2>&1 || echo "DAXREF $s {\"t\":\"error\",\"message\":\"mkfs.xfs $OPTS failed\"}"
		mount -t xfs -o dax=always /dev/pmem0 /mnt || echo "DAXREF $s {\"t\":\"error\",\"message\":\"mount failed\"}"
	else
		mkfs.ext4 -F -q -b 4096 $OPTS /dev/pmem0 || echo "DAXREF $s {\"t\":\"error\",\"message\":\"mkfs.ext4 $OPTS failed\"}"
		mount -t ext4 -o dax=always /dev/pmem0 /mnt || echo "DAXREF $s {\"t\":\"error\",\"message\":\"mount failed\"}"
	fi
	grep -q ' /mnt .*dax' /proc/mounts || echo "DAXREF $s {\"t\":\"error\",\"message\":\"/mnt is not mounted with dax\"}"
	dmesg -c >/dev/null
	# WARN_ON_ONCE sites fire again in every scenario
	echo 1 > /sys/kernel/debug/clear_warn_once 2>/dev/null
	timeout 300 /scn/$s $s /mnt /dev/nullb0 || echo "DAXREF $s {\"t\":\"error\",\"message\":\"program exited with status $?\"}"
	# the kernel's WARNs during this scenario, for comparison with the model's WARN_ONs
	dmesg | grep -E 'WARNING:|BUG:|Oops|blocked for more than' | sed 's/\\/\\\\/g; s/"/\\"/g' |
		while read -r l; do echo "DAXREF $s {\"t\":\"kwarn\",\"text\":\"$l\"}"; done
	sync
	# (a scenario may have unmounted it itself)
	if grep -q ' /mnt ' /proc/mounts; then
		umount /mnt 2>/dev/null || { sleep 1; umount /mnt; } || echo "DAXREF $s {\"t\":\"error\",\"message\":\"cannot unmount /mnt after the run: later scenarios of this boot may fail\"}"
	fi
done
echo "DAXREF-GUEST done uptime $(cut -d' ' -f1 /proc/uptime)"
poweroff -f
