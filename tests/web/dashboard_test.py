"""Dashboard and events tests: a real batond with simulated agents, the real dashboard in
headless Chromium (Debian's chromium + chromium-driver, driven by Debian's python3-selenium),
and the `baton events` CLI.

Each test case starts its own batond (port 0; ports learned from --port-file and
--http-port-file) and simulated agents (`baton-agent --simulate N`, one process per rack).
Nothing sleeps to synchronise: waits poll a condition with a deadline (WebDriverWait in
the browser). Run by ctest as web_* (tests/web/CMakeLists.txt) with BATON_BIN_DIR set; needs
/usr/bin/python3 with selenium, and skips the browser cases when chromium is not installed.

The dashboard asks for an API token: the browser cases log in through its login form with
batond's bootstrap cluster-admin token (or a tenant's token made with `baton user` and
`baton token`); HTTP calls send it as a bearer token.
"""

import json
import os
import re
import shutil
import signal
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import urllib.error
import urllib.request

BIN = os.environ.get("BATON_BIN_DIR", os.path.join(os.path.dirname(__file__), "../../build/bin"))
ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "../.."))
DEADLINE_S = 60
CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"


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
    """One batond (SQLite state in a temporary directory) and simulated agents.

    tls=False (what these tests have always run): `batond --plaintext`, the dashboard on
    http://. tls=True: batond's default, TLS with the CA it makes in <data>/pki: HTTPS, the
    agents join with a bootstrap token batond writes at each start, and the CLI and the
    HTTP calls trust the CA (the browser is told to accept it: BrowserHarness)."""

    def __init__(self, tmp, tls=False):
        self.tmp = tmp
        self.tls = tls
        self.data = os.path.join(tmp, "batond")
        self.ca_file = os.path.join(self.data, "pki", "ca.crt") if tls else ""
        self.join_token_file = os.path.join(tmp, "join.token")
        self.batond = None
        self.agents = []
        self.port = 0
        self.http_port = 0

    def start_batond(self):
        files = [os.path.join(self.tmp, f) for f in ("grpc.port", "http.port")]
        for f in files:
            if os.path.exists(f):
                os.remove(f)
        log = open(os.path.join(self.tmp, "batond.log"), "ab")
        self.batond = subprocess.Popen(
            [os.path.join(BIN, "batond"), "--data-dir", self.data,
             "--listen", f"127.0.0.1:{self.port}", "--http", f"127.0.0.1:{self.http_port}",
             "--port-file", files[0], "--http-port-file", files[1],
             "--node-not-ready-after", "3", "--node-lost-after", "30",
             *(["--bootstrap-token-file", self.join_token_file, "--bootstrap-token-uses", "64"]
               if self.tls else ["--plaintext"])],
            stdout=log, stderr=subprocess.STDOUT)
        wait_for("batond's port files", lambda: all(os.path.exists(f) for f in files) or self._died())
        with open(files[0]) as f:
            self.port = int(f.read())
        with open(files[1]) as f:
            self.http_port = int(f.read())
        with open(os.path.join(self.data, "admin.token")) as f:
            self.admin_token = f.read().strip()

    def _died(self):
        if self.batond.poll() is not None:
            raise AssertionError("batond exited: " + open(os.path.join(self.tmp, "batond.log")).read()[-3000:])
        return False

    def start_agents(self, rack, count, gpus="8xH100"):
        log = open(os.path.join(self.tmp, f"agents-{rack}.log"), "ab")
        self.agents.append(subprocess.Popen(
            [os.path.join(BIN, "baton-agent"), "--server", f"127.0.0.1:{self.port}",
             "--simulate", str(count), "--name", rack, "--rack", rack, "--fake-gpus", gpus,
             "--token-file", os.path.join(self.data, "agent.token"), *self.ca_args(),
             *(["--bootstrap-token-file", self.join_token_file] if self.tls else [])],
            stdout=log, stderr=subprocess.STDOUT))

    def ca_args(self):
        """--ca-file for the CLI and the agents with TLS (nothing without)."""
        return ["--ca-file", self.ca_file] if self.tls else []

    def url(self, path=""):
        return f"{'https' if self.tls else 'http'}://127.0.0.1:{self.http_port}{path}"

    def urlopen(self, req, timeout=10):
        """urllib.request.urlopen, trusting batond's CA with TLS."""
        ctx = ssl.create_default_context(cafile=self.ca_file) if self.tls else None
        return urllib.request.urlopen(req, timeout=timeout, context=ctx)

    def request(self, path, method="GET", token=None):
        """An API request with the admin token (or `token`; "" = none)."""
        req = urllib.request.Request(self.url(path), method=method)
        token = self.admin_token if token is None else token
        if token:
            req.add_header("Authorization", f"Bearer {token}")
        return req

    def get(self, path, token=None):
        with self.urlopen(self.request(path, token=token)) as r:
            return json.loads(r.read())

    def ready_nodes(self):
        try:
            return self.get("/api/v1/overview")["nodes"]["ready"]
        except (urllib.error.URLError, OSError):
            return 0

    def baton(self, *args, check=True, token=None):
        env = dict(os.environ, BATON_SERVER=f"127.0.0.1:{self.port}",
                   BATON_TOKEN=token or self.admin_token,
                   BATON_CREDENTIALS=os.path.join(self.tmp, "no-credentials"))
        env.pop("BATON_CA_FILE", None)
        if self.tls:
            env["BATON_CA_FILE"] = self.ca_file
        r = subprocess.run([os.path.join(BIN, "baton"), *args], capture_output=True, text=True,
                           env=env, timeout=DEADLINE_S, cwd=ROOT)
        if check and r.returncode != 0:
            raise AssertionError(f"baton {' '.join(args)} exited {r.returncode}: {r.stdout}{r.stderr}")
        return r

    def submit(self, name, tasks=1, gpus=8, duration="1h", queue="default", token=None):
        spec = os.path.join(self.tmp, f"{name}.yaml")
        with open(spec, "w") as f:
            f.write(f"name: {name}\ntasks: {tasks}\ngpus: {gpus}\nsimulate_duration: {duration}\n"
                    f"queue: {queue}\ncommand: [\"sleep\", \"3600\"]\n")
        out = self.baton("submit", spec, "--output", "json", token=token).stdout
        return json.loads(out.splitlines()[0])["id"]

    def job(self, job_id):
        return self.get(f"/api/v1/jobs/{job_id}")

    def user(self, name, binding):
        """Creates a user with one role binding; returns a fresh token of theirs."""
        self.baton("user", "create", name, "--bind", binding)
        return self.baton("token", "create", name).stdout.strip()

    def stop_batond(self):
        if self.batond and self.batond.poll() is None:
            self.batond.send_signal(signal.SIGTERM)
            self.batond.wait(timeout=30)

    def stop(self):
        for p in self.agents + ([self.batond] if self.batond else []):
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in self.agents + ([self.batond] if self.batond else []):
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()


class Base(unittest.TestCase):
    NODES = {"rack-a": 3, "rack-b": 2}  # 5 nodes x 8 GPUs
    TLS = False  # Cluster(tls=...)

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="baton-web-")
        self.c = Cluster(self.tmp, tls=self.TLS)
        self.c.start_batond()
        for rack, n in self.NODES.items():
            self.c.start_agents(rack, n)
        total = sum(self.NODES.values())
        wait_for(f"{total} nodes ready", lambda: self.c.ready_nodes() == total)

    def tearDown(self):
        self.c.stop()
        if sys.exc_info()[0] is None:
            shutil.rmtree(self.tmp, ignore_errors=True)
        else:
            print(f"kept {self.tmp}", file=sys.stderr)


class BrowserHarness(Base):
    """Headless Chromium on the dashboard, with helpers; the cases are in subclasses."""

    def setUp(self):
        if not (os.path.exists(CHROMIUM) and os.path.exists(CHROMEDRIVER)):
            self.skipTest("chromium and chromium-driver are not installed (make setup)")
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
        super().setUp()
        opts = webdriver.ChromeOptions()
        opts.binary_location = CHROMIUM
        for a in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                  "--window-size=1400,1000", "--disable-extensions"):
            opts.add_argument(a)
        if self.c.tls:
            opts.add_argument("--ignore-certificate-errors")  # batond's own CA
        self.d = webdriver.Chrome(service=Service(CHROMEDRIVER), options=opts)
        self.d.set_page_load_timeout(DEADLINE_S)
        self.login(self.c.admin_token)

    def rendered(self):
        return self.d.find_element("css selector", "body").get_attribute("data-rendered")

    def login(self, token, expect_ok=True):
        """Logs in through the dashboard's form (opening it first when not shown)."""
        from selenium.webdriver.common.by import By
        if self.rendered() != "login":
            self.d.get(self.c.url("/"))
            self.wait("the login form", lambda d: self.rendered() == "login")
        field = self.d.find_element(By.CSS_SELECTOR, "#token")
        field.clear()
        field.send_keys(token)
        self.click("#login")
        if expect_ok:
            self.wait("logged in", lambda d: self.rendered() not in (None, "login"))

    def tearDown(self):
        if getattr(self, "d", None):
            if sys.exc_info()[0] is not None:
                self.d.save_screenshot(os.path.join(self.tmp, "failure.png"))
            self.d.quit()
        super().tearDown()

    def wait(self, what, fn, timeout=DEADLINE_S):
        from selenium.webdriver.support.ui import WebDriverWait
        return WebDriverWait(self.d, timeout, poll_frequency=0.1).until(
            lambda d: fn(d), message=f"waiting for {what}")

    def text(self, css):
        from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException
        from selenium.webdriver.common.by import By
        try:
            return self.d.find_element(By.CSS_SELECTOR, css).text
        except (NoSuchElementException, StaleElementReferenceException):
            return None

    def click(self, css):
        from selenium.webdriver.common.by import By
        self.d.find_element(By.CSS_SELECTOR, css).click()


class Browser(BrowserHarness):
    """Cases that drive the dashboard in headless Chromium."""

    def test_login_refuses_bad_tokens_and_a_tenant_sees_only_its_queues(self):
        c = self.c
        mine = c.submit("mine", gpus=8, queue="team-a")
        theirs = c.submit("theirs", gpus=8, queue="team-b")
        wait_for("both running", lambda: all(c.job(j)["state"] == "JOB_STATE_RUNNING"
                                             for j in (mine, theirs)))
        alice = c.user("alice", "viewer@team-a")
        self.click("#logout")
        self.wait("the login form", lambda d: self.rendered() == "login")
        self.login("baton_" + "0" * 16 + "_" + "0" * 64, expect_ok=False)
        self.wait("refusal", lambda d: "That token was refused" in (self.text("#login-error") or ""))
        self.login("not a token", expect_ok=False)
        self.wait("malformed", lambda d: "malformed token" in (self.text("#login-error") or ""))
        self.login(alice)
        self.assertIn("alice (viewer@team-a)", self.text("#whoami"))
        # The jobs page lists team-a's job only; the heat map hides team-b's job id.
        self.d.get(c.url("/#/jobs"))
        self.wait("alice's job", lambda d: self.text(f'tr[data-job-id="{mine}"]'))
        self.assertIsNone(self.text(f'tr[data-job-id="{theirs}"]'))
        cluster = c.get("/api/v1/cluster", token=alice)
        held = [j for n in cluster["nodes"] for j in n["jobs"] if j]
        self.assertEqual(sorted(set(held)), sorted({mine, "*"}))
        self.d.get(c.url(f"/#/jobs/{theirs}"))
        self.wait("denied", lambda d: "may not view" in (self.text("#view") or ""))

    def test_a_revoked_token_says_session_expired_and_login_recovers(self):
        c = self.c
        bob = c.user("bob", "viewer@*")
        self.click("#logout")
        self.login(bob)
        self.d.get(c.url("/"))
        self.wait("cluster view", lambda d: self.text("#stat-gpus-total") == "40")
        token_id = bob.split("_")[1]
        c.baton("token", "revoke", token_id)
        self.wait("session expired", lambda d: "Session expired — log in again" in
                  (self.text("#session-expired") or ""))
        self.assertIn("revoked", self.text("#session-expired"))
        self.assertEqual(self.d.execute_script("return sessionStorage.getItem('baton.token')"),
                         None)
        fresh = c.baton("token", "create", "bob").stdout.strip()
        self.login(fresh)
        self.wait("the cluster view again", lambda d: self.text("#stat-gpus-total") == "40")
        self.assertIn("bob", self.text("#whoami"))

    def test_cluster_view_shows_the_numbers_the_api_has(self):
        c = self.c
        job = c.submit("fill", tasks=2, gpus=8)
        wait_for("job running", lambda: c.job(job)["state"] == "JOB_STATE_RUNNING")
        self.d.get(c.url("/"))
        api = c.get("/api/v1/cluster")
        gpus = sum(len(n["jobs"]) for n in api["nodes"])
        held = sum(1 for n in api["nodes"] for j in n["jobs"] if j == job)
        self.assertEqual(gpus, 40)
        self.assertEqual(held, 16)
        self.wait("GPU total", lambda d: self.text("#stat-gpus-total") == str(gpus))
        self.wait("allocated", lambda d: self.text("#stat-gpus-allocated") == "16")
        self.assertEqual(self.text("#stat-nodes-ready"), "5")
        self.assertEqual(self.text("#stat-nodes"), "5")
        canvas = self.d.find_element("css selector", "#heatmap")
        self.assertEqual(canvas.get_attribute("data-nodes"), "5")
        self.assertEqual(canvas.get_attribute("data-gpus"), "40")
        # The heat map paints exactly the job's GPUs in the job's colour.
        self.wait("heat map painted", lambda d: d.execute_script("return !!window.batonHeatMap"))
        painted = self.d.execute_script("""
            const hm = window.batonHeatMap, job = arguments[0];
            const probe = document.createElement('canvas').getContext('2d');
            probe.fillStyle = jobColor(job); probe.fillRect(0, 0, 1, 1);
            const want = probe.getImageData(0, 0, 1, 1).data.join();
            const ctx = hm.canvas.getContext('2d'), dpr = window.devicePixelRatio || 1;
            let n = 0;
            for (const t of hm.tiles) for (let g = 0; g < t.node.jobs.length; g++) {
              const x = Math.round((t.x + hm.pad + g * hm.cell + 3) * dpr);
              const y = Math.round((t.y + hm.pad + 3) * dpr);
              if (ctx.getImageData(x, y, 1, 1).data.join() === want) n++;
            }
            return n;""", job)
        self.assertEqual(painted, 16)
        # Node page: allocation agrees with the API.
        node = next(n for n in api["nodes"] if n["allocated"] == 8)
        self.d.get(c.url(f"/#/nodes/{node['name']}"))
        self.wait("node page", lambda d: self.text("#node-allocated") == "8 of 8")
        self.assertEqual(self.text("#node-state"), "ready")

    def test_a_submitted_job_appears_live_and_is_cancelled_from_the_ui(self):
        c = self.c
        self.d.get(c.url("/#/jobs"))
        self.wait("jobs page", lambda d: d.find_element("css selector", "body").get_attribute("data-rendered") == "jobs")
        job = c.submit("live", tasks=1, gpus=4)
        self.wait("the new job's row", lambda d: self.text(f'tr[data-job-id="{job}"]'))
        self.click(f'tr[data-job-id="{job}"] a')
        self.wait("job running", lambda d: self.text("#job-state") == "running")
        self.click("#job-cancel")
        self.wait("confirm button", lambda d: "Confirm" in (self.text("#job-cancel") or ""))
        self.click("#job-cancel")
        self.wait("job cancelled in the page", lambda d: self.text("#job-state") == "cancelled")
        self.assertEqual(c.job(job)["state"], "JOB_STATE_CANCELLED")
        self.assertIn("cancelled from the dashboard", c.job(job)["reason"])
        self.wait("cancel event on the page", lambda d: "job-cancelled" in (self.text("#job") or ""))
        self.assertIsNone(self.text("#job-cancel"))

    def test_unknown_or_malformed_job_ids_show_a_clear_message(self):
        c = self.c
        self.d.get(c.url("/#/jobs/987654"))
        self.wait("not-found message", lambda d: "Job 987654 does not exist" in (self.text("#error") or ""))
        self.d.get(c.url("/#/jobs/abc"))
        self.wait("bad id message", lambda d: "is not a job id" in (self.text("#error") or ""))
        self.d.get(c.url("/#/nodes/no-such-node"))
        self.wait("unknown node message", lambda d: "is not registered" in (self.text("#error") or ""))
        self.d.get(c.url("/#/nonsense"))
        self.wait("unknown page message", lambda d: "There is no page" in (self.text("#error") or ""))

    def test_queue_page_shows_pending_jobs_with_the_schedulers_reason(self):
        c = self.c
        big = c.submit("big", tasks=4, gpus=8)
        wait_for("big running", lambda: c.job(big)["state"] == "JOB_STATE_RUNNING")
        waiting = c.submit("waiting", tasks=2, gpus=8)
        # The reason ends with "; pending for 3s", which moves on; the rest must match.
        stable = lambda text: re.sub(r"; pending for \S+", "", text or "")
        reason = stable(wait_for("a reason", lambda: c.job(waiting)["reason"]))
        self.assertIn("needs 2 task(s) x 8", reason)
        self.d.get(c.url("/#/queue"))
        row = f'tr[data-job-id="{waiting}"]'
        self.wait("pending row with the API's reason", lambda d: reason in stable(self.text(row)))
        self.wait("default queue usage", lambda d: "32 / 40" in (self.text('tr[data-queue="default"]') or ""))

    def test_page_recovers_by_itself_when_the_control_plane_restarts(self):
        c = self.c
        self.d.get(c.url("/"))
        self.wait("cluster view", lambda d: self.text("#stat-gpus-total") == "40")
        c.stop_batond()
        self.wait("disconnected banner", lambda d: "Cannot reach the control plane" in (self.text("#banner") or ""))
        c.start_batond()  # same ports, same data directory
        self.wait("restart noticed", lambda d: "restarted" in (self.text("#banner") or ""))
        self.wait("data back", lambda d: self.text("#stat-nodes-ready") == "5")
        self.assertEqual(self.d.find_element("css selector", "body").get_attribute("data-conn"), "ok")


class Events(Base):
    """`baton events` and /api/v1/events (no browser)."""

    NODES = {"rack-a": 2}

    def test_job_and_node_events_say_what_happened_and_why(self):
        c = self.c
        follow = subprocess.Popen([os.path.join(BIN, "baton"), "events", "-f", "--server",
                                   f"127.0.0.1:{c.port}", "--token", c.admin_token,
                                   "--output", "json", *c.ca_args()],
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            job = c.submit("ev", tasks=1, gpus=8, duration="1s")
            wait_for("job succeeded", lambda: c.job(job)["state"] == "JOB_STATE_SUCCEEDED")
            types = [json.loads(l)["type"] for l in
                     c.baton("events", "--job", job, "--output", "json").stdout.splitlines()]
            self.assertEqual(types, ["EVENT_TYPE_JOB_SUBMITTED", "EVENT_TYPE_JOB_SCHEDULED",
                                     "EVENT_TYPE_JOB_STARTED", "EVENT_TYPE_JOB_SUCCEEDED"])
            table = c.baton("events", "--job", job).stdout
            self.assertIn("job-scheduled", table)
            self.assertIn("scheduled on 1 node (rack-a-", table)
            # -f saw the same events live, in order.
            seen = []

            def read_job_events():
                while len(seen) < 4:
                    line = follow.stdout.readline()
                    if not line:
                        return
                    ev = json.loads(line)
                    if ev.get("job_id") == job:
                        seen.append(ev["type"])

            reader = threading.Thread(target=read_job_events, daemon=True)
            reader.start()
            reader.join(timeout=DEADLINE_S)
            self.assertEqual(seen, types)
        finally:
            follow.kill()
            follow.communicate(timeout=10)
        node_events = c.get("/api/v1/events?node=rack-a-0")["events"]
        self.assertEqual([e["type"] for e in node_events][:2],
                         ["EVENT_TYPE_NODE_REGISTERED", "EVENT_TYPE_NODE_READY"])
        # A node going away is an event with the reason.
        c.agents[0].send_signal(signal.SIGTERM)
        c.agents[0].wait(timeout=20)
        wait_for("node not-ready event", lambda: any(
            e["type"] == "EVENT_TYPE_NODE_NOT_READY" and e["message"]
            for e in c.get("/api/v1/events?node=rack-a-1")["events"]))
        # Bad filters are clear errors, not crashes.
        r = c.baton("events", "--limit", "0", check=False)
        self.assertEqual(r.returncode, 2)
        with self.assertRaises(urllib.error.HTTPError) as e:
            c.get("/api/v1/events?after=-3")
        self.assertEqual(e.exception.code, 400)
        self.assertIn("after", json.loads(e.exception.read())["error"])


    def test_http_api_answers_bad_input_with_clear_json_errors(self):
        c = self.c

        def error(path, method="GET", token=None):
            with self.assertRaises(urllib.error.HTTPError) as e:
                c.urlopen(c.request(path, method, token))
            return e.exception.code, json.loads(e.exception.read())

        # Without a token, or with a bad one: 401 with a JSON error that says what to do.
        code, body = error("/api/v1/jobs", token="")
        self.assertEqual((code, body["code"]), (401, "UNAUTHENTICATED"))
        self.assertIn("Bearer", body["error"])
        self.assertEqual(error("/api/v1/jobs/1/cancel", "POST", token="")[0], 401)
        self.assertEqual(error("/api/v1/overview", token="baton_x")[0], 401)

        self.assertEqual(error("/api/v1/jobs/424242"), (404, {"error": "job 424242 not found", "code": "NOT_FOUND"}))
        code, body = error("/api/v1/jobs/abc")
        self.assertEqual(code, 400)
        self.assertIn("'abc' is not a job id", body["error"])
        self.assertEqual(error("/api/v1/jobs/424242/cancel", "POST")[0], 404)
        self.assertEqual(error("/api/v1/jobs?state=sleeping")[0], 400)
        self.assertEqual(error("/api/v1/jobs?limit=100000")[0], 400)
        self.assertEqual(error("/api/v1/jobs?page_token=zz")[0], 400)
        self.assertEqual(error("/api/v1/events?job=" + "x" * 300)[0], 400)
        self.assertEqual(error("/api/v1/nodes/nope")[0], 404)
        self.assertEqual(error("/api/v1/nothing-here")[0], 404)
        self.assertEqual(error("/api/v1/jobs/1/logs")[0], 404)
        with self.assertRaises(urllib.error.HTTPError) as e:
            c.urlopen(c.url("/ui/../../etc/passwd"))
        self.assertIn(e.exception.code, (400, 404))
        # The dashboard itself is served from the binary.
        with c.urlopen(c.url("/")) as r:
            self.assertIn(b"/ui/app.js", r.read())
            self.assertTrue(r.headers["Content-Type"].startswith("text/html"))
        # Logs of a job on a simulated agent (which serves none) say why.
        job = c.submit("nologs", gpus=1)
        wait_for("job running", lambda: c.job(job)["state"] == "JOB_STATE_RUNNING")
        code, body = error(f"/api/v1/jobs/{job}/logs")
        self.assertEqual(code, 409)
        self.assertIn("serves no logs", body["error"])


if __name__ == "__main__":
    unittest.main()
