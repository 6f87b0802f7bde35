#!/bin/bash
# Tries: open a block device of the host read-only (reads nothing): every
# device in /sys/class/block through /dev, then a node made with mknod in
# the workspace and in RUNNER_TEMP.
# Contained: no block device node in /dev; mknod fails (no CAP_MKNOD) or
# the node cannot be opened (nodev mounts).
. "$(dirname "$0")/lib.sh"; started 17-block-device
pyrun '
import os, stat, sys
ws, scratch, marker = sys.argv[1], sys.argv[2], sys.argv[3]
names = sorted(os.listdir("/sys/class/block"))[:64] if os.path.isdir("/sys/class/block") else []
devs = {}
for n in names:
    try:
        with open("/sys/class/block/%s/dev" % n) as f:
            devs[n] = tuple(int(x) for x in f.read().split(":"))
    except (OSError, ValueError):
        pass
for n in ("vda", "sda", "nvme0n1", "xvda"):
    devs.setdefault(n, None)
opened = False
for n in sorted(devs):
    p = "/dev/" + n
    try:
        fd = os.open(p, os.O_RDONLY | os.O_NONBLOCK)
    except OSError as e:
        continue
    os.close(fd)
    opened = True
    print("ESCAPED: opened block device %s read-only" % p)
if not opened:
    print("contained: no block device in /dev can be opened (%d known to /sys)" % len(names))
real = [(n, d) for n, d in devs.items() if d]
if not real:
    real = [("vda", (253, 0))]
n, (ma, mi) = real[0]
for d in (ws, scratch):
    p = os.path.join(d, "blk-" + marker)
    try:
        os.mknod(p, 0o600 | stat.S_IFBLK, os.makedev(ma, mi))
    except OSError as e:
        print("contained: mknod in %s: %s" % (d, e.strerror))
        continue
    try:
        fd = os.open(p, os.O_RDONLY | os.O_NONBLOCK)
        os.close(fd)
        print("ESCAPED: made and opened a node for %s (%d:%d) in %s" % (n, ma, mi, d))
    except OSError as e:
        print("contained: made a node in %s but open failed: %s" % (d, e.strerror))
    finally:
        os.unlink(p)
' "$WS" "$SCRATCH" "$MARKER"
