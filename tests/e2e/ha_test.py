"""HA control plane on etcd: two batond replicas, a real etcd started by the test, kill -9.

Each case starts its own etcd (1 or 3 members) on free 127.0.0.1 ports with a temporary
data dir, two `batond --store etcd` replicas and one agent given both replica addresses,
and kills everything by PID at the end. Nothing sleeps to synchronise: every wait polls a
condition with a deadline. Run by ctest as `ha_*` (tests/e2e/CMakeLists.txt).

`python3 tests/e2e/ha_test.py --measure N [MEMBERS]` instead prints N failover times (kill
-9 of the leader -> the other replica serving, -> the first CLI call answered, -> the agent
registered with the new leader) as JSON lines, on an etcd of MEMBERS members (default 1);
bench/results/ha_failover.md records runs.
"""

import ctypes
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from e2e_test import BIN, ROOT, wait_for  # noqa: E402

ETCD = os.environ.get("BATON_ETCD", "/usr/bin/etcd")


def die_with_parent():
    """In the child before exec: SIGKILL it when this test process dies (PR_SET_PDEATHSIG),
    so a test killed by a timeout leaves no etcd or batond behind."""
    ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Etcd:
    """`members` etcd processes on 127.0.0.1, data under tmp."""

    def __init__(self, tmp, members):
        self.tmp = tmp
        self.names = [f"e{i}" for i in range(members)]
        self.client = [f"127.0.0.1:{free_port()}" for _ in self.names]
        self.peer = [f"127.0.0.1:{free_port()}" for _ in self.names]
        self.procs = [None] * members
        for i in range(members):
            self.start(i, "new")
        wait_for("etcd healthy", self.healthy)

    def start(self, i, state):
        initial = ",".join(f"{n}=http://{p}" for n, p in zip(self.names, self.peer))
        with open(os.path.join(self.tmp, f"{self.names[i]}.log"), "ab") as log:
            self.procs[i] = self._popen(i, initial, log, state)

    def _popen(self, i, initial, log, state):
        return subprocess.Popen(
            [ETCD, "--name", self.names[i], "--data-dir",
             os.path.join(self.tmp, f"{self.names[i]}.etcd"),
             "--listen-client-urls", f"http://{self.client[i]}",
             "--advertise-client-urls", f"http://{self.client[i]}",
             "--listen-peer-urls", f"http://{self.peer[i]}",
             "--initial-advertise-peer-urls", f"http://{self.peer[i]}",
             "--initial-cluster", initial, "--initial-cluster-state", state,
             "--initial-cluster-token", "baton-ha", "--logger", "zap", "--log-level", "warn"],
            stdout=log, stderr=subprocess.STDOUT, preexec_fn=die_with_parent)

    def healthy(self):
        r = subprocess.run(["etcdctl", "--endpoints", self.endpoints(), "--command-timeout=1s",
                            "endpoint", "health"], capture_output=True,
                           env=dict(os.environ, ETCDCTL_API="3"))
        return r.returncode == 0 or (len(self.names) > 1 and r.stdout.count(b"is healthy") * 2
                                     > len(self.names))

    def endpoints(self):
        return ",".join(self.client)

    def leader(self):
        """The index of the raft leader member, or None."""
        r = subprocess.run(["etcdctl", "--endpoints", self.endpoints(), "--command-timeout=2s",
                            "endpoint", "status", "-w", "json"], capture_output=True,
                           env=dict(os.environ, ETCDCTL_API="3"))
        try:
            for st in json.loads(r.stdout or b"[]"):
                if st["Status"]["leader"] == st["Status"]["header"]["member_id"]:
                    return self.client.index(st["Endpoint"])
        except (ValueError, KeyError):
            pass
        return None

    def kill(self, i):
        if self.procs[i] and self.procs[i].poll() is None:
            self.procs[i].kill()
            self.procs[i].wait()

    def stop(self):
        for i in range(len(self.procs)):
            self.kill(i)


def make_token():
    """A fresh API token in batond's format (baton_<16 hex>_<64 hex>)."""
    return f"baton_{os.urandom(8).hex()}_{os.urandom(32).hex()}"


class Replicas:
    """Two batond replicas on one etcd, and agents that know both addresses.

    Both replicas get the same bootstrap token files (written here first): whichever
    bootstraps the empty store adopts them, so the CLI and the agents hold tokens that
    every replica accepts."""

    def __init__(self, tmp, etcd, ttl=2):
        self.tmp = tmp
        self.etcd = etcd
        self.ttl = ttl
        self.admin_token, self.agent_token = make_token(), make_token()
        for name, token in (("admin.token", self.admin_token), ("agent.token", self.agent_token)):
            with open(os.open(os.path.join(tmp, name), os.O_WRONLY | os.O_CREAT, 0o600), "w") as f:
                f.write(token + "\n")
        self.ports = [free_port(), free_port()]
        self.procs = [None, None]
        self.agents = []
        self.servers = ",".join(f"127.0.0.1:{p}" for p in self.ports)
        for i in range(2):
            self.start(i)

    def port_file(self, i):
        return os.path.join(self.tmp, f"batond{i}.port")

    def start(self, i):
        if os.path.exists(self.port_file(i)):
            os.remove(self.port_file(i))
        with open(os.path.join(self.tmp, f"batond{i}.log"), "ab") as log:
            self.procs[i] = self._popen(i, log)

    def _popen(self, i, log):
        return subprocess.Popen(
            [os.path.join(BIN, "batond"), "--store", "etcd", "--etcd-endpoints",
             self.etcd.endpoints(), "--election-ttl", str(self.ttl),
             "--listen", f"127.0.0.1:{self.ports[i]}", "--http", "127.0.0.1:0",
             "--port-file", self.port_file(i), "--data-dir", os.path.join(self.tmp, f"d{i}"),
             "--admin-token-file", os.path.join(self.tmp, "admin.token"),
             "--agent-token-file", os.path.join(self.tmp, "agent.token"),
             "--node-not-ready-after", "3", "--node-lost-after", "60",
             # Plaintext: TLS for replicas on etcd needs an operator's CA (docs/tls.md).
             "--plaintext"],
            stdout=log, stderr=subprocess.STDOUT, preexec_fn=die_with_parent)

    def leader(self):
        """The index of the replica serving (it alone writes its port file), or None."""
        for i in range(2):
            if self.procs[i].poll() is None and os.path.exists(self.port_file(i)):
                return i
        return None

    def log(self, i):
        with open(os.path.join(self.tmp, f"batond{i}.log"), errors="replace") as f:
            return f.read()[-3000:]

    def start_agent(self, name):
        with open(os.path.join(self.tmp, f"agent-{name}.log"), "ab") as log:
            self.agents.append(self._agent(name, log))

    def _agent(self, name, log):
        return subprocess.Popen(
            [os.path.join(BIN, "baton-agent"), "--server", self.servers, "--name", name,
             "--token-file", os.path.join(self.tmp, "agent.token"),
             "--fake-gpus", "2xH100", "--data-dir", os.path.join(self.tmp, f"agent-{name}"),
             "--log-listen", "127.0.0.1:0"],
            stdout=log, stderr=subprocess.STDOUT, cwd=ROOT,
            preexec_fn=die_with_parent)

    def baton(self, *args, check=True):
        r = subprocess.run([os.path.join(BIN, "baton"), *args],
                           capture_output=True, text=True, timeout=60, cwd=ROOT,
                           env=dict(os.environ, BATON_SERVER=self.servers,
                                    BATON_TOKEN=self.admin_token,
                                    BATON_CREDENTIALS=os.path.join(self.tmp, "none")))
        if check and r.returncode != 0:
            raise AssertionError(f"baton {' '.join(args)} exited {r.returncode}: "
                                 f"{r.stdout}{r.stderr}")
        return r

    def json(self, *args):
        out = self.baton(args[0], "--output", "json", *args[1:]).stdout
        return [json.loads(line) for line in out.splitlines() if line.strip()]

    def try_json(self, *args):
        try:
            return self.json(*args)
        except AssertionError:
            return None

    def node_ready(self, name):
        nodes = self.try_json("nodes") or []
        return any(n["name"] == name and n.get("state") == "NODE_STATE_READY" for n in nodes)

    def stop(self):
        for p in self.agents + self.procs:
            if p and p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in self.agents + self.procs:
            if p:
                try:
                    p.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()


def failover(r):
    """Kills the leader with SIGKILL; returns (old leader, new leader, seconds to serving,
    seconds to the first CLI call answered)."""
    old = r.leader()
    t0 = time.monotonic()
    r.procs[old].kill()
    r.procs[old].wait()
    new = 1 - old
    wait_for("the other replica serving", lambda: os.path.exists(r.port_file(new)),
             interval=0.01)
    serving = time.monotonic() - t0
    wait_for("a CLI call answered", lambda: r.try_json("ps", "--all") is not None,
             interval=0.01)
    answered = time.monotonic() - t0
    return old, new, serving, answered


class HA(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="baton-ha-")
        # Tasks run as the agents' service user (nobody), not root: like /tmp, anyone may
        # leave files here.
        os.chmod(self.tmp, 0o1777)
        self.etcd = None
        self.r = None

    def tearDown(self):
        if self.r:
            self.r.stop()
        if self.etcd:
            self.etcd.stop()
        if sys.exc_info()[0] is None:
            shutil.rmtree(self.tmp, ignore_errors=True)
        else:
            print(f"kept {self.tmp}", file=sys.stderr)

    def test_kill_9_leader_the_other_takes_over_with_every_acknowledged_job(self):
        self.etcd = Etcd(self.tmp, 1)
        r = self.r = Replicas(self.tmp, self.etcd)
        wait_for("a leader", lambda: r.leader() is not None)
        # The follower serves nothing: its gRPC port is closed, /healthz names the leader.
        follower = 1 - r.leader()
        with self.assertRaises(OSError):
            socket.create_connection(("127.0.0.1", r.ports[follower]), timeout=2).close()
        r.start_agent("a")
        wait_for("agent registered", lambda: r.node_ready("a"))
        trigger = os.path.join(self.tmp, "finish")
        counter = os.path.join(self.tmp, "starts")
        running = r.json("run", "--", "sh", "-c", f"echo started >> {counter}; "
                         f"while [ ! -e {trigger} ]; do sleep 0.05; done")[0]["id"]
        acked = [r.json("run", "--gpus", "2", "--", "true")[0]["id"] for _ in range(5)]
        wait_for("running", lambda: r.json("show", running)[0]["state"] == "JOB_STATE_RUNNING")

        old, new, serving, answered = failover(r)
        print(f"failover: serving after {serving:.2f}s, CLI answered after {answered:.2f}s",
              file=sys.stderr)
        self.assertLess(serving, 5.0, r.log(new))
        ids = {j["id"] for j in r.json("ps", "--all")}
        self.assertTrue({running, *acked} <= ids, f"lost jobs: {set([running, *acked]) - ids}")
        # The agent follows the new leader and the work goes on: nothing started twice.
        wait_for("agent on the new leader", lambda: r.node_ready("a"))
        self.assertEqual(r.json("show", running)[0]["state"], "JOB_STATE_RUNNING")
        open(trigger, "w").close()
        for j in [running, *acked]:
            wait_for(f"job {j} done",
                     lambda j=j: r.json("show", j)[0]["state"] == "JOB_STATE_SUCCEEDED")
        with open(counter) as f:
            self.assertEqual(f.read().count("started"), 1)
        # The killed replica comes back as a follower.
        r.start(old)
        wait_for("old replica up as follower", lambda: "following" in r.log(old))
        self.assertFalse(os.path.exists(r.port_file(old)))

    def test_paused_leader_is_deposed_and_its_writes_fail(self):
        self.etcd = Etcd(self.tmp, 1)
        r = self.r = Replicas(self.tmp, self.etcd)
        wait_for("a leader", lambda: r.leader() is not None)
        old = r.leader()
        job = r.json("run", "--", "true")[0]["id"]
        # SIGSTOP for longer than the lease TTL: the other replica takes over...
        r.procs[old].send_signal(signal.SIGSTOP)
        new = 1 - old
        wait_for("the other replica serving", lambda: os.path.exists(r.port_file(new)))
        # ...and the old one, resumed, finds itself deposed and exits (code 3) without
        # having written anything: the new leader still has exactly the one job.
        r.procs[old].send_signal(signal.SIGCONT)
        self.assertEqual(r.procs[old].wait(timeout=30), 3, r.log(old))
        self.assertIn("leadership lost", r.log(old))
        ids = [j["id"] for j in r.json("ps", "--all")]
        self.assertEqual(ids, [job])

    def test_etcd_without_quorum_refuses_writes_and_drops_nothing(self):
        self.etcd = Etcd(self.tmp, 3)
        r = self.r = Replicas(self.tmp, self.etcd)
        wait_for("a leader", lambda: r.leader() is not None)
        old = r.leader()
        first = r.json("run", "--", "true")[0]["id"]
        self.etcd.kill(1)
        self.etcd.kill(2)
        # A submit now fails with an error, never a silent success: either etcd's error
        # passed on by the leader, or, once the leader could not renew its lease for its TTL
        # plus a grace and stepped down (exit 3, "leadership lost" in its log), no replica
        # serves.
        bad = r.baton("run", "--", "true", check=False)
        self.assertNotEqual(bad.returncode, 0, bad.stdout)
        self.assertRegex(bad.stderr, "etcd|cannot reach the control plane")
        self.assertEqual(r.procs[old].wait(timeout=30), 3, r.log(old))
        self.assertIn("could not renew the lease", r.log(old))
        self.assertFalse(os.path.exists(r.port_file(1 - old)))  # no quorum: nobody leads
        # Quorum back: a replica leads again (the old leader may have been deposed when
        # its lease could not be renewed) and every acknowledged job is there.
        self.etcd.start(1, "existing")
        self.etcd.start(2, "existing")
        for i in range(2):
            if r.procs[i].poll() is not None:
                r.start(i)
        wait_for("a leader again", lambda: r.leader() is not None and
                 r.try_json("ps", "--all") is not None, timeout=90)
        ids = {j["id"] for j in r.json("ps", "--all")}
        self.assertIn(first, ids)
        again = r.json("run", "--", "true")[0]["id"]
        self.assertIn(again, {j["id"] for j in r.json("ps", "--all")})


    def test_etcd_leader_killed_batond_keeps_leading_and_loses_nothing(self):
        self.etcd = Etcd(self.tmp, 3)
        r = self.r = Replicas(self.tmp, self.etcd)
        wait_for("a leader", lambda: r.leader() is not None)
        leader = r.leader()
        acked = [r.json("run", "--", "true")[0]["id"] for _ in range(3)]
        # A one-element list: member 0 is a valid answer, so wait on "not None".
        victim = wait_for("etcd leader known",
                          lambda: [i for i in [self.etcd.leader()] if i is not None])[0]
        self.etcd.kill(victim)
        # Writes come back once etcd has re-elected (submits in between fail, visibly).
        acked.append(wait_for("a submit acknowledged again",
                              lambda: (r.try_json("run", "--", "true") or [{}])[0].get("id")))
        # The same replica still leads: etcd kept its lease through its own election.
        self.assertEqual(r.leader(), leader, r.log(leader))
        self.assertIsNone(r.procs[1 - leader].poll())
        self.assertFalse(os.path.exists(r.port_file(1 - leader)))
        ids = {j["id"] for j in r.json("ps", "--all")}
        self.assertTrue(set(acked) <= ids, f"lost: {set(acked) - ids}")


def measure(n, members):
    for k in range(n):
        tmp = tempfile.mkdtemp(prefix="baton-ha-bench-")
        etcd = Etcd(tmp, members)
        r = Replicas(tmp, etcd)
        try:
            wait_for("a leader", lambda: r.leader() is not None)
            r.start_agent("a")
            wait_for("agent registered", lambda: r.node_ready("a"))
            r.json("run", "--", "true")
            t0 = time.monotonic()
            old, new, serving, answered = failover(r)
            wait_for("agent on the new leader", lambda: r.node_ready("a"), interval=0.01)
            agent = time.monotonic() - t0
            print(json.dumps({"run": k, "etcd_members": members, "ttl_s": r.ttl,
                              "serving_s": round(serving, 3),
                              "cli_answered_s": round(answered, 3),
                              "agent_ready_s": round(agent, 3)}), flush=True)
        finally:
            r.stop()
            etcd.stop()
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    if len(sys.argv) >= 2 and sys.argv[1] == "--measure":
        measure(int(sys.argv[2]) if len(sys.argv) > 2 else 10,
                int(sys.argv[3]) if len(sys.argv) > 3 else 1)
    else:
        unittest.main()
