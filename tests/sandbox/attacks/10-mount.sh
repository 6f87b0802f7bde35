#!/bin/bash
# Tries: mount a tmpfs and a bind mount of / (then unmounts at once), and
# remount the read-only root read-write.
# Contained: EPERM (no CAP_SYS_ADMIN, seccomp denies mount).
. "$(dirname "$0")/lib.sh"; started 10-mount
m=$SCRATCH/mnt-$MARKER
mkdir -p "$m"
if timeout 10 mount -t tmpfs none "$m" 2>/dev/null; then
	umount "$m"; escaped "mounted a tmpfs"
else
	contained "mount -t tmpfs failed"
fi
if timeout 10 mount --bind / "$m" 2>/dev/null; then
	umount "$m"; escaped "bind-mounted /"
else
	contained "mount --bind failed"
fi
# only where / is read-only: never touch a writable host root
if awk '$5 == "/" && $6 ~ /^ro(,|$)/ {f = 1} END {exit !f}' /proc/self/mountinfo 2>/dev/null; then
	if timeout 10 mount -o remount,rw / 2>/dev/null; then
		escaped "remounted / read-write"
	else
		contained "remount of / failed"
	fi
else
	echo "note: / is writable here: remount not tried"
fi
rmdir "$m" 2>/dev/null
