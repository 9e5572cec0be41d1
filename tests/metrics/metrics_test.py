"""batond's /metrics, checked by the real Prometheus tools.

One batond (SQLite state in a temporary directory, ports chosen by the OS) with
`baton-agent --simulate 2` (4 GPUs each) runs a few jobs through the `baton` CLI; then:
- `promtool check metrics` accepts the exposition with no lint problem, and the metric
  families exposed are exactly those docs/metrics.md lists;
- a real Prometheus server (Debian's `prometheus`, 1 s scrape interval, temporary config
  and storage) scrapes batond and answers a query for a baton metric over its HTTP API;
- every metric the Grafana dashboard (docs/grafana/baton.json) queries exists.

Nothing sleeps to synchronise: each wait polls a condition with a deadline. Run by ctest
as `metrics_*` with BATON_BIN_DIR set; needs `prometheus` and `promtool` on PATH (make setup
installs Debian's prometheus package).
"""

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.error
import urllib.parse
import urllib.request

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "../.."))
BIN = os.path.abspath(os.environ.get("BATON_BIN_DIR", os.path.join(ROOT, "build", "bin")))
DEADLINE_S = 60
# 127.0.0.1 only, and never through a proxy from the environment.
HTTP = urllib.request.build_opener(urllib.request.ProxyHandler({}))


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


def get(url, timeout=10, token=None):
    req = urllib.request.Request(url)
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    with HTTP.open(req, timeout=timeout) as r:
        return r.read().decode()


def free_port():
    """A port nothing listens on now (for Prometheus, which cannot report one it picked)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def families(exposition):
    """Metric family names declared by # TYPE lines."""
    return set(re.findall(r"^# TYPE (\S+) ", exposition, re.M))


def documented_metrics():
    """Metric names in docs/metrics.md's tables (first column, in backquotes)."""
    with open(os.path.join(ROOT, "docs", "metrics.md")) as f:
        return set(re.findall(r"^\| `(baton_[a-z0-9_]+)`", f.read(), re.M))


def dashboard_exprs():
    """The Grafana dashboard and every PromQL expression of its panels."""
    with open(os.path.join(ROOT, "docs", "grafana", "baton.json")) as f:
        dash = json.load(f)
    exprs = []

    def walk(node):
        if isinstance(node, dict):
            for k, v in node.items():
                if k == "expr" and isinstance(v, str):
                    exprs.append(v)
                else:
                    walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)

    walk(dash)
    return dash, exprs


def dashboard_metrics():
    """The dashboard and the baton_* metric names its panels and variables query."""
    dash, exprs = dashboard_exprs()
    variables = [v.get("definition", "") for v in dash.get("templating", {}).get("list", [])]
    names = set()
    for text in exprs + variables:
        names.update(re.findall(r"\bbaton_[a-z0-9_]+", text))
    return dash, names


def base_family(name):
    """The family a histogram series belongs to (x_bucket, x_sum, x_count -> x)."""
    return re.sub(r"_(bucket|sum|count)$", "", name)


class MetricsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="baton-metrics-")
        cls.procs = []
        try:
            cls._start()
        except BaseException:
            cls.tearDownClass()
            raise

    @classmethod
    def _popen(cls, name, args):
        log = open(os.path.join(cls.tmp, f"{name}.log"), "ab")
        p = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, cwd=cls.tmp)
        cls.procs.append((name, p))
        return p

    @classmethod
    def log(cls, name):
        path = os.path.join(cls.tmp, f"{name}.log")
        return open(path, errors="replace").read()[-4000:] if os.path.exists(path) else ""

    @classmethod
    def _alive(cls, name, p):
        if p.poll() is not None:
            raise AssertionError(f"{name} exited {p.returncode}:\n{cls.log(name)}")
        return True

    @classmethod
    def _start(cls):
        port_file = os.path.join(cls.tmp, "batond.port")
        batond = cls._popen("batond", [
            os.path.join(BIN, "batond"), "--data-dir", os.path.join(cls.tmp, "state"),
            "--listen", "127.0.0.1:0", "--http", "127.0.0.1:0", "--port-file", port_file,
            "--plaintext"])  # Prometheus scrapes plain HTTP here
        wait_for("batond's port file",
                 lambda: cls._alive("batond", batond) and os.path.exists(port_file))
        with open(port_file) as f:
            cls.port = int(f.read())
        m = wait_for("batond's HTTP port",
                     lambda: re.search(r"HTTP on port (\d+)", cls.log("batond")))
        cls.metrics_url = f"http://127.0.0.1:{m.group(1)}/metrics"
        cls.http_target = f"127.0.0.1:{m.group(1)}"
        state = os.path.join(cls.tmp, "state")
        with open(os.path.join(state, "admin.token")) as f:
            cls.admin_token = f.read().strip()
        # Prometheus scrapes as a user of its own that may only read (viewer on every queue).
        subprocess.run([os.path.join(BIN, "baton"), "user", "create", "prometheus", "--bind",
                        "viewer@*"], env=cls.env(), check=True, capture_output=True, timeout=30)
        r = subprocess.run([os.path.join(BIN, "baton"), "token", "create", "prometheus"],
                           env=cls.env(), check=True, capture_output=True, text=True, timeout=30)
        cls.token = r.stdout.strip()
        cls.token_file = os.path.join(cls.tmp, "prometheus.token")
        with open(os.open(cls.token_file, os.O_WRONLY | os.O_CREAT, 0o600), "w") as f:
            f.write(cls.token + "\n")
        agent = cls._popen("agent", [
            os.path.join(BIN, "baton-agent"), "--server", f"127.0.0.1:{cls.port}",
            "--token-file", os.path.join(state, "agent.token"),
            "--name", "sim", "--simulate", "2", "--fake-gpus", "4xH100"])
        wait_for("2 ready nodes", lambda: cls._alive("agent", agent) and re.search(
            r'^baton_nodes\{state="ready"\} 2$', get(cls.metrics_url, token=cls.token), re.M))
        # Jobs that run (and so feed the latency histograms), in two queues.
        ids = []
        for i, queue in enumerate(["research", "research", "prod"]):
            spec = os.path.join(cls.tmp, f"job{i}.yaml")
            with open(spec, "w") as f:
                f.write(f"name: j{i}\nqueue: {queue}\ngpus: 2\ncommand: train\n"
                        f"simulate_duration: 1s\n")
            ids.append(cls.baton("submit", "--output", "json", spec)["id"])
        for job_id in ids:
            subprocess.run([os.path.join(BIN, "baton"), "wait", "--timeout", "60", job_id],
                           env=cls.env(), check=True, capture_output=True, timeout=90)

    @classmethod
    def env(cls):
        return dict(os.environ, BATON_SERVER=f"127.0.0.1:{cls.port}", BATON_TOKEN=cls.admin_token,
                    BATON_CREDENTIALS=os.path.join(cls.tmp, "none"))

    @classmethod
    def baton(cls, *args):
        r = subprocess.run([os.path.join(BIN, "baton"), *args], env=cls.env(),
                           capture_output=True, text=True, timeout=DEADLINE_S)
        if r.returncode != 0:
            raise AssertionError(f"baton {' '.join(args)}: {r.stdout}{r.stderr}")
        return json.loads(r.stdout.splitlines()[0])

    @classmethod
    def tearDownClass(cls):
        for name, p in reversed(cls.procs):
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def test_metrics_need_a_token(self):
        with self.assertRaises(urllib.error.HTTPError) as e:
            get(self.metrics_url)
        self.assertEqual(e.exception.code, 401)

    def test_promtool_accepts_the_exposition_and_docs_list_every_family(self):
        text = get(self.metrics_url, token=self.token)
        r = subprocess.run(["promtool", "check", "metrics"], input=text, capture_output=True,
                           text=True, timeout=30)
        self.assertEqual(r.returncode, 0, f"promtool check metrics:\n{r.stdout}{r.stderr}")
        exposed = families(text)
        documented = documented_metrics()
        self.assertEqual(sorted(exposed - documented), [],
                         "exposed on /metrics but missing from docs/metrics.md")
        self.assertEqual(sorted(documented - exposed), [],
                         "listed in docs/metrics.md but not exposed on /metrics")
        # The jobs above ran: the event-fed histograms have observations.
        for series in ['baton_jobs_start_latency_seconds_count{queue="research"} 2',
                       'baton_jobs_start_latency_seconds_count{queue="prod"} 1',
                       'baton_jobs{state="succeeded",queue="research"} 2',
                       'baton_jobs_submitted_total 3']:
            self.assertIn("\n" + series + "\n", text)
        self.assertRegex(text, r"\nbaton_sched_round_duration_seconds_count [1-9]")
        self.assertRegex(text, r"\nbaton_store_write_duration_seconds_count [1-9]")
        self.assertRegex(text, r'\nbaton_agent_heartbeat_age_seconds\{node="sim-0"\} ')
        self.assertIn('\nbaton_gpus{state="idle"} 8\n', text)

    def test_prometheus_scrapes_batond_and_answers_a_query(self):
        port = free_port()
        config = os.path.join(self.tmp, "prometheus.yml")
        with open(config, "w") as f:
            f.write("global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
                    "scrape_configs:\n  - job_name: batond\n"
                    f"    authorization:\n      credentials_file: {self.token_file}\n"
                    "    static_configs:\n"
                    f"      - targets: ['{self.http_target}']\n")
        prom = self._popen("prometheus", [
            "prometheus", f"--config.file={config}",
            f"--storage.tsdb.path={os.path.join(self.tmp, 'tsdb')}",
            f"--web.listen-address=127.0.0.1:{port}"])

        def query(expr):
            self._alive("prometheus", prom)
            url = (f"http://127.0.0.1:{port}/api/v1/query?" +
                   urllib.parse.urlencode({"query": expr}))
            try:
                body = json.loads(get(url, timeout=5))
            except OSError:  # not listening yet
                return None
            self.assertEqual(body.get("status"), "success", body)
            return body["data"]["result"]

        result = wait_for("Prometheus to scrape baton_jobs_submitted_total",
                          lambda: query('baton_jobs_submitted_total{job="batond"}'))
        self.assertEqual(float(result[0]["value"][1]), 3)
        up = wait_for("up{job=batond}", lambda: query('up{job="batond"}'))
        self.assertEqual(up[0]["value"][1], "1")
        # A labelled series and a histogram quantile work too.
        ready = query('baton_nodes{state="ready"}')
        self.assertEqual(float(ready[0]["value"][1]), 2)
        q = query("histogram_quantile(0.5, sum by (le) "
                  "(baton_jobs_start_latency_seconds_bucket))")
        self.assertEqual(len(q), 1)
        # Every query of the Grafana dashboard parses and runs (with its variables set).
        _, exprs = dashboard_exprs()
        for expr in exprs:
            concrete = (expr.replace("$queue", ".*").replace("$node", ".*")
                        .replace("$__rate_interval", "1m"))
            self.assertIsNotNone(query(concrete), expr)

    def test_every_metric_of_the_grafana_dashboard_exists(self):
        dash, used = dashboard_metrics()
        self.assertTrue(used, "the dashboard queries no baton metric")
        exposed = families(get(self.metrics_url, token=self.token))
        missing = sorted(n for n in used if base_family(n) not in exposed and n not in exposed)
        self.assertEqual(missing, [], "docs/grafana/baton.json uses metrics batond lacks")
        ids = [p["id"] for p in dash["panels"]]
        self.assertEqual(len(ids), len(set(ids)), "panel ids must be unique")
        for p in dash["panels"]:
            self.assertTrue(p.get("title"), p)


if __name__ == "__main__":
    if shutil.which("promtool") is None or shutil.which("prometheus") is None:
        sys.exit("metrics_test: needs promtool and prometheus on PATH (make setup installs "
                 "Debian's prometheus package)")
    unittest.main()
