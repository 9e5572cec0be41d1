#!/usr/bin/env python3
"""Chaos harness: a bounded, seeded run of batond + agents on 127.0.0.1 under faults.

While a submitter keeps submitting small jobs (tests/chaos/task.py, some of them 2-task
gangs), a seeded fault injector
  - kills batond with SIGKILL at random moments and restarts it on the same data,
  - kills agents with SIGKILL and restarts them (the new agent kills what the old one left),
  - pauses batond or an agent with SIGSTOP for a while, then SIGCONT.
When the time is up the faults stop, every process is brought back, and the harness waits
(bounded) for the acknowledged jobs to finish. Then it checks invariants against its
model — the set of job ids the control plane acknowledged (a submit that returned an id):
  - jobs_lost: acknowledged jobs the control plane no longer knows (must be 0);
  - duplicate_attempts: a (job, attempt, task) started more than once (task.py's ledger);
  - double_allocations: a GPU held by two live processes at once (task.py's flocks);
  - unknown_attempts: a start of an attempt the job's record does not have (a start the
    control plane sent before the record explaining it was durable).
Jobs still running or pending at the end are "tracked" (not lost) and reported.

The last line printed is one JSON object with the faults injected and the counts above;
the exit status is 0 when every invariant holds. Nothing sleeps to synchronise with the
system under test: every wait polls a condition with a deadline; the fault schedule is
drawn from the seed (the system's own timing still varies run to run).

--store picks the control plane's store. Only `sqlite` is implemented here; an etcd mode
(a 3-member etcd on 127.0.0.1 and a fault that kills its leader) plugs in as another
Store class below (see `STORES`).
"""

import argparse
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "../.."))


def wait_for(what, fn, timeout, interval=0.05):
    end = time.monotonic() + timeout
    while True:
        v = fn()
        if v:
            return v
        if time.monotonic() > end:
            raise TimeoutError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


class SqliteStore:
    """batond's embedded store: state.db in batond's data directory."""
    name = "sqlite"

    def __init__(self, tmp):
        self.tmp = tmp

    def batond_flags(self):
        return ["--store", "sqlite"]

    def faults(self):
        """Fault kinds of the store itself (an etcd mode adds "kill_etcd_leader")."""
        return []  # nothing of its own to break: it dies with batond

    def inject(self, kind, rng, stop):
        """Injects one of faults(); `stop` is a threading.Event to wait on."""
        raise ValueError(f"sqlite store has no fault {kind!r}")

    def stop(self):
        pass


STORES = {"sqlite": SqliteStore}


class Cluster:
    def __init__(self, args, tmp, store):
        self.args = args
        self.bin = args.bin
        self.tmp = tmp
        self.store = store
        self.data = os.path.join(tmp, "batond")
        self.port = None
        self.batond = None
        self.agents = {}
        self.paused = set()
        self.lock = threading.Lock()

    # -- processes --------------------------------------------------------------------
    def start_batond(self):
        port_file = os.path.join(self.tmp, "batond.port")
        if os.path.exists(port_file):
            os.remove(port_file)
        log = open(os.path.join(self.tmp, "batond.log"), "ab")
        self.batond = subprocess.Popen(
            [os.path.join(self.bin, "batond"), "--data-dir", self.data,
             "--listen", f"127.0.0.1:{self.port or 0}", "--http", "",
             "--port-file", port_file, "--node-not-ready-after", "1",
             "--node-lost-after", str(self.args.lost_after), *self.store.batond_flags()],
            stdout=log, stderr=subprocess.STDOUT)
        wait_for("batond's port file",
                 lambda: os.path.exists(port_file) or self._exited(self.batond, "batond"), 30)
        with open(port_file) as f:
            self.port = int(f.read())

    def _exited(self, p, what):
        if p.poll() is not None:
            raise RuntimeError(f"{what} exited with {p.returncode}; see {self.tmp}")
        return False

    def start_agent(self, name):
        log = open(os.path.join(self.tmp, f"agent-{name}.log"), "ab")
        self.agents[name] = subprocess.Popen(
            [os.path.join(self.bin, "baton-agent"), "--server", f"127.0.0.1:{self.port}",
             "--name", name, "--fake-gpus", f"{self.args.gpus}xH100",
             "--data-dir", os.path.join(self.tmp, f"agent-{name}"), "--log-listen", ""],
            stdout=log, stderr=subprocess.STDOUT, cwd=ROOT)

    def kill(self, p):
        if p.poll() is None:
            p.send_signal(signal.SIGCONT)
            p.kill()
        p.wait()

    def stop_all(self):
        procs = list(self.agents.values()) + ([self.batond] if self.batond else [])
        for p in procs:
            if p.poll() is None:
                p.send_signal(signal.SIGCONT)
                p.send_signal(signal.SIGTERM)
        for p in procs:
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        self.store.stop()

    # -- the CLI ----------------------------------------------------------------------
    def baton(self, *args, timeout=10):
        env = dict(os.environ, BATON_SERVER=f"127.0.0.1:{self.port}")
        return subprocess.run([os.path.join(self.bin, "baton"), *args], capture_output=True,
                              text=True, env=env, timeout=timeout, cwd=ROOT)

    def jobs(self):
        r = self.baton("ps", "--all", "--output", "json", timeout=30)
        if r.returncode != 0:
            return None
        return {j["id"]: j for j in map(json.loads, filter(str.strip, r.stdout.splitlines()))}

    def nodes_ready(self):
        r = self.baton("nodes", "--output", "json")
        if r.returncode != 0:
            return 0
        return sum(json.loads(l).get("state") == "NODE_STATE_READY"
                   for l in r.stdout.splitlines() if l.strip())


class Chaos:
    def __init__(self, args):
        self.args = args
        self.rng = random.Random(args.seed)
        self.tmp = tempfile.mkdtemp(prefix="baton-chaos-")
        self.ledger = os.path.join(self.tmp, "ledger")
        os.makedirs(self.ledger)
        # Tasks run as the agents' service user (nobody), not root.
        os.chmod(self.tmp, 0o755)
        os.chmod(self.ledger, 0o1777)
        self.store = STORES[args.store](self.tmp)
        self.c = Cluster(args, self.tmp, self.store)
        self.acked = []
        self.submit_errors = 0
        self.faults = {}
        self.stop = threading.Event()

    def fault(self, kind):
        self.faults[kind] = self.faults.get(kind, 0) + 1

    # -- workload ---------------------------------------------------------------------
    def submitter(self):
        rng = random.Random(self.args.seed + 1)
        while not self.stop.is_set():
            gang = rng.random() < 0.25
            flags = ["--max-attempts", "20", "--gpus", "1"]
            if gang:
                flags += ["--nodes", "2"]
            try:
                r = self.c.baton("run", "--output", "json", *flags, "--", sys.executable,
                                 os.path.join(HERE, "task.py"), self.ledger,
                                 f"{self.args.task_seconds:.2f}")
            except subprocess.TimeoutExpired:
                r = None
            if r is not None and r.returncode == 0:
                self.acked.append(json.loads(r.stdout.splitlines()[0])["id"])
            else:
                self.submit_errors += 1  # not acknowledged: not in the model
            self.stop.wait(rng.uniform(0.1, 0.6))

    # -- faults -----------------------------------------------------------------------
    def inject(self):
        c = self.c
        kinds = ["kill_batond", "kill_agent", "pause_agent", "pause_batond"]
        kinds += self.store.faults()
        kind = self.rng.choice(kinds)
        name = self.rng.choice(sorted(c.agents))
        if kind == "kill_batond":
            c.kill(c.batond)
            self.stop.wait(self.rng.uniform(0, 1.5))
            c.start_batond()
        elif kind == "kill_agent":
            c.kill(c.agents[name])
            self.stop.wait(self.rng.uniform(0, 2 * self.args.lost_after))
            c.start_agent(name)
        elif kind == "pause_agent":
            p = c.agents[name]
            p.send_signal(signal.SIGSTOP)
            self.stop.wait(self.rng.uniform(0.5, 2 * self.args.lost_after))
            p.send_signal(signal.SIGCONT)
        elif kind == "pause_batond":
            c.batond.send_signal(signal.SIGSTOP)
            self.stop.wait(self.rng.uniform(0.5, 3))
            c.batond.send_signal(signal.SIGCONT)
        else:
            self.store.inject(kind, self.rng, self.stop)
        self.fault(kind)

    # -- the run ----------------------------------------------------------------------
    def run(self):
        c = self.c
        c.start_batond()
        for i in range(self.args.agents):
            c.start_agent(f"n{i}")
        wait_for("agents ready", lambda: c.nodes_ready() == self.args.agents, 60)
        sub = threading.Thread(target=self.submitter, daemon=True)
        sub.start()
        end = time.monotonic() + self.args.seconds
        while time.monotonic() < end:
            self.stop.wait(self.rng.uniform(1, 4))
            if time.monotonic() >= end:
                break
            self.inject()
        self.stop.set()
        sub.join(timeout=30)
        # Everything back up, then let the acknowledged work finish.
        if c.batond.poll() is not None:
            c.start_batond()
        for name, p in list(c.agents.items()):
            if p.poll() is not None:
                c.start_agent(name)
            else:
                p.send_signal(signal.SIGCONT)
        c.batond.send_signal(signal.SIGCONT)
        settled = {}

        def all_done():
            jobs = c.jobs()
            if jobs is None:
                return False
            settled.clear()
            settled.update(jobs)
            return all(jobs.get(j, {}).get("state") in TERMINAL for j in self.acked)
        try:
            wait_for("acknowledged jobs to finish", all_done, self.args.settle_seconds,
                     interval=0.5)
        except TimeoutError:
            pass
        return self.check(settled)

    def check(self, jobs):
        starts = {}
        with open(os.path.join(self.ledger, "starts")) if os.path.exists(
                os.path.join(self.ledger, "starts")) else open(os.devnull) as f:
            for line in f:
                parts = line.split()
                if len(parts) == 5:
                    key = (parts[0], int(parts[1]), parts[2])
                    starts[key] = starts.get(key, 0) + 1
        duplicates = sum(n - 1 for n in starts.values() if n > 1)
        unknown = sum(1 for (job, attempt, _task) in starts
                      if job in jobs and len(jobs[job].get("attempts", [])) < attempt)
        vpath = os.path.join(self.ledger, "violations")
        doubles = len(open(vpath).read().splitlines()) if os.path.exists(vpath) else 0
        lost = [j for j in self.acked if j not in jobs]
        terminal = [j for j in self.acked if jobs.get(j, {}).get("state") in TERMINAL]
        states = {}
        for j in self.acked:
            s = jobs.get(j, {}).get("state", "LOST").replace("JOB_STATE_", "").lower()
            states[s] = states.get(s, 0) + 1
        result = {
            "seed": self.args.seed, "seconds": self.args.seconds, "store": self.args.store,
            "faults": self.faults, "faults_total": sum(self.faults.values()),
            "jobs_acknowledged": len(self.acked), "submits_refused": self.submit_errors,
            "jobs_terminal": len(terminal),
            "jobs_tracked_not_terminal": len(self.acked) - len(terminal) - len(lost),
            "job_states": states, "task_starts": sum(starts.values()),
            "jobs_lost": len(lost), "duplicate_attempts": duplicates,
            "double_allocations": doubles, "unknown_attempts": unknown,
        }
        result["ok"] = (not lost and duplicates == 0 and doubles == 0 and unknown == 0 and
                        len(self.acked) > 0)
        if lost:
            result["lost_ids"] = lost[:20]
        return result


TERMINAL = ("JOB_STATE_SUCCEEDED", "JOB_STATE_FAILED", "JOB_STATE_CANCELLED")


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seed", type=int, default=int(os.environ.get("CHAOS_SEED", "1")))
    p.add_argument("--seconds", type=float, default=float(os.environ.get("CHAOS_SECONDS", "60")))
    p.add_argument("--store", choices=sorted(STORES), default="sqlite")
    p.add_argument("--agents", type=int, default=3)
    p.add_argument("--gpus", type=int, default=2, help="fake GPUs per agent")
    p.add_argument("--lost-after", type=float, default=3, help="batond --node-lost-after")
    p.add_argument("--task-seconds", type=float, default=1.0)
    p.add_argument("--settle-seconds", type=float, default=90)
    p.add_argument("--bin", default=os.environ.get("BATON_BIN_DIR",
                                                   os.path.join(ROOT, "build/bin")))
    p.add_argument("--keep", action="store_true", help="keep the temporary directory")
    args = p.parse_args()
    if args.seconds <= 0 or args.agents < 2:
        p.error("--seconds must be positive and --agents at least 2 (gangs need two)")
    chaos = Chaos(args)
    ok = False
    try:
        result = chaos.run()
        ok = result["ok"]
    except Exception as e:  # a harness failure is a failed run, with the reason
        result = {"seed": args.seed, "error": str(e), "ok": False}
    finally:
        chaos.c.stop_all()
        if ok and not args.keep:
            shutil.rmtree(chaos.tmp, ignore_errors=True)
        else:
            print(f"chaos: kept {chaos.tmp}", file=sys.stderr)
    print(json.dumps(result, sort_keys=True))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
