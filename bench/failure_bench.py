#!/usr/bin/env python3
"""failure_bench: time from a node's death to its detection, and to the gang running again
from its checkpoint.

Per trial: batond (SQLite, default node timeouts: not-ready 3 s, lost 8 s) and three
agents with one fake GPU each on 127.0.0.1; a 2-task gang whose task 0 writes a checkpoint
every 0.5 s. Once it runs and a checkpoint has been recorded, the machine of task 1 "dies":
its agent and its task's process group get SIGKILL at the same instant. Measured:
  detect_s   kill -> the attempt's end time as recorded by batond (node lost)
  running_s  kill -> both tasks of attempt 2 started (their own clock readings) and the
             job reported RUNNING; attempt 2 must carry BATON_RESUME_FROM.
All processes share this machine's clock, so the differences are direct. Waits poll with
deadlines. The last line is one JSON object with every trial and the worst case.
"""

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import shutil
from datetime import datetime

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, ".."))

TASK = r'''
import os, signal, sys, time
ledger = sys.argv[1]
a, t = os.environ["BATON_ATTEMPT"], os.environ["BATON_TASK_INDEX"]
with open(os.path.join(ledger, "starts"), "a") as f:
    f.write(f"{a} {t} {os.environ['BATON_NODE']} {os.getpid()} {time.time():.6f} "
            f"{os.environ.get('BATON_RESUME_FROM', '-')}\n")
signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
ck = os.environ["BATON_CHECKPOINT_DIR"]
step = 0
while True:
    if t == "0":
        step += 1
        tmp = os.path.join(ck, ".tmp")
        open(tmp, "w").write(str(step))
        os.rename(tmp, os.path.join(ck, f"a{a}-step-{step:06d}"))
    time.sleep(0.5)
'''


def wait_for(what, fn, timeout=60, interval=0.02):
    end = time.monotonic() + timeout
    while True:
        v = fn()
        if v:
            return v
        if time.monotonic() > end:
            raise TimeoutError(f"timed out waiting for {what}")
        time.sleep(interval)


def ts(s):
    """RFC 3339 (protobuf JSON) -> seconds since the epoch."""
    s = s.rstrip("Z")
    frac = ""
    if "." in s:
        s, frac = s.split(".")
    t = datetime.strptime(s, "%Y-%m-%dT%H:%M:%S").replace(
        tzinfo=__import__("datetime").timezone.utc).timestamp()
    return t + (float("0." + frac) if frac else 0.0)


def trial(bin_dir, n):
    """One trial; its processes are stopped whatever happens."""
    procs = []
    try:
        return run_trial(bin_dir, n, procs)
    finally:
        for p in procs:
            if p.poll() is None:
                p.terminate()
        for p in procs:
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()


def run_trial(bin_dir, n, procs):
    tmp = tempfile.mkdtemp(prefix="baton-failure-bench-")
    ledger = os.path.join(tmp, "ledger")
    os.makedirs(ledger)
    # Tasks run as the agents' service user (nobody), not root.
    os.chmod(tmp, 0o755)
    os.chmod(ledger, 0o1777)
    task_py = os.path.join(tmp, "task.py")
    open(task_py, "w").write(TASK)
    port_file = os.path.join(tmp, "port")
    bd = subprocess.Popen([os.path.join(bin_dir, "batond"), "--data-dir", os.path.join(tmp, "d"),
                           "--listen", "127.0.0.1:0", "--http", "", "--port-file", port_file,
                           "--plaintext"],
                          stdout=open(os.path.join(tmp, "batond.log"), "w"),
                          stderr=subprocess.STDOUT)
    procs.append(bd)
    wait_for("port", lambda: os.path.exists(port_file))
    port = int(open(port_file).read())
    data = os.path.join(tmp, "d")  # batond wrote its bootstrap tokens here
    env = dict(os.environ, BATON_SERVER=f"127.0.0.1:{port}",
               BATON_TOKEN=open(os.path.join(data, "admin.token")).read().strip())

    def baton(*a):
        r = subprocess.run([os.path.join(bin_dir, "baton"), a[0], "--output", "json", *a[1:]],
                           capture_output=True, text=True, env=env, timeout=30)
        return [json.loads(l) for l in r.stdout.splitlines() if l.strip()] if r.returncode == 0 else []

    agents = {}
    for name in ("n0", "n1", "n2"):
        agents[name] = subprocess.Popen(
            [os.path.join(bin_dir, "baton-agent"), "--server", f"127.0.0.1:{port}", "--name", name,
             "--fake-gpus", "1xH100", "--data-dir", os.path.join(tmp, name), "--log-listen", "",
             "--token-file", os.path.join(data, "agent.token")],
            stdout=open(os.path.join(tmp, f"{name}.log"), "w"), stderr=subprocess.STDOUT)
        procs.append(agents[name])
    wait_for("agents", lambda: sum(x.get("state") == "NODE_STATE_READY" for x in baton("nodes")) == 3)
    job = baton("run", "--nodes", "2", "--max-attempts", "3", "--", sys.executable, task_py,
                ledger)[0]["id"]

    def show():
        r = baton("show", job)
        return r[0] if r else {}
    wait_for("running with a checkpoint",
             lambda: show().get("state") == "JOB_STATE_RUNNING" and "checkpoint" in show())

    def starts():
        p = os.path.join(ledger, "starts")
        return [l.split() for l in open(p)] if os.path.exists(p) else []
    victim = [s for s in starts() if s[0] == "1" and s[1] == "1"][0]
    node, pid = victim[2], int(victim[3])
    t_kill = time.time()
    agents[node].kill()  # the agent first, so it cannot report its task's death
    os.killpg(pid, signal.SIGKILL)
    # Detection: batond ends attempt 1 (node lost) at this time.
    j = wait_for("attempt 1 ended", lambda: (lambda s: s if s.get("attempts") and
                 s["attempts"][0].get("end_time") else None)(show()), timeout=60)
    detect = ts(j["attempts"][0]["end_time"]) - t_kill
    # Running again: both tasks of attempt 2 started and the job reports RUNNING.
    wait_for("attempt 2 running", lambda: (lambda s: s.get("state") == "JOB_STATE_RUNNING" and
             len(s.get("attempts", [])) == 2)(show()), timeout=60)
    t_seen_running = time.time()
    second = wait_for("attempt 2's tasks in the ledger",
                      lambda: (lambda l: l if len(l) == 2 else None)(
                          [s for s in starts() if s[0] == "2"]))
    started = max(float(s[4]) for s in second)
    resumed = {s[5] for s in second}
    assert "-" not in resumed, f"attempt 2 did not get BATON_RESUME_FROM: {second}"
    final = show()
    result = {"trial": n, "detect_s": round(detect, 3), "running_s": round(started - t_kill, 3),
              "running_seen_by_client_s": round(t_seen_running - t_kill, 3),
              "resumed_from": sorted(resumed)[0].split("/")[-1],
              "work_lost_s": final["attempts"][0].get("work_lost_s", 0),
              "end_reason": final["attempts"][0].get("end_reason")}
    for p in procs:
        if p.poll() is None:
            p.terminate()
    for p in procs:
        try:
            p.wait(timeout=20)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
    for s in starts():  # leftovers of killed/stopped tasks
        try:
            os.killpg(int(s[3]), signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
    shutil.rmtree(tmp, ignore_errors=True)
    return result


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--trials", type=int, default=3)
    ap.add_argument("--bin", default=os.environ.get("BATON_BIN_DIR", os.path.join(ROOT, "build/bin")))
    args = ap.parse_args()
    results = []
    for n in range(1, args.trials + 1):
        r = trial(args.bin, n)
        print(json.dumps(r), flush=True)
        results.append(r)
    print(json.dumps({"trials": len(results),
                      "detect_s_max": max(r["detect_s"] for r in results),
                      "running_s_max": max(r["running_s"] for r in results),
                      "detect_target_s": 10, "running_target_s": 30}))


if __name__ == "__main__":
    main()
