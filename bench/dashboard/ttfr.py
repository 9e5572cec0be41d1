"""Dashboard time to first render with a large simulated fleet (default 1,000 nodes x 8 GPUs).

Starts batond (SQLite in a temporary directory) and `baton-agent --simulate` processes
(one per rack), fills part of the fleet with long-running simulated jobs, then loads the
dashboard's cluster view in headless Chromium (Debian's chromium + chromium-driver, driven
by /usr/bin/python3 with python3-selenium) several times and reports:

  ttfr_ms        navigation start -> heat map first painted with the fleet's data
                 (window.batonFirstRender, set by web/app.js after the first paint)
  cluster_api_ms the /api/v1/cluster request as the browser saw it (Resource Timing)
  cluster_bytes  its body size
  redraw_ms      one full heat-map repaint (median of 20), i.e. the cost of each 2 s update
  refresh_ms     one whole live-update cycle of the view (two requests + repaint)

Usage: /usr/bin/python3 bench/dashboard/ttfr.py [--nodes 1000] [--racks 10] [--loads 7]
Prints a human summary and a last line of JSON.
"""

import argparse
import concurrent.futures
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "../.."))
BIN = os.environ.get("BATON_BIN_DIR", os.path.join(ROOT, "build/bin"))


def wait_for(what, fn, timeout=180, interval=0.1):
    end = time.monotonic() + timeout
    while True:
        v = fn()
        if v:
            return v
        if time.monotonic() > end:
            raise SystemExit(f"timed out waiting for {what}")
        time.sleep(interval)


def report_checkpoint(port, job, path, token):
    """Jobs.ReportCheckpoint through the SDK's generated stubs (python/baton/v1)."""
    sys.path.insert(0, os.path.join(ROOT, "python"))
    import grpc
    from baton.v1 import jobs_pb2, jobs_pb2_grpc
    with grpc.insecure_channel(f"127.0.0.1:{port}") as ch:
        jobs_pb2_grpc.JobsStub(ch).ReportCheckpoint(
            jobs_pb2.ReportCheckpointRequest(job_id=job, path=path), timeout=30,
            metadata=[("authorization", f"Bearer {token}")])


def shots(d, base, get, out, port, token):
    """PNGs of the main pages, each taken once the page rendered its data (the job and node
    pages once their telemetry charts have at least 10 samples per GPU)."""
    from selenium.webdriver.support.ui import WebDriverWait
    os.makedirs(out, exist_ok=True)
    jobs = get("/api/v1/jobs?state=running&limit=1000")["jobs"]
    gang = next(j for j in jobs if j["spec"].get("tasks", 1) > 1)
    node = gang["attempts"][-1]["assignments"][0]["node"]
    report_checkpoint(port, gang["id"], f"/ckpt/{gang['id']}/step-1200", token)
    pages = [("cluster", "/#/", "cluster", 1000), ("queue", "/#/queue", "queue", 1000),
             ("job", f"/#/jobs/{gang['id']}", "job", 1700), ("node", f"/#/nodes/{node}", "node", 1500),
             ("events", "/#/events", "events", 1000)]
    enough = """const rows = [...document.querySelectorAll('#telemetry tr[data-gpu]')];
                return rows.length > 0 && rows.every((r) => Number(r.children[7].textContent) >= 10);"""
    for name, path, rendered, height in pages:
        d.set_window_size(1400, height)
        d.get("about:blank")
        d.get(base + path)
        WebDriverWait(d, 60, poll_frequency=0.05).until(
            lambda d: d.execute_script("return document.body.dataset.rendered") == rendered)
        if name in ("job", "node"):
            WebDriverWait(d, 90, poll_frequency=0.2).until(lambda d: d.execute_script(enough))
        d.save_screenshot(os.path.join(out, f"dashboard-{name}.png"))
        print(f"saved {out}/dashboard-{name}.png", file=sys.stderr)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--nodes", type=int, default=1000)
    ap.add_argument("--racks", type=int, default=10)
    ap.add_argument("--gpus", default="8xH100")
    ap.add_argument("--loads", type=int, default=7)
    ap.add_argument("--jobs", type=int, default=1300,
                    help="long-running jobs to submit (more than fit: some stay pending)")
    ap.add_argument("--screenshots", default="", help="also save PNGs of the main pages here")
    args = ap.parse_args()

    tmp = tempfile.mkdtemp(prefix="baton-ttfr-")
    procs = []
    try:
        pf, hf = os.path.join(tmp, "grpc.port"), os.path.join(tmp, "http.port")
        procs.append(subprocess.Popen(
            [os.path.join(BIN, "batond"), "--data-dir", os.path.join(tmp, "d"), "--listen",
             "127.0.0.1:0", "--http", "127.0.0.1:0", "--port-file", pf, "--http-port-file", hf,
             "--node-lost-after", "600", "--plaintext"],
            stdout=open(os.path.join(tmp, "batond.log"), "w"), stderr=subprocess.STDOUT))
        wait_for("batond", lambda: os.path.exists(pf) and os.path.exists(hf))
        port, http = int(open(pf).read()), int(open(hf).read())
        token = open(os.path.join(tmp, "d", "admin.token")).read().strip()
        per = -(-args.nodes // args.racks)
        left = args.nodes
        for r in range(args.racks):
            n = min(per, left)
            left -= n
            if n <= 0:
                break
            procs.append(subprocess.Popen(
                [os.path.join(BIN, "baton-agent"), "--server", f"127.0.0.1:{port}", "--simulate",
                 str(n), "--name", f"r{r:02d}-n", "--rack", f"rack-{r:02d}", "--fake-gpus", args.gpus,
                 "--token-file", os.path.join(tmp, "d", "agent.token")],
                stdout=open(os.path.join(tmp, f"agent{r}.log"), "w"), stderr=subprocess.STDOUT))
        base = f"http://127.0.0.1:{http}"
        get = lambda p: json.loads(urllib.request.urlopen(urllib.request.Request(
            base + p, headers={"Authorization": f"Bearer {token}"}), timeout=30).read())
        t0 = time.monotonic()
        wait_for(f"{args.nodes} nodes ready", lambda: get("/api/v1/overview")["nodes"]["ready"] == args.nodes)
        print(f"{args.nodes} nodes ready in {time.monotonic() - t0:.1f}s", file=sys.stderr)

        # A mix of job sizes so the heat map shows many jobs side by side; one spec file
        # per job (`baton submit` takes one job per file), 8 submits at a time.
        sizes = [(1, 1), (1, 2), (1, 4), (1, 8), (2, 8)]

        def submit(i):
            tasks, gpus = sizes[i % len(sizes)]
            spec = os.path.join(tmp, f"job{i}.yaml")
            with open(spec, "w") as f:
                f.write(f"name: bench-{i}\ntasks: {tasks}\ngpus: {gpus}\n"
                        f"simulate_duration: 2h\ncommand: [\"sleep\", \"7200\"]\n")
            subprocess.run([os.path.join(BIN, "baton"), "submit", spec, "--server",
                            f"127.0.0.1:{port}", "--token", token], check=True,
                           stdout=subprocess.DEVNULL)
        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            list(pool.map(submit, range(args.jobs)))
        # Placed as far as they fit: wait until the allocation stops changing.
        last = [-1]

        def settled():
            a = get("/api/v1/overview")["gpus"]["allocated"]
            same, last[0] = a == last[0], a
            return same
        wait_for("jobs placed", settled, interval=1.0)
        ov = get("/api/v1/overview")
        print(f"{ov['gpus']['allocated']} of {ov['gpus']['total']} GPUs allocated", file=sys.stderr)

        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
        from selenium.webdriver.support.ui import WebDriverWait
        opts = webdriver.ChromeOptions()
        opts.binary_location = "/usr/bin/chromium"
        for a in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                  "--window-size=1400,1000"):
            opts.add_argument(a)
        d = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=opts)
        runs = []
        try:
            # Logged in for the tab's session, as after the login form (one whoami
            # request per page load comes with it).
            d.get(base + "/")
            d.execute_script("sessionStorage.setItem('baton.token', arguments[0])", token)
            for i in range(args.loads):
                d.get("about:blank")
                d.get(base + "/")
                WebDriverWait(d, 60, poll_frequency=0.02).until(
                    lambda d: d.execute_script("return window.batonFirstRender || 0"))
                r = d.execute_script("""
                    const e = performance.getEntriesByType('resource')
                        .filter(x => x.name.endsWith('/api/v1/cluster'))[0];
                    const hm = window.batonHeatMap, times = [];
                    for (let i = 0; i < 20; i++) { const t = performance.now(); hm.draw(); times.push(performance.now() - t); }
                    times.sort((a, b) => a - b);
                    return {ttfr_ms: window.batonFirstRender, cluster_api_ms: e ? e.duration : null,
                            cluster_bytes: e ? e.decodedBodySize : null, redraw_ms: times[10],
                            nodes: Number(hm.canvas.dataset.nodes), gpus: Number(hm.canvas.dataset.gpus)};""")
                r["refresh_ms"] = d.execute_async_script("""
                    const done = arguments[arguments.length - 1];
                    const t = performance.now();
                    window.__view_refresh().then(() => done(performance.now() - t));""")
                runs.append(r)
                print(json.dumps(r), file=sys.stderr)
            if args.screenshots:
                shots(d, base, get, args.screenshots, port, token)
        finally:
            d.quit()
        assert all(r["nodes"] == args.nodes for r in runs), runs
        # The first load warms Chromium's caches and batond's; report the rest.
        steady = runs[1:] if len(runs) > 1 else runs
        med = lambda k: round(statistics.median(r[k] for r in steady if r[k] is not None), 1)
        summary = {"nodes": args.nodes, "gpus": runs[0]["gpus"], "loads": len(steady),
                   "gpus_allocated": ov["gpus"]["allocated"], "jobs": args.jobs,
                   "first_load_ttfr_ms": round(runs[0]["ttfr_ms"], 1),
                   "ttfr_ms_median": med("ttfr_ms"),
                   "ttfr_ms_max": round(max(r["ttfr_ms"] for r in steady), 1),
                   "cluster_api_ms_median": med("cluster_api_ms"),
                   "cluster_bytes": runs[-1]["cluster_bytes"],
                   "redraw_ms_median": med("redraw_ms")}
        summary["refresh_ms_median"] = med("refresh_ms")
        print(json.dumps(summary))
    finally:
        for p in reversed(procs):
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in reversed(procs):
            try:
                p.wait(timeout=30)
            except subprocess.TimeoutExpired:
                p.kill()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
