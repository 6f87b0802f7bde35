#!/usr/bin/env python3
"""Generate the workflows that bench/run measures.

    bench/gen.py DIR        write DIR/plan.yml, DIR/steps-bash.yml,
                            DIR/steps-sh.yml, DIR/jobs.yml and DIR/probe.yml

plan.yml        256 jobs, each with a 4x4 matrix (4,096 job instances), a
                needs graph (job i needs job i//2, a binary tree 8 levels deep),
                env, an `if:` and three steps that use matrix and env in
                expressions: what planning a large real workflow looks like.
steps-bash.yml  one job of 1,000 `run: "true"` steps, default shell (bash).
steps-sh.yml    the same with `defaults: run: shell: sh`, to compare fairly
                with a loop of `sh -c true`.
jobs.yml        100 jobs of one `run: "true"` step each (shell sh), each
                needing the one before it (a chain), so that the jobs run one
                after another even without `--jobs 1`: the sandbox's per-job
                set-up cost, strict against off.
probe.yml       one job of one `run: "true"` step: bench/run's check that a
                configuration runs at all before it is measured.

For (4) checkout, bench/run also calls:
make_repo(BARE)         a bare repository of 10,000 small files in 100
                        folders and 1,000 commits on main (the first adds
                        every file, each later one changes 5), written by
                        one `git fast-import` stream in about 2 s.
add_commit(BARE, N)     one more commit on main changing 5 files, as a push
                        would leave it; returns its SHA.
checkout_workflow(URL)  one job, one step `uses: actions/checkout@v4` of
                        owner/name from github-server-url URL.
    bench/gen.py --repo BARE    only write that repository, to look at it

The generator is deterministic: the same files on every machine.
"""
import os
import subprocess
import sys

PLAN_JOBS = 256
MATRIX_OS = ["ubuntu-22.04", "ubuntu-24.04", "debian-12", "fedora-40"]
MATRIX_CC = ["gcc-12", "gcc-13", "clang-17", "clang-18"]
STEP_COUNT = 1000
JOB_COUNT = 100
REPO_FILES = 10000
REPO_DIRS = 100
REPO_COMMITS = 1000
FILES_PER_COMMIT = 5
REPO_NAME = "owner/name"


def plan_workflow():
    """256 jobs x 4x4 matrix, with needs, env, if: and expressions."""
    out = []
    out.append("name: bench-plan")
    out.append("on:")
    out.append("  push:")
    out.append("    branches: [main]")
    out.append("  workflow_dispatch:")
    out.append("env:")
    out.append("  GLOBAL_LEVEL: bench")
    out.append("jobs:")
    for i in range(PLAN_JOBS):
        out.append("  job_%03d:" % i)
        out.append("    name: Job %d ${{ matrix.os }} ${{ matrix.cc }}" % i)
        if i > 0:
            out.append("    needs: [job_%03d]" % (i // 2))
        out.append("    runs-on: ubuntu-latest")
        out.append("    if: ${{ github.event_name == 'push' || "
                   "github.event_name == 'workflow_dispatch' }}")
        out.append("    timeout-minutes: 30")
        out.append("    strategy:")
        out.append("      fail-fast: false")
        out.append("      matrix:")
        out.append("        os: [%s]" % ", ".join(MATRIX_OS))
        out.append("        cc: [%s]" % ", ".join(MATRIX_CC))
        out.append("    env:")
        out.append("      JOB_INDEX: \"%d\"" % i)
        out.append("      TARGET: ${{ matrix.os }}-${{ matrix.cc }}")
        out.append("    steps:")
        out.append("      - name: Configure %d" % i)
        out.append("        run: ./configure --cc=${{ matrix.cc }} "
                   "--target=$TARGET")
        out.append("      - name: Build")
        out.append("        if: ${{ matrix.cc != 'gcc-12' }}")
        out.append("        run: |")
        out.append("          make -j4 CC=${{ matrix.cc }}")
        out.append("          echo \"built ${{ env.JOB_INDEX }} on "
                   "${{ matrix.os }}\"")
        out.append("      - name: Test")
        out.append("        env:")
        out.append("          LEVEL: ${{ format('{0}-{1}', env.GLOBAL_LEVEL, "
                   "matrix.os) }}")
        out.append("        run: make check LEVEL=$LEVEL")
    return "\n".join(out) + "\n"


def steps_workflow(shell):
    """One job of STEP_COUNT `run: "true"` steps; shell None means default."""
    out = []
    out.append("name: bench-steps")
    out.append("on: push")
    if shell:
        out.append("defaults:")
        out.append("  run:")
        out.append("    shell: %s" % shell)
    out.append("jobs:")
    out.append("  steps:")
    out.append("    runs-on: ubuntu-latest")
    out.append("    steps:")
    for _ in range(STEP_COUNT):
        out.append("      - run: \"true\"")
    return "\n".join(out) + "\n"


def jobs_workflow(count=JOB_COUNT):
    """count jobs of one `run: "true"` step each, chained by needs."""
    out = []
    out.append("name: bench-jobs")
    out.append("on: push")
    out.append("defaults:")
    out.append("  run:")
    out.append("    shell: sh")
    out.append("jobs:")
    for i in range(count):
        out.append("  job_%03d:" % i)
        out.append("    runs-on: ubuntu-latest")
        if i > 0:
            out.append("    needs: [job_%03d]" % (i - 1))
        out.append("    steps:")
        out.append("      - run: \"true\"")
    return "\n".join(out) + "\n"


def file_path(i):
    """The path of file i: 100 folders of 100 files."""
    return "src/m%02d/f%03d.txt" % (i % REPO_DIRS, i // REPO_DIRS)


def file_data(i, rev):
    """A small file (~250 bytes), different at every revision."""
    text = "file %05d\n" % i
    text += "".join("line %d of file %05d: the quick brown fox jumps\n" %
                    (k, i) for k in range(4))
    if rev:
        text += "revision %d\n" % rev
    return text.encode()


def commit_cmd(ref, n, parent, changes):
    """One fast-import commit of mark :n with (path, data) changes."""
    when = 1700000000 + 60 * n
    msg = b"commit %d\n" % n
    out = [b"commit %s\nmark :%d\n" % (ref.encode(), n),
           b"author Bench <bench@example.com> %d +0000\n" % when,
           b"committer Bench <bench@example.com> %d +0000\n" % when,
           b"data %d\n%s" % (len(msg), msg)]
    if parent:
        out.append(b"from %s\n" % parent.encode())
    for path, data in changes:
        out.append(b"M 100644 inline %s\ndata %d\n%s\n" %
                   (path.encode(), len(data), data))
    out.append(b"\n")
    return b"".join(out)


def changed_files(n):
    """The FILES_PER_COMMIT files commit n changes (deterministic)."""
    x = n * 2654435761 % (1 << 32)
    out = []
    for _ in range(FILES_PER_COMMIT):
        x = (x * 1103515245 + 12345) % (1 << 31)
        i = x % REPO_FILES
        out.append((file_path(i), file_data(i, n)))
    return out


def repo_stream():
    """The fast-import stream of the whole history of main."""
    first = [(file_path(i), file_data(i, 0)) for i in range(REPO_FILES)]
    out = [commit_cmd("refs/heads/main", 1, None, first)]
    for n in range(2, REPO_COMMITS + 1):
        out.append(commit_cmd("refs/heads/main", n, ":%d" % (n - 1),
                              changed_files(n)))
    return b"".join(out)


def git(args, cwd, data=None):
    """Run git; return its stdout (raises CalledProcessError on failure)."""
    p = subprocess.run(["git"] + args, cwd=cwd, input=data,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       check=True)
    return p.stdout.decode().strip()


def make_repo(bare):
    """Write the bench's repository as the bare repository bare; return
    the SHA of main."""
    os.makedirs(bare, exist_ok=True)
    git(["init", "-q", "--bare", "-b", "main", "."], bare)
    git(["fast-import", "--quiet"], bare, repo_stream())
    # one pack with full deltas, as a served repository usually is
    git(["repack", "-a", "-d", "-q"], bare)
    return git(["rev-parse", "refs/heads/main"], bare)


def add_commit(bare, n):
    """Commit n on top of main in bare (as a push would); return its SHA."""
    cmd = commit_cmd("refs/heads/main", n, "refs/heads/main^0",
                     changed_files(n))
    git(["fast-import", "--quiet"], bare, cmd)
    return git(["rev-parse", "refs/heads/main"], bare)


def checkout_workflow(server_url, repository=REPO_NAME, path=None):
    """One job whose one step is actions/checkout of repository (into the
    workspace, or into path inside it)."""
    out = []
    out.append("name: bench-checkout")
    out.append("on: push")
    out.append("jobs:")
    out.append("  checkout:")
    out.append("    runs-on: ubuntu-latest")
    out.append("    steps:")
    out.append("      - uses: actions/checkout@v4")
    out.append("        with:")
    out.append("          repository: %s" % repository)
    out.append("          github-server-url: %s" % server_url)
    if path:
        out.append("          path: %s" % path)
    return "\n".join(out) + "\n"


def write(path, text):
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)


def generate(folder):
    """Write the five workflows into folder; return their paths by name."""
    paths = {
        "plan": os.path.join(folder, "plan.yml"),
        "steps-bash": os.path.join(folder, "steps-bash.yml"),
        "steps-sh": os.path.join(folder, "steps-sh.yml"),
        "jobs": os.path.join(folder, "jobs.yml"),
        "probe": os.path.join(folder, "probe.yml"),
    }
    write(paths["plan"], plan_workflow())
    write(paths["steps-bash"], steps_workflow(None))
    write(paths["steps-sh"], steps_workflow("sh"))
    write(paths["jobs"], jobs_workflow())
    write(paths["probe"], jobs_workflow(1))
    return paths


def main(argv):
    if len(argv) == 3 and argv[1] == "--repo":
        print("main %s" % make_repo(argv[2]))
        return 0
    if len(argv) != 2:
        sys.stderr.write("usage: bench/gen.py DIR | --repo BARE\n")
        return 2
    os.makedirs(argv[1], exist_ok=True)
    for name, path in generate(argv[1]).items():
        print("%-11s %s" % (name, path))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
