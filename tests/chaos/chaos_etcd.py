"""The chaos harness's etcd mode: a 3-member etcd on 127.0.0.1 and several batond replicas.

EtcdMembers starts real etcd members (Debian's /usr/bin/etcd, or $BATON_ETCD) on free
127.0.0.1 ports with data under the run's temporary directory, finds the raft leader with
`etcdctl endpoint status` (the maintenance Status API: a member is the leader when the
leader id it reports is its own member id), kills members with SIGKILL and restarts them
on their data.

EtcdStore is the harness's store plug-in (chaos.STORES["etcd"]): it owns the members,
tells the cluster to run `replicas` batond processes with leader election on them, and
adds the fault "kill_etcd_leader" (SIGKILL the raft leader, wait, restart it). Nothing
here sleeps to synchronise: waits poll a condition with a deadline.
"""

import ctypes
import json
import os
import signal
import socket
import subprocess

ETCD = os.environ.get("BATON_ETCD", "/usr/bin/etcd")
ETCDCTL = os.environ.get("BATON_ETCDCTL", "/usr/bin/etcdctl")


def die_with_parent():
    """In the child before exec: SIGKILL it when the harness dies (PR_SET_PDEATHSIG), so a
    harness killed by a ctest timeout leaves no etcd behind."""
    ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class EtcdMembers:
    """`members` etcd processes on 127.0.0.1; data and logs under `tmp`."""

    def __init__(self, tmp, members, wait_for):
        self.tmp = tmp
        self.wait_for = wait_for
        self.names = [f"e{i}" for i in range(members)]
        self.client = [f"127.0.0.1:{free_port()}" for _ in self.names]
        self.peer = [f"127.0.0.1:{free_port()}" for _ in self.names]
        self.procs = [None] * members

    def start_all(self):
        for i in range(len(self.names)):
            self.start(i, "new")
        self.wait_for("etcd to elect a leader", lambda: self.leader() is not None, 60)

    def start(self, i, state="existing"):
        initial = ",".join(f"{n}=http://{p}" for n, p in zip(self.names, self.peer))
        with open(os.path.join(self.tmp, f"etcd-{self.names[i]}.log"), "ab") as log:
            self.procs[i] = subprocess.Popen(
                [ETCD, "--name", self.names[i], "--data-dir",
                 os.path.join(self.tmp, f"etcd-{self.names[i]}"),
                 "--listen-client-urls", f"http://{self.client[i]}",
                 "--advertise-client-urls", f"http://{self.client[i]}",
                 "--listen-peer-urls", f"http://{self.peer[i]}",
                 "--initial-advertise-peer-urls", f"http://{self.peer[i]}",
                 "--initial-cluster", initial, "--initial-cluster-state", state,
                 "--initial-cluster-token", "baton-chaos", "--logger", "zap",
                 "--log-level", "warn"],
                stdout=log, stderr=subprocess.STDOUT, preexec_fn=die_with_parent)

    def endpoints(self):
        return ",".join(self.client)

    def running(self, i):
        return self.procs[i] is not None and self.procs[i].poll() is None

    def leader(self):
        """Index of the member that is the raft leader now, or None (no quorum, or no
        member answered)."""
        live = [self.client[i] for i in range(len(self.names)) if self.running(i)]
        if not live:
            return None
        try:
            r = subprocess.run([ETCDCTL, "--endpoints", ",".join(live), "--command-timeout=2s",
                                "endpoint", "status", "-w", "json"], capture_output=True,
                               env=dict(os.environ, ETCDCTL_API="3"), timeout=10)
        except subprocess.TimeoutExpired:
            return None
        try:
            for st in json.loads(r.stdout or b"[]"):
                s = st["Status"]
                if s.get("leader") and s["leader"] == s["header"]["member_id"]:
                    return self.client.index(st["Endpoint"])
        except (ValueError, KeyError, TypeError):
            pass
        return None

    def kill(self, i):
        p = self.procs[i]
        if p is not None and p.poll() is None:
            p.send_signal(signal.SIGCONT)
            p.kill()
        if p is not None:
            p.wait()

    def stop(self):
        for i in range(len(self.procs)):
            self.kill(i)


class EtcdStore:
    """batond on a 3-member etcd, several replicas with leader election."""
    name = "etcd"

    def __init__(self, tmp, wait_for, members=3, replicas=2, ttl=2):
        self.etcd = EtcdMembers(tmp, members, wait_for)
        self.wait_for = wait_for
        self.replicas = replicas
        self.ttl = ttl

    def start(self):
        self.etcd.start_all()

    def batond_flags(self):
        return ["--store", "etcd", "--etcd-endpoints", self.etcd.endpoints(),
                "--election-ttl", str(self.ttl)]

    def faults(self):
        return ["kill_etcd_leader"]

    def inject(self, kind, rng, stop):
        if kind != "kill_etcd_leader":
            raise ValueError(f"etcd store has no fault {kind!r}")
        victim = self.etcd.leader()
        if victim is None:  # mid-election: the member that answers first goes
            victim = next(i for i in range(len(self.etcd.procs)) if self.etcd.running(i))
        self.etcd.kill(victim)
        stop.wait(rng.uniform(0.5, 4))
        self.etcd.start(victim)

    def restore(self):
        """Every member back up (the end of the run), and a leader elected."""
        for i in range(len(self.etcd.procs)):
            if not self.etcd.running(i):
                self.etcd.start(i)
        self.wait_for("etcd to have a leader again", lambda: self.etcd.leader() is not None,
                      60)

    def stop(self):
        self.etcd.stop()
