"""Fixtures for the SDK's tests: a real batond and real agents, started as child processes.

`cluster` (one per test session) starts batond on free ports (port 0, read back from its
--port-file) with its SQLite state in a temporary directory, one agent that runs real
processes on 2 made-up H100s (node "real", serving logs), and a `baton-agent --simulate 2`
process (nodes "sim-0" and "sim-1", 4 A100-80GBs each, whose tasks "run" for the job's
simulate_duration). Nothing sleeps to synchronise: every wait polls a condition with a
deadline. The binaries come from $BATON_BIN_DIR (ctest sets it), else build/bin.

batond writes its bootstrap tokens into its data directory on the first start: the
client uses the cluster-admin one (`Cluster.admin_token`), the agents the agent one.

`Cluster(tmp)` runs `batond --plaintext`, as these tests always have; `Cluster(tmp,
tls=True)` runs batond's default, TLS with the CA it makes in <state>/pki: the agents join
with a bootstrap token batond writes at each start, and the client trusts the CA.
"""

import os
import re
import signal
import subprocess
import sys
import tempfile
import time

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.dirname(HERE))  # the SDK from the source tree

import baton  # noqa: E402

BIN = os.path.abspath(os.environ.get("BATON_BIN_DIR", os.path.join(ROOT, "build", "bin")))
DEADLINE_S = 60


def wait_for(what, fn, timeout=DEADLINE_S, interval=0.05):
    """Polls fn() until it returns a truthy value (returned) or the deadline passes."""
    end = time.monotonic() + timeout
    while True:
        value = fn()
        if value:
            return value
        if time.monotonic() > end:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


class Cluster:
    """batond plus agents in a temporary directory; `client` talks to it."""

    def __init__(self, tmp, tls=False):
        self.tmp = tmp
        self.tls = tls
        self.procs = {}
        self.port = None
        self.http_port = None
        self.client = None
        self.state = os.path.join(tmp, "state")

    @property
    def admin_token(self):
        with open(os.path.join(self.state, "admin.token")) as f:
            return f.read().strip()

    @property
    def agent_token_file(self):
        return os.path.join(self.state, "agent.token")

    @property
    def ca_file(self):
        """batond's CA bundle with TLS, else None."""
        return os.path.join(self.state, "pki", "ca.crt") if self.tls else None

    @property
    def join_token_file(self):
        return os.path.join(self.tmp, "join.token")

    def _batond_tls_flags(self):
        if not self.tls:
            return ["--plaintext"]
        # A token for every join of this run (the simulator joins once per node).
        return ["--bootstrap-token-file", self.join_token_file, "--bootstrap-token-uses", "16"]

    def _agent_tls_flags(self):
        if not self.tls:
            return []
        return ["--ca-file", self.ca_file, "--bootstrap-token-file", self.join_token_file]

    def _log(self, name):
        return open(os.path.join(self.tmp, f"{name}.log"), "ab")

    def log(self, name):
        path = os.path.join(self.tmp, f"{name}.log")
        return open(path, errors="replace").read()[-4000:] if os.path.exists(path) else ""

    def _alive(self, name):
        if self.procs[name].poll() is not None:
            raise AssertionError(f"{name} exited {self.procs[name].returncode}:\n{self.log(name)}")
        return True

    def start_batond(self):
        port_file = os.path.join(self.tmp, "batond.port")
        if os.path.exists(port_file):
            os.remove(port_file)
        self.procs["batond"] = subprocess.Popen(
            [os.path.join(BIN, "batond"), "--data-dir", self.state,
             "--listen", f"127.0.0.1:{self.port or 0}", "--http", "127.0.0.1:0",
             "--port-file", port_file, *self._batond_tls_flags()],
            stdout=self._log("batond"), stderr=subprocess.STDOUT)
        wait_for("batond's port file",
                 lambda: self._alive("batond") and os.path.exists(port_file))
        with open(port_file) as f:
            self.port = int(f.read())
        # batond prints "..., HTTP on port N" on stdout once serving.
        m = wait_for("batond's HTTP port", lambda: re.search(r"HTTP on port (\d+)",
                                                              self.log("batond")))
        self.http_port = int(m.group(1))
        if self.client is None:  # a restart keeps the port, and the client
            self.client = baton.Client(f"127.0.0.1:{self.port}", token=self.admin_token,
                                       timeout=20, ca_file=self.ca_file)

    def start_agents(self, real=True):
        if not real:
            self._start_sim()
            wait_for("2 ready nodes", lambda: self._alive("agent-sim")
                     and len(self.client.nodes("ready")) == 2)
            return
        self.procs["agent-real"] = subprocess.Popen(
            [os.path.join(BIN, "baton-agent"), "--server", f"127.0.0.1:{self.port}",
             "--token-file", self.agent_token_file,
             "--name", "real", "--fake-gpus", "2xH100", "--log-listen", "127.0.0.1:0",
             "--data-dir", os.path.join(self.tmp, "agent-real"), *self._agent_tls_flags()],
            stdout=self._log("agent-real"), stderr=subprocess.STDOUT, cwd=self.tmp)
        self._start_sim()
        wait_for("3 ready nodes", lambda: self._alive("agent-real") and self._alive("agent-sim")
                 and len(self.client.nodes("ready")) == 3)

    def _start_sim(self):
        self.procs["agent-sim"] = subprocess.Popen(
            [os.path.join(BIN, "baton-agent"), "--server", f"127.0.0.1:{self.port}",
             "--token-file", self.agent_token_file,
             "--name", "sim", "--simulate", "2", "--fake-gpus", "4xA100-80GB",
             *self._agent_tls_flags()],
            stdout=self._log("agent-sim"), stderr=subprocess.STDOUT, cwd=self.tmp)

    def stop(self, names=None):
        names = list(self.procs) if names is None else names
        for n in names:
            if self.procs[n].poll() is None:
                self.procs[n].send_signal(signal.SIGTERM)
        for n in names:
            try:
                self.procs[n].wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.procs[n].kill()
                self.procs[n].wait()


@pytest.fixture(scope="session")
def cluster():
    if not os.path.exists(os.path.join(BIN, "batond")):
        pytest.fail(f"no batond in {BIN}: build first or set BATON_BIN_DIR")
    with tempfile.TemporaryDirectory(prefix="baton-sdk-") as tmp:
        c = Cluster(tmp)
        try:
            c.start_batond()
            c.start_agents()
            yield c
        finally:
            if c.client:
                c.client.close()
            c.stop()


@pytest.fixture
def own_cluster():
    """A cluster of the test's own (batond + 2 simulated nodes), for tests that stop it."""
    with tempfile.TemporaryDirectory(prefix="baton-sdk-") as tmp:
        c = Cluster(tmp)
        try:
            c.start_batond()
            c.start_agents(real=False)
            yield c
        finally:
            if c.client:
                c.client.close()
            c.stop()


@pytest.fixture
def client(cluster):
    return cluster.client


@pytest.fixture
def queue(request):
    """A queue name of the test's own, so list/watch filters see only its jobs."""
    return re.sub(r"[^A-Za-z0-9_.-]", "-", request.node.name)[:60]
