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

--store picks the control plane's store. `sqlite`: one batond on state.db in its data
directory. `etcd` (tests/chaos/chaos_etcd.py): a 3-member etcd the harness starts on free
127.0.0.1 ports and --replicas batond processes with leader election on it; agents and the
submitting client are given every replica's address. In etcd mode "kill_batond" and
"pause_batond" hit the replica that leads (a paused leader is deposed while it sleeps and
exits with code 3 when it wakes; the harness restarts exited replicas, as a supervisor
would), and the store adds "kill_etcd_leader": SIGKILL of etcd's raft leader (found with
the maintenance Status API, `etcdctl endpoint status`), restarted on its data a moment
later. A batond that exits by itself other than so is a crash and fails the run.
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
    replicas = 1

    def __init__(self, tmp, wait_for):
        self.tmp = tmp

    def start(self):
        pass

    def batond_flags(self):
        return ["--store", "sqlite"]

    def faults(self):
        """Fault kinds of the store itself (etcd mode adds "kill_etcd_leader")."""
        return []  # nothing of its own to break: it dies with batond

    def inject(self, kind, rng, stop):
        """Injects one of faults(); `stop` is a threading.Event to wait on."""
        raise ValueError(f"sqlite store has no fault {kind!r}")

    def restore(self):
        pass

    def stop(self):
        pass


def _etcd_store(tmp, wait_for):
    from chaos_etcd import EtcdStore  # noqa: E402 (only etcd runs need it)
    return EtcdStore(tmp, wait_for)


STORES = {"sqlite": SqliteStore, "etcd": _etcd_store}


def make_token():
    """A fresh API token in batond's format (baton_<16 hex>_<64 hex>)."""
    return f"baton_{os.urandom(8).hex()}_{os.urandom(32).hex()}"


class Replica:
    """One batond process slot: its data directory, gRPC port and current process."""

    def __init__(self, index, tmp, port):
        self.index = index
        self.data = os.path.join(tmp, f"batond{index}" if index else "batond")
        self.port_file = os.path.join(tmp, f"batond{index}.port")
        self.log = os.path.join(tmp, f"batond{index}.log")
        self.port = port  # 0 until the first start (sqlite); fixed (etcd)
        self.proc = None


class Cluster:
    def __init__(self, args, tmp, store):
        self.args = args
        self.bin = args.bin
        self.tmp = tmp
        self.store = store
        self.ha = store.replicas > 1
        if self.ha:
            from chaos_etcd import free_port  # noqa: E402
            ports = [free_port() for _ in range(store.replicas)]
        else:
            ports = [0]
        self.replicas = [Replica(i, tmp, p) for i, p in enumerate(ports)]
        # Bootstrap tokens chosen here and given to every replica: whichever bootstraps the
        # empty store adopts them, so the CLI and the agents hold tokens every replica accepts.
        self.admin_token, self.agent_token = make_token(), make_token()
        self.admin_token_file = os.path.join(tmp, "admin.token")
        self.agent_token_file = os.path.join(tmp, "agent.token")
        for path, token in ((self.admin_token_file, self.admin_token),
                            (self.agent_token_file, self.agent_token)):
            with open(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600), "w") as f:
                f.write(token + "\n")
        self.agents = {}
        self.crashes = []  # "batond1 exited with 1" for exits nobody caused

    # -- processes --------------------------------------------------------------------
    def start_batond(self, i=0):
        r = self.replicas[i]
        if os.path.exists(r.port_file):
            os.remove(r.port_file)
        log = open(r.log, "ab")
        r.proc = subprocess.Popen(
            [os.path.join(self.bin, "batond"), "--data-dir", r.data,
             "--listen", f"127.0.0.1:{r.port}", "--http", "",
             "--port-file", r.port_file, "--node-not-ready-after", "1",
             "--admin-token-file", self.admin_token_file,
             "--agent-token-file", self.agent_token_file,
             "--node-lost-after", str(self.args.lost_after),
             # Plaintext, as chaos has always run: its faults are process faults, and TLS
             # for replicas on etcd needs an operator's CA (docs/tls.md).
             "--plaintext", *self.store.batond_flags()],
            stdout=log, stderr=subprocess.STDOUT)
        if self.ha:
            return  # a follower never writes its port file; run() waits for a leader
        wait_for("batond's port file",
                 lambda: os.path.exists(r.port_file) or self._exited(r.proc, "batond"), 30)
        with open(r.port_file) as f:
            r.port = int(f.read())

    def _exited(self, p, what):
        if p.poll() is not None:
            raise RuntimeError(f"{what} exited with {p.returncode}; see {self.tmp}")
        return False

    def leader(self):
        """Index of the replica serving gRPC (only the leader writes its port file), or
        None."""
        for r in self.replicas:
            if r.proc is not None and r.proc.poll() is None and os.path.exists(r.port_file):
                return r.index
        return None

    def revive(self):
        """Restarts replicas that exited. Exit code 3 is a deposed etcd leader (expected
        after a pause); any other exit nobody caused is recorded as a crash."""
        for r in self.replicas:
            if r.proc is None or r.proc.poll() is None:
                continue
            code = r.proc.returncode
            if not (self.ha and code == 3):
                self.crashes.append(f"batond{r.index} exited with {code}")
            self.start_batond(r.index)

    def servers(self):
        return ",".join(f"127.0.0.1:{r.port}" for r in self.replicas)

    def start_agent(self, name):
        log = open(os.path.join(self.tmp, f"agent-{name}.log"), "ab")
        self.agents[name] = subprocess.Popen(
            [os.path.join(self.bin, "baton-agent"), "--server", self.servers(),
             "--name", name, "--fake-gpus", f"{self.args.gpus}xH100",
             "--token-file", self.agent_token_file,
             "--data-dir", os.path.join(self.tmp, f"agent-{name}"), "--log-listen", ""],
            stdout=log, stderr=subprocess.STDOUT, cwd=ROOT)

    def kill(self, p):
        if p.poll() is None:
            p.send_signal(signal.SIGCONT)
            p.kill()
        p.wait()

    def stop_all(self):
        procs = list(self.agents.values()) + [r.proc for r in self.replicas if r.proc]
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
        env = dict(os.environ, BATON_SERVER=self.servers(), BATON_TOKEN=self.admin_token,
                   BATON_CREDENTIALS=os.path.join(self.tmp, "no-credentials"))
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
        self.store = STORES[args.store](self.tmp, wait_for)
        if args.store == "etcd":
            self.store.replicas = args.replicas
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
            # A quarter 2-task gangs; a fifth 2-task jobs without gang whose tasks fail now
            # and then (each failed task restarts alone, in place); the rest single tasks.
            kind = rng.random()
            flags = ["--max-attempts", "20", "--gpus", "1"]
            fail = "0"
            if kind < 0.25:
                flags += ["--nodes", "2"]
            elif kind < 0.45:
                flags += ["--nodes", "2", "--no-gang"]
                fail = "0.3"
            try:
                r = self.c.baton("run", "--output", "json", *flags, "--", TASK_PYTHON,
                                 os.path.join(HERE, "task.py"), self.ledger,
                                 f"{self.args.task_seconds:.2f}", fail)
            except subprocess.TimeoutExpired:
                r = None
            if r is not None and r.returncode == 0:
                self.acked.append(json.loads(r.stdout.splitlines()[0])["id"])
            else:
                self.submit_errors += 1  # not acknowledged: not in the model
            self.stop.wait(rng.uniform(0.1, 0.6))

    # -- faults -----------------------------------------------------------------------
    def target_replica(self):
        """The batond a control-plane fault hits: the leader (etcd) or the only one."""
        i = self.c.leader()
        return i if i is not None else self.rng.randrange(len(self.c.replicas))

    def inject(self):
        c = self.c
        c.revive()
        kinds = ["kill_batond", "kill_agent", "pause_agent", "pause_batond"]
        kinds += self.store.faults()
        kind = self.rng.choice(kinds)
        name = self.rng.choice(sorted(c.agents))
        if kind == "kill_batond":
            i = self.target_replica()
            c.kill(c.replicas[i].proc)
            self.stop.wait(self.rng.uniform(0, 1.5))
            c.start_batond(i)
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
            p = c.replicas[self.target_replica()].proc
            p.send_signal(signal.SIGSTOP)
            self.stop.wait(self.rng.uniform(0.5, 3))
            p.send_signal(signal.SIGCONT)
        else:
            self.store.inject(kind, self.rng, self.stop)
        self.fault(kind)

    # -- the run ----------------------------------------------------------------------
    def run(self):
        c = self.c
        self.store.start()
        for i in range(len(c.replicas)):
            c.start_batond(i)
        wait_for("a batond serving", lambda: c.leader() is not None or c.revive(), 60)
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
        self.store.restore()
        for r in c.replicas:
            if r.proc.poll() is None:
                r.proc.send_signal(signal.SIGCONT)
        for name, p in list(c.agents.items()):
            if p.poll() is not None:
                c.start_agent(name)
            else:
                p.send_signal(signal.SIGCONT)
        settled = {}

        def all_done():
            c.revive()  # a leader paused last is deposed and exits when it wakes
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
            "batond_crashes": len(self.c.crashes),
            # Task runs of non-gang jobs that failed and were restarted alone, in place.
            "task_failures_restarted_in_place": sum(
                1 for j in self.acked for r in jobs.get(j, {}).get("task_runs", [])
                if r.get("exit_code", 0) != 0),
        }
        # Tasks must have run at all: a run whose every task failed to start proves nothing.
        result["ok"] = (not lost and duplicates == 0 and doubles == 0 and unknown == 0 and
                        not self.c.crashes and len(self.acked) > 0 and sum(starts.values()) > 0)
        if self.c.crashes:
            result["crashes"] = self.c.crashes[:10]
        if lost:
            result["lost_ids"] = lost[:20]
        return result


TERMINAL = ("JOB_STATE_SUCCEEDED", "JOB_STATE_FAILED", "JOB_STATE_CANCELLED")

# The tasks' interpreter. Agents run tasks as nobody (docs/isolation.md), who cannot enter
# /root, where a pyenv Python (this script's own, often) lives; Debian's is world-readable.
TASK_PYTHON = "/usr/bin/python3" if os.path.exists("/usr/bin/python3") else sys.executable


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seed", type=int, default=int(os.environ.get("CHAOS_SEED", "1")))
    p.add_argument("--seconds", type=float, default=float(os.environ.get("CHAOS_SECONDS", "60")))
    p.add_argument("--store", choices=sorted(STORES), default="sqlite")
    p.add_argument("--replicas", type=int, default=2,
                   help="batond replicas with leader election (--store etcd)")
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
    if args.store == "etcd" and args.replicas < 2:
        p.error("--replicas: at least 2 with --store etcd (one must be able to take over)")
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
