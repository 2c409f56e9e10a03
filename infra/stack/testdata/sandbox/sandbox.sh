#!/bin/sh
# sandbox.sh DIR: boots a stand-in instance in the current mount namespace,
# which boot_sandbox_test.go makes with `unshare --mount --propagation private`,
# then holds the namespace (sleeps) until the test kills it.
#
# The instance's disk is DIR/upper: overlayfs upper layers over the host's
# directories, so the script sees the host's files but every write lands in
# DIR/upper. A second boot on the same DIR is a stop/start of the instance.
# DIR/shared is the harness's window, seen inside as /run/sandbox: the
# stand-ins, their configuration, and the log of their calls.
set -eu
dir=$1

for d in etc usr/local var mnt opt root home srv; do
	mkdir -p "$dir/upper/$d" "$dir/work/$d"
	mount -t overlay "sandbox-${d#*/}" -o "lowerdir=/$d,upperdir=$dir/upper/$d,workdir=$dir/work/$d" "/$d"
done
# What a boot starts empty. /run/sandbox is bound before /tmp is covered,
# because DIR usually lives under the host's /tmp.
mount -t tmpfs -o mode=0755 sandbox-run /run
mkdir -p /run/sandbox /run/lock
mount --bind "$dir/shared" /run/sandbox
mount -t tmpfs -o mode=1777 sandbox-tmp /tmp
mount -t tmpfs -o mode=1777 sandbox-shm /dev/shm
# Everything else read-only, for this namespace only (a bind remount changes
# this mount's flags, not the file system's): a write outside the
# directories above fails with EROFS instead of reaching the host.
mount -o remount,bind,ro /
mount --bind /proc/sys /proc/sys
mount -o remount,bind,ro /proc/sys
mount -o remount,bind,ro /sys

# systemd's part of a boot: start what an earlier boot enabled.
/run/sandbox/bin/systemctl --sandbox-boot
echo ready
exec /bin/sleep infinity
