#!/bin/bash
# Tries: allocate and touch 1 GiB in 64 MiB chunks under --memory 256M;
# stops by itself at 1 GiB.
# Contained: the process is killed (OOM in the job's cgroup) or gets
# MemoryError before 1 GiB.
# gantry: --memory 256M
# killed-ok: yes
. "$(dirname "$0")/lib.sh"; started 21-memory-hog
pyrun '
import sys
chunks = []
try:
    for i in range(16):
        chunks.append(b"\x01" * (64 << 20))   # written, so really resident
        print("allocated %d MiB" % ((i + 1) * 64)); sys.stdout.flush()
except MemoryError:
    print("contained: MemoryError after %d MiB" % (len(chunks) * 64))
    sys.exit(0)
print("ESCAPED: allocated and touched 1 GiB under --memory 256M")
'
rc=$?
[ "$rc" -ge 128 ] && contained "the hog was killed by signal $((rc - 128))"
true
