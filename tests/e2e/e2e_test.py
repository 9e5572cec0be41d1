"""Multi-process end-to-end tests: batond + baton-agent processes + the baton CLI on 127.0.0.1.

Every server binds port 0 and reports its port (batond --port-file); nothing sleeps to
synchronise: each wait polls a condition with a deadline. batond writes its bootstrap
tokens into its data directory: the CLI runs with the cluster-admin one (BATON_TOKEN), the
agents with the agent one (--token-file). Run by ctest as `e2e_*` (see
tests/e2e/CMakeLists.txt) with BATON_BIN_DIR pointing at the built binaries; any python3
works (only the DDP case needs /usr/bin/python3 with torch, and skips without it).
"""

import http.client
import json
import os
import re
import shutil
import signal
import ssl
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.request

BIN = os.environ.get("BATON_BIN_DIR", os.path.join(os.path.dirname(__file__), "../../build/bin"))
ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "../.."))
DEADLINE_S = 60


def wait_for(what, fn, timeout=DEADLINE_S, interval=0.05):
    """Polls fn() until it returns a truthy value or the deadline passes."""
    end = time.monotonic() + timeout
    while True:
        value = fn()
        if value:
            return value
        if time.monotonic() > end:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


class Cluster:
    """One batond and its agents, each a child process, in a temporary directory.

    tls=False (what these tests have always run): `batond --plaintext`. tls=True: batond
    with no TLS flag at all (TLS is its default, with the CA it makes in <data>/pki); the
    CLI trusts that CA, and each agent joins with a one-use bootstrap token for its node
    that the cluster-admin creates (`baton bootstrap-token create`)."""

    def __init__(self, tmp, tls=False):
        self.tmp = tmp
        self.tls = tls
        self.data = os.path.join(tmp, "batond")
        self.batond = None
        self.agents = {}
        self.port = None

    @property
    def ca_file(self):
        """batond's CA bundle with TLS, else ""."""
        return os.path.join(self.data, "pki", "ca.crt") if self.tls else ""

    def tls_flags(self):
        """batond's flags for this cluster's transport (TLS needs none: it is the default)."""
        return [] if self.tls else ["--plaintext"]

    def start_batond(self, extra=()):
        port_file = os.path.join(self.tmp, "batond.port")
        if os.path.exists(port_file):
            os.remove(port_file)
        log = open(os.path.join(self.tmp, "batond.log"), "ab")
        self.batond = subprocess.Popen(
            [os.path.join(BIN, "batond"), "--data-dir", self.data, "--listen",
             f"127.0.0.1:{self.port or 0}", "--http", "127.0.0.1:0", "--port-file", port_file,
             "--node-not-ready-after", "2", "--node-lost-after", "30", *self.tls_flags(),
             *extra],
            stdout=log, stderr=subprocess.STDOUT)
        wait_for("batond's port file", lambda: os.path.exists(port_file) or self._died())
        with open(port_file) as f:
            self.port = int(f.read())
        with open(os.path.join(self.data, "admin.token")) as f:
            self.admin_token = f.read().strip()
        return self.batond

    def _died(self):
        if self.batond.poll() is not None:
            raise AssertionError("batond exited: " + self.log("batond"))
        return False

    def start_agent(self, name, gpus="1xH100"):
        log = open(os.path.join(self.tmp, f"agent-{name}.log"), "ab")
        p = subprocess.Popen(
            [os.path.join(BIN, "baton-agent"), "--server", f"127.0.0.1:{self.port}", "--name",
             name, "--fake-gpus", gpus, "--data-dir", os.path.join(self.tmp, f"agent-{name}"),
             "--log-listen", "127.0.0.1:0",
             "--token-file", os.path.join(self.data, "agent.token"),
             *self.agent_tls_flags(name)],
            stdout=log, stderr=subprocess.STDOUT, cwd=ROOT)
        self.agents[name] = p
        wait_for(f"agent {name} ready",
                 lambda: any(n["name"] == name and n.get("state") == "NODE_STATE_READY"
                             for n in self.nodes()))
        return p

    def agent_tls_flags(self, name):
        """baton-agent `name`'s flags for this cluster's transport: with TLS, trust batond's
        CA and join with a new one-use token for the node (unused by an agent restarted
        with the certificate it keeps)."""
        if not self.tls:
            return []
        token = self.baton("bootstrap-token", "create", "--uses", "1", "--node",
                           name).stdout.strip()
        path = os.path.join(self.tmp, f"join-{name}.token")
        with open(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as f:
            f.write(token + "\n")
        return ["--ca-file", self.ca_file, "--bootstrap-token-file", path]

    def log(self, what):
        path = os.path.join(self.tmp, f"{what}.log")
        return open(path, errors="replace").read()[-4000:] if os.path.exists(path) else ""

    def baton(self, *args, check=True, timeout=DEADLINE_S, token=None, ca_file=None):
        """Runs the CLI as the cluster-admin, or with `token` ("" = none at all), trusting
        the cluster's CA with TLS, or `ca_file` ("" = none: a plaintext client)."""
        env = dict(os.environ, BATON_SERVER=f"127.0.0.1:{self.port}",
                   BATON_TOKEN=self.admin_token if token is None else token,
                   BATON_CA_FILE=self.ca_file if ca_file is None else ca_file,
                   BATON_CREDENTIALS=os.path.join(self.tmp, "no-credentials"))
        for var in ("BATON_TOKEN", "BATON_CA_FILE"):
            if not env[var]:
                del env[var]
        r = subprocess.run([os.path.join(BIN, "baton"), *args], capture_output=True, text=True,
                           env=env, timeout=timeout, cwd=ROOT)
        if check and r.returncode != 0:
            raise AssertionError(f"baton {' '.join(args)} exited {r.returncode}: "
                                 f"{r.stdout}{r.stderr}")
        return r

    def json(self, *args):
        out = self.baton(args[0], "--output", "json", *args[1:]).stdout
        return [json.loads(line) for line in out.splitlines() if line.strip()]

    def nodes(self):
        try:
            return self.json("nodes")
        except AssertionError:
            return []

    def job(self, job_id):
        return self.json("show", job_id)[0]

    def state(self, job_id):
        return self.job(job_id).get("state", "")

    def run(self, *cmd, flags=()):
        return self.json("run", *flags, "--", *cmd)[0]["id"]

    def stop(self):
        for p in list(self.agents.values()) + ([self.batond] if self.batond else []):
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in list(self.agents.values()) + ([self.batond] if self.batond else []):
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()


class E2E(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="baton-e2e-")
        # Tasks run as the agents' service user (nobody), not root: like /tmp, anyone may
        # leave files here (markers, checkpoints' parents are reachable).
        os.chmod(self.tmp, 0o1777)
        self.c = Cluster(self.tmp)
        self.c.start_batond()

    def tearDown(self):
        self.c.stop()
        if sys.exc_info()[0] is None:
            shutil.rmtree(self.tmp, ignore_errors=True)
        else:
            print(f"kept {self.tmp}", file=sys.stderr)

    def test_submit_run_logs_exit_code(self):
        c = self.c
        c.start_agent("a")
        r = c.baton("run", "--wait", "--", "sh", "-c",
                    'echo "hello from $BATON_JOB_ID rank $RANK of $WORLD_SIZE"; exit 3',
                    check=False)
        self.assertEqual(r.returncode, 3, r.stdout + r.stderr)
        jobs = c.json("ps", "--all")
        self.assertEqual(len(jobs), 1)
        job_id = jobs[0]["id"]
        self.assertEqual(jobs[0]["state"], "JOB_STATE_FAILED")
        logs = c.baton("logs", job_id).stdout
        self.assertIn(f"hello from {job_id} rank 0 of 1", logs)
        ok = c.baton("run", "--wait", "--", "true", check=False)
        self.assertEqual(ok.returncode, 0, ok.stdout + ok.stderr)
        # Bad input: unknown job, a job no node can hold.
        self.assertNotEqual(c.baton("show", "999", check=False).returncode, 0)
        big = c.baton("run", "--gpus", "8", "--", "true", check=False)
        self.assertNotEqual(big.returncode, 0)
        self.assertIn("never", big.stderr + big.stdout)

    def test_gang_across_two_agents_starts_together_or_not_at_all(self):
        c = self.c
        c.start_agent("a")
        c.start_agent("b")
        # A long job holds agent a's only GPU; a 2-task gang must not start half.
        blocker = os.path.join(self.tmp, "release-blocker")
        long_id = c.run("sh", "-c", f"while [ ! -e {blocker} ]; do sleep 0.05; done")
        wait_for("blocker running", lambda: c.state(long_id) == "JOB_STATE_RUNNING")
        gang = c.run("sh", "-c", 'echo "rank $RANK/$WORLD_SIZE node $NODE_RANK '
                     'master $MASTER_ADDR:$MASTER_PORT"', flags=("--nodes", "2"))
        wait_for("gang considered", lambda: c.job(gang).get("reason", "").strip()
                 and c.job(gang)["state"] == "JOB_STATE_PENDING")
        self.assertEqual(c.job(gang).get("attempts", []), [])
        open(blocker, "w").close()
        wait_for("gang done", lambda: c.state(gang) == "JOB_STATE_SUCCEEDED")
        job = c.job(gang)
        nodes = sorted(a["node"] for a in job["attempts"][0]["assignments"])
        self.assertEqual(nodes, ["a", "b"])
        out = c.baton("logs", gang, "--task", "0").stdout + \
            c.baton("logs", gang, "--task", "1").stdout
        self.assertIn("rank 0/2 node 0", out)
        self.assertIn("rank 1/2 node 1", out)

    def test_cancel_kills_the_whole_process_tree(self):
        c = self.c
        c.start_agent("a")
        pid_file = os.path.join(self.tmp, "grandchild.pid")
        job = c.run("sh", "-c", f"sleep 1000 & echo $! > {pid_file}; wait")
        wait_for("grandchild pid", lambda: os.path.exists(pid_file) and
                 open(pid_file).read().strip())
        pid = int(open(pid_file).read())
        os.kill(pid, 0)  # alive
        c.baton("cancel", job)
        wait_for("cancelled", lambda: c.state(job) == "JOB_STATE_CANCELLED")

        def gone():
            try:
                os.kill(pid, 0)
                # A zombie is gone for our purpose (it is reaped by its parent's reaper).
                with open(f"/proc/{pid}/stat") as f:
                    return f.read().split(")")[-1].split()[0] == "Z"
            except (ProcessLookupError, FileNotFoundError):
                return True
        wait_for("grandchild killed", gone, timeout=30)

    def test_kill_9_batond_restart_loses_and_duplicates_nothing(self):
        c = self.c
        c.start_agent("a", gpus="2xH100")
        trigger = os.path.join(self.tmp, "finish")
        counter = os.path.join(self.tmp, "starts")
        running = c.run("sh", "-c", f"echo started >> {counter}; "
                        f"while [ ! -e {trigger} ]; do sleep 0.05; done")
        queued = [c.run("true", flags=("--gpus", "2")) for _ in range(3)]
        wait_for("running", lambda: c.state(running) == "JOB_STATE_RUNNING")
        c.batond.send_signal(signal.SIGKILL)
        c.batond.wait()
        c.start_batond()
        wait_for("agent back", lambda: any(n["name"] == "a" and n["state"] == "NODE_STATE_READY"
                                           for n in c.nodes()))
        self.assertEqual(c.state(running), "JOB_STATE_RUNNING")
        open(trigger, "w").close()
        for j in [running, *queued]:
            wait_for(f"job {j} done", lambda j=j: c.state(j) == "JOB_STATE_SUCCEEDED")
        self.assertEqual(len(c.json("ps", "--all")), 4)
        self.assertEqual(open(counter).read().count("started"), 1)
        self.assertEqual(len(c.job(running)["attempts"]), 1)

    def test_drain_preempts_gracefully_and_the_retry_resumes_from_its_checkpoint(self):
        c = self.c
        c.start_agent("a")
        out = os.path.join(self.tmp, "out")
        # On SIGTERM the task writes a checkpoint (rename into place) and exits: the
        # preemption protocol. The retry must be told where that checkpoint is.
        script = ('echo "attempt=$BATON_ATTEMPT node=$BATON_NODE notice=$BATON_PREEMPT_NOTICE '
                  f'resume=${{BATON_RESUME_FROM:-none}}" >> {out}; '
                  '[ -n "$BATON_RESUME_FROM" ] && exit 0; '
                  'trap \'echo saved > $BATON_CHECKPOINT_DIR/.w.tmp && '
                  'mv $BATON_CHECKPOINT_DIR/.w.tmp $BATON_CHECKPOINT_DIR/in-grace; exit 0\' TERM; '
                  'while :; do sleep 0.05; done')
        job = c.run("sh", "-c", script, flags=("--preempt-notice", "20"))
        wait_for("running", lambda: c.state(job) == "JOB_STATE_RUNNING")
        r = c.baton("drain", "a", "--reason", "maintenance")
        self.assertIn("drained", r.stdout.lower())
        wait_for("preempted", lambda: c.job(job).get("attempts", [{}])[0].get("end_reason")
                 == "preempted")
        c.start_agent("b")
        wait_for("done on b", lambda: c.state(job) == "JOB_STATE_SUCCEEDED")
        lines = open(out).read().splitlines()
        self.assertEqual(len(lines), 2, lines)
        self.assertIn("attempt=1 node=a notice=20 resume=none", lines[0])
        self.assertTrue(lines[1].startswith("attempt=2 node=b"), lines)
        self.assertTrue(lines[1].endswith("/in-grace"), lines)
        final = c.job(job)
        self.assertTrue(final["attempts"][1]["resumed_from"].endswith("/in-grace"))
        self.assertFalse(final["attempts"][0].get("counts_toward_limit", False))
        nodes = {n["name"]: n for n in c.nodes()}
        self.assertEqual(nodes["a"]["state"], "NODE_STATE_DRAINED")
        self.assertIn("maintenance", nodes["a"]["reason"])
        self.assertIn("WORK-LOST", c.baton("show", job).stdout)
        c.baton("undrain", "a")
        wait_for("a ready", lambda: any(n["name"] == "a" and n["state"] == "NODE_STATE_READY"
                                        for n in c.nodes()))
        self.assertNotEqual(c.baton("drain", "nope", check=False).returncode, 0)

    @unittest.skipUnless(
        os.path.exists("/usr/bin/python3") and subprocess.run(
            ["/usr/bin/python3", "-c", "import torch"], capture_output=True).returncode == 0,
        "needs torch for /usr/bin/python3 (python3-torch)")
    def test_ddp_example_trains_as_a_gang_and_resumes_from_checkpoint(self):
        c = self.c
        c.start_agent("a")
        c.start_agent("b")
        # The example's spec, made to fail once on purpose so attempt 2 must resume.
        spec = open(os.path.join(ROOT, "examples/ddp/ddp.yaml")).read()
        spec = spec.replace('"--steps", "600"', '"--steps", "300", "--fail-at-step", "250"')
        self.assertIn("--fail-at-step", spec)
        path = os.path.join(self.tmp, "ddp.yaml")
        open(path, "w").write(spec)
        r = c.json("submit", path)
        job = r[0]["id"]
        wait_for("ddp done", lambda: c.state(job) in ("JOB_STATE_SUCCEEDED", "JOB_STATE_FAILED"),
                 timeout=240, interval=0.5)
        final = c.job(job)
        logs = c.baton("logs", job, "--task", "0").stdout
        self.assertEqual(final["state"], "JOB_STATE_SUCCEEDED", logs[-2000:])
        self.assertIn("done: step=", logs)
        # Attempt 1 failed on purpose (--fail-at-step); attempt 2 resumed.
        self.assertEqual(len(final["attempts"]), 2, logs[-2000:])
        self.assertIn("resumed from step", logs)


class TlsDefault(unittest.TestCase):
    """batond serves TLS unless told --plaintext (docs/tls.md), like `baton up`."""

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="baton-e2e-tls-")
        os.chmod(self.tmp, 0o1777)  # tasks run as the agent's service user (nobody)

    def tearDown(self):
        if sys.exc_info()[0] is None:
            shutil.rmtree(self.tmp, ignore_errors=True)
        else:
            print(f"kept {self.tmp}", file=sys.stderr)

    def batond(self, *args):
        """batond with `args`, expected to exit by itself (a refusal)."""
        return subprocess.run([os.path.join(BIN, "batond"), "--listen", "127.0.0.1:0",
                               "--http", "", *args], capture_output=True, text=True,
                              timeout=DEADLINE_S)

    def test_data_dir_alone_serves_tls_with_the_ca_in_its_pki_dir(self):
        c = Cluster(self.tmp, tls=True)  # --data-dir and no TLS flag at all
        self.addCleanup(c.stop)
        c.start_batond()
        m = wait_for("batond's serving line",
                     lambda: re.search(r"HTTP on port (\d+); TLS \(clients trust (\S+)\)",
                                       c.log("batond")))
        self.assertEqual(m.group(2), c.ca_file)
        self.assertTrue(open(c.ca_file).read().startswith("-----BEGIN CERTIFICATE"))
        # A plaintext client is refused (with the hint to give the CA), a TLS one served.
        r = c.baton("ps", ca_file="", check=False)
        self.assertNotEqual(r.returncode, 0, r.stdout)
        self.assertIn("give --ca-file", r.stderr)
        self.assertEqual(c.json("ps", "--all"), [])
        # HTTP is HTTPS with the same CA; plain HTTP gets no answer.
        url = f"127.0.0.1:{m.group(1)}/healthz"
        ctx = ssl.create_default_context(cafile=c.ca_file)
        with urllib.request.urlopen("https://" + url, context=ctx, timeout=10) as resp:
            self.assertEqual(resp.status, 200)
        with self.assertRaises((OSError, http.client.HTTPException)):
            urllib.request.urlopen("http://" + url, timeout=10).read()
        # An agent joins with a bootstrap token (mutual TLS from then on) and runs a job.
        c.start_agent("n1")
        r = c.baton("run", "--wait", "--", "sh", "-c", "echo hello-over-tls", check=False)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("hello-over-tls", c.baton("logs", c.json("ps", "--all")[0]["id"]).stdout)
        self.assertIn("joined the control plane", c.log("agent-n1"))

    def test_without_a_home_for_its_ca_batond_refuses_to_start(self):
        for store in (["--store", "memory"],
                      ["--store", "etcd", "--etcd-endpoints", "127.0.0.1:1"]):
            r = self.batond(*store)
            self.assertEqual(r.returncode, 2, r.stdout + r.stderr)
            self.assertIn("batond serves TLS by default: its CA needs --data-dir", r.stderr)
            self.assertIn("--tls-dir", r.stderr)
            self.assertIn("--plaintext", r.stderr)
        # --plaintext is the way out: it starts, says loudly what that means, and serves a
        # plaintext client.
        port_file = os.path.join(self.tmp, "port")
        log_path = os.path.join(self.tmp, "plain.log")
        with open(log_path, "wb") as log:
            p = subprocess.Popen([os.path.join(BIN, "batond"), "--store", "memory", "--plaintext",
                                  "--listen", "127.0.0.1:0", "--http", "", "--port-file",
                                  port_file, "--admin-token-file",
                                  os.path.join(self.tmp, "admin.token"), "--agent-token-file",
                                  os.path.join(self.tmp, "agent.token")],
                                 stdout=log, stderr=subprocess.STDOUT)
        try:
            wait_for("the plaintext batond's port file",
                     lambda: os.path.exists(port_file) or p.poll() is not None)
            text = lambda: open(log_path, errors="replace").read()
            self.assertIsNone(p.poll(), text())
            wait_for("the serving line", lambda: "PLAINTEXT" in text())
            self.assertIn("TLS is OFF", text())
            self.assertIn("bearer tokens", text())
            env = dict(os.environ, BATON_CREDENTIALS=os.path.join(self.tmp, "none"),
                       BATON_TOKEN=open(os.path.join(self.tmp, "admin.token")).read().strip())
            env.pop("BATON_CA_FILE", None)
            r = subprocess.run([os.path.join(BIN, "baton"), "ps", "--server",
                                f"127.0.0.1:{int(open(port_file).read())}"], env=env,
                               capture_output=True, text=True, timeout=DEADLINE_S)
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        finally:
            p.terminate()
            p.wait(timeout=30)

    def test_tls_and_plaintext_together_or_tls_flags_with_plaintext_are_refused(self):
        data = os.path.join(self.tmp, "d")
        r = self.batond("--data-dir", data, "--tls", "--plaintext")
        self.assertEqual(r.returncode, 2, r.stdout + r.stderr)
        self.assertIn("--tls and --plaintext contradict each other", r.stderr)
        r = self.batond("--data-dir", data, "--plaintext", "--tls-dir", data,
                        "--bootstrap-token-uses", "3")
        self.assertEqual(r.returncode, 2, r.stdout + r.stderr)
        self.assertIn("--tls-dir, --bootstrap-token-uses: TLS settings, and --plaintext turns "
                      "TLS off", r.stderr)
        self.assertFalse(os.path.exists(data), "a refused start must not create state")


class Up(unittest.TestCase):
    """`baton up`: control plane and local agent in one process, stopped by Ctrl-C."""

    def test_up_runs_a_job_and_stops_cleanly_on_sigint(self):
        tmp = tempfile.mkdtemp(prefix="baton-up-")
        out_path = os.path.join(tmp, "up.out")
        # `baton up` logs the CLI in (the credentials file); nothing else tells it where or
        # who: `make up` then `baton ps` just works.
        env = {k: v for k, v in os.environ.items()
               if k not in ("BATON_SERVER", "BATON_TOKEN")}
        env["BATON_CREDENTIALS"] = os.path.join(tmp, "config", "credentials")
        with open(out_path, "w") as out:
            up = subprocess.Popen(
                [os.path.join(BIN, "baton"), "up", "--data-dir", os.path.join(tmp, "state"),
                 "--listen", "127.0.0.1:0", "--http", "127.0.0.1:0", "--fake-gpus", "2xH100",
                 "--name", "local"], stdout=out, stderr=subprocess.STDOUT, cwd=ROOT, env=env)
        try:
            def address():
                for line in open(out_path):
                    if "control plane (gRPC) at " in line:
                        return line.split(" at ")[1].split(",")[0].strip()
                if up.poll() is not None:
                    raise AssertionError("baton up exited: " + open(out_path).read())
                return None
            server = wait_for("baton up's address", address)
            # TLS by default: HTTPS, and the CLI trusts the local CA batond made.
            self.assertIn("metrics at https://127.0.0.1:", open(out_path).read())
            wait_for("the CLI logged in", lambda: "the CLI is logged in" in open(out_path).read())
            creds = json.load(open(env["BATON_CREDENTIALS"]))
            self.assertEqual(creds["server"], server)
            self.assertEqual(creds["ca_file"], os.path.join(tmp, "state", "pki", "ca.crt"))
            self.assertTrue(open(creds["ca_file"]).read().startswith("-----BEGIN CERTIFICATE"))
            self.assertEqual(os.stat(env["BATON_CREDENTIALS"]).st_mode & 0o777, 0o600)
            wait_for("local agent ready", lambda: "NODE_STATE_READY" in subprocess.run(
                [os.path.join(BIN, "baton"), "nodes", "--output", "json"], env=env,
                capture_output=True, text=True).stdout)
            r = subprocess.run([os.path.join(BIN, "baton"), "run", "--wait", "--", "sh", "-c",
                                "echo up-ok"], env=env, capture_output=True, text=True,
                               timeout=DEADLINE_S)
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
            # Plaintext is not served: a client without the CA cannot talk to it.
            plain = {k: v for k, v in env.items()}
            plain["BATON_CREDENTIALS"] = os.path.join(tmp, "none")
            r = subprocess.run([os.path.join(BIN, "baton"), "ps", "--server", server, "--token",
                                creds["token"]], env=plain, capture_output=True, text=True,
                               timeout=DEADLINE_S)
            self.assertNotEqual(r.returncode, 0, r.stdout)
            up.send_signal(signal.SIGINT)
            self.assertEqual(up.wait(timeout=30), 0, open(out_path).read())
            self.assertIn("baton up: stopped", open(out_path).read())
        finally:
            if up.poll() is None:
                up.kill()
                up.wait()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    unittest.main(verbosity=2)
