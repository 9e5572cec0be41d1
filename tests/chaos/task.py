"""One chaos task: records its start, holds its GPUs, sleeps a little, exits 0.

Run by the agents as every task of the chaos workload (tests/chaos/chaos.py). It proves
two invariants from the inside:
  - every start appends "job attempt task node pid" to <ledger>/starts (O_APPEND, one
    short write, so lines never interleave): a (job, attempt, task) that appears twice was
    started twice;
  - for every GPU it was given (CUDA_VISIBLE_DEVICES on BATON_NODE) it takes an exclusive,
    non-blocking flock on <ledger>/gpu.<node>.<index>, held until the process dies (a
    SIGKILL releases it too). Failing to get one means another live process holds that
    GPU: a double allocation, appended to <ledger>/violations.
It also writes a checkpoint file (rename into place) so restarts resume from something.
With a third argument P it exits 3 with probability P (a failing task, to exercise
restarts: in place for the chaos workload's non-gang jobs).
"""

import fcntl
import os
import random
import sys
import time


def main():
    ledger = sys.argv[1]
    seconds = float(sys.argv[2])
    job = os.environ.get("BATON_JOB_ID", "?")
    attempt = os.environ.get("BATON_ATTEMPT", "?")
    task = os.environ.get("BATON_TASK_INDEX", "?")
    node = os.environ.get("BATON_NODE", "?")
    line = f"{job} {attempt} {task} {node} {os.getpid()}\n"
    fd = os.open(os.path.join(ledger, "starts"), os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    os.write(fd, line.encode())
    os.close(fd)
    held = []
    for gpu in filter(None, os.environ.get("CUDA_VISIBLE_DEVICES", "").split(",")):
        f = open(os.path.join(ledger, f"gpu.{node}.{gpu}"), "a")
        try:
            fcntl.flock(f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            vfd = os.open(os.path.join(ledger, "violations"),
                          os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
            os.write(vfd, f"double-allocation node={node} gpu={gpu} job={job} "
                          f"attempt={attempt} task={task}\n".encode())
            os.close(vfd)
        held.append(f)
    ckdir = os.environ.get("BATON_CHECKPOINT_DIR")
    if ckdir and task == "0":
        tmp = os.path.join(ckdir, f".a{attempt}.tmp")
        with open(tmp, "w") as f:
            f.write(f"attempt {attempt}\n")
        os.rename(tmp, os.path.join(ckdir, f"attempt-{attempt}"))
    fail = float(sys.argv[3]) if len(sys.argv) > 3 else 0.0
    time.sleep(seconds * random.uniform(0.5, 1.5))
    return 3 if random.random() < fail else 0


if __name__ == "__main__":
    sys.exit(main())
