#!/usr/bin/python3
"""Runs examples/ddp/train.py as baton would, without baton: 2 tasks x 2 ranks = 4 processes.

Each process gets exactly the environment baton's agent sets for a gang job with tasks: 2 and
ranks_per_task: 2 (WORLD_SIZE, RANK = NODE_RANK * 2 + LOCAL_RANK, LOCAL_RANK,
LOCAL_WORLD_SIZE, NODE_RANK, MASTER_ADDR, MASTER_PORT, BATON_JOB_ID, BATON_ATTEMPT,
BATON_CHECKPOINT_DIR). Like the agent, when one rank fails the launcher stops the others.

Scenarios:
  1. a clean run exits 0 on every rank and leaves a checkpoint;
  2. attempt 1 with --fail-at-step dies (rank 0 exits 3); attempt 2 with the same command
     resumes from the last checkpoint, completes, and ends with the same loss as scenario 1
     (resume is exact, not approximate).

Usage: /usr/bin/python3 tests/ddp/run_local.py   (exit 0 pass, 1 fail, 77 skip: no torch)
"""

import os
import queue
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time

SKIP = 77
PYTHON = "/usr/bin/python3"
HERE = os.path.dirname(os.path.abspath(__file__))
TRAIN = os.path.join(HERE, "..", "..", "examples", "ddp", "train.py")
TASKS = 2
RANKS_PER_TASK = 2
STEPS = 200
CHECKPOINT_EVERY = 25
FAIL_AT = 110  # between checkpoints: attempt 2 must redo steps 100..110
LAUNCH_TIMEOUT_S = 120


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def launch(workdir, name, ckpt_dir, attempt, extra_args):
    """Starts all ranks; returns {rank: (exit code, output)} once every rank has ended."""
    port = free_port()
    procs = {}
    logs = {}
    for node_rank in range(TASKS):
        for local_rank in range(RANKS_PER_TASK):
            rank = node_rank * RANKS_PER_TASK + local_rank
            env = dict(os.environ)
            env.update({
                "WORLD_SIZE": str(TASKS * RANKS_PER_TASK),
                "RANK": str(rank),
                "LOCAL_RANK": str(local_rank),
                "LOCAL_WORLD_SIZE": str(RANKS_PER_TASK),
                "NODE_RANK": str(node_rank),
                "MASTER_ADDR": "127.0.0.1",
                "MASTER_PORT": str(port),
                "BATON_JOB_ID": f"local-{name}",
                "BATON_ATTEMPT": str(attempt),
                "BATON_CHECKPOINT_DIR": ckpt_dir,
            })
            log_path = os.path.join(workdir, f"{name}-attempt{attempt}-rank{rank}.log")
            logs[rank] = log_path
            with open(log_path, "wb") as out:
                procs[rank] = subprocess.Popen(
                    [PYTHON, TRAIN, "--steps", str(STEPS), "--checkpoint-every",
                     str(CHECKPOINT_EVERY)] + extra_args,
                    env=env, stdout=out, stderr=subprocess.STDOUT)

    # One waiter thread per rank reports its exit; the main thread blocks on the queue, so
    # nothing polls or sleeps.
    exits = queue.Queue()
    for rank, p in procs.items():
        threading.Thread(target=lambda r=rank, p=p: exits.put((r, p.wait())), daemon=True).start()
    codes = {}
    deadline = time.monotonic() + LAUNCH_TIMEOUT_S
    while len(codes) < len(procs):
        try:
            rank, code = exits.get(timeout=max(0.0, deadline - time.monotonic()))
        except queue.Empty:
            print(f"{name}: timed out after {LAUNCH_TIMEOUT_S}s; killing the gang")
            for p in procs.values():
                p.kill()
            break
        codes[rank] = code
        if code != 0:
            # A gang is only as alive as its every rank: stop the rest, as the agent does.
            for r, p in procs.items():
                if r not in codes:
                    p.terminate()
    for p in procs.values():
        p.wait()
    return {r: (procs[r].returncode, open(logs[r], errors="replace").read()) for r in procs}


def dump(results):
    for rank, (code, out) in sorted(results.items()):
        print(f"----- rank {rank} exit {code} -----\n{out}")


def final_loss(results):
    m = re.search(r"^done: step=(\d+) loss=(\S+)$", results[0][1], re.M)
    return (int(m.group(1)), m.group(2)) if m else None


def check(ok, what, results):
    if not ok:
        print(f"FAIL: {what}")
        dump(results)
        sys.exit(1)
    print(f"ok: {what}")


def main():
    probe = subprocess.run([PYTHON, "-c", "import torch, torch.distributed as d; "
                            "assert d.is_available() and d.is_gloo_available()"],
                           capture_output=True)
    if probe.returncode != 0:
        print(f"SKIP: {PYTHON} cannot import torch with gloo:\n{probe.stderr.decode()}")
        return SKIP

    workdir = tempfile.mkdtemp(prefix="baton-ddp-")
    try:
        began = time.monotonic()
        # 1. A clean run.
        ckpt = os.path.join(workdir, "clean-ckpt")
        clean = launch(workdir, "clean", ckpt, 1, [])
        check(all(code == 0 for code, _ in clean.values()), "clean run: every rank exits 0", clean)
        check(os.path.exists(os.path.join(ckpt, "checkpoint.pt")), "clean run: checkpoint written",
              clean)
        check(not any(".tmp." in n for n in os.listdir(ckpt)),
              "clean run: no temporary checkpoint files left", clean)
        clean_final = final_loss(clean)
        check(clean_final is not None and clean_final[0] == STEPS,
              f"clean run: rank 0 prints done: step={STEPS}", clean)
        print(f"   {time.monotonic() - began:.1f}s so far")

        # 2. Fail on attempt 1, resume on attempt 2 with the same command.
        ckpt = os.path.join(workdir, "resume-ckpt")
        args = ["--fail-at-step", str(FAIL_AT)]
        first = launch(workdir, "resume", ckpt, 1, args)
        check(first[0][0] == 3, "attempt 1: rank 0 exits 3 at --fail-at-step", first)
        check("done:" not in first[0][1], "attempt 1: does not finish", first)
        second = launch(workdir, "resume", ckpt, 2, args)
        check(all(code == 0 for code, _ in second.values()), "attempt 2: every rank exits 0",
              second)
        resumed_at = (FAIL_AT // CHECKPOINT_EVERY) * CHECKPOINT_EVERY
        check(all(f"resumed from step {resumed_at}" in out for _, out in second.values()),
              f"attempt 2: every rank resumed from step {resumed_at}", second)
        check(final_loss(second) == clean_final,
              f"attempt 2: ends like the clean run ({clean_final})", second)
        print(f"PASS in {time.monotonic() - began:.1f}s")
        return 0
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
