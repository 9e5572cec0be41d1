"""Job and node pages: GPU telemetry charts, checkpoints and attempts (a real batond with
simulated agents, the real dashboard in headless Chromium; see dashboard_test.py for the
harness it shares).

Simulated agents send made-up telemetry (src/baton/agent/gpu/simulated_telemetry.h): the
GPUs a task holds are busy (45..95%), the others idle (0%). The pages must show, for every
GPU, exactly the values of the control plane's telemetry history at the sample time they
display (tr[data-t-last]), and keep moving as new heartbeats arrive. Checkpoints are
reported through Jobs.ReportCheckpoint (gRPC), an attempt is ended by draining its node,
and the page must show what the job record says: each attempt's end and work lost, what
each attempt resumed from and its latest checkpoint.

Run by ctest as web_* (tests/web/CMakeLists.txt); no sleeps: every wait polls a condition
with a deadline.
"""

import math
import os
import sys
import unittest
import urllib.error
import json

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dashboard_test as harness  # noqa: E402
from dashboard_test import DEADLINE_S, ROOT, wait_for  # noqa: E402

sys.path.insert(0, os.path.join(ROOT, "python"))


def js_round(v):
    """Math.round of JavaScript (halves go up), as the page rounds."""
    return math.floor(v + 0.5)


def shown(key, v, gpu):
    """The text the page shows for value `v` of `key` (web/charts.js TELEMETRY_FORMAT)."""
    if v is None:
        return "-"
    if key == "util":
        return f"{js_round(v)}%"
    if key == "mem_used_mib":
        return f"{js_round(v)} / {gpu['memory_mib']}"
    return str(js_round(v))


def fmt_seconds(s):
    """web/attempts.js fmtSeconds."""
    if s < 60:
        return f"{s:.1f}s"
    m = int(s // 60)
    if m < 60:
        return f"{m}m{int(s % 60):02d}s"
    return f"{m // 60}h{m % 60:02d}m"


class TelemetryPages(harness.BrowserHarness):
    NODES = {"rack-a": 3, "rack-b": 2}  # 5 nodes x 8 H100

    def report_checkpoint(self, job, attempt, path):
        import grpc
        from baton.v1 import jobs_pb2, jobs_pb2_grpc
        with grpc.insecure_channel(f"127.0.0.1:{self.c.port}") as ch:
            stub = jobs_pb2_grpc.JobsStub(ch)
            stub.ReportCheckpoint(jobs_pb2.ReportCheckpointRequest(
                job_id=job, attempt=attempt, path=path), timeout=DEADLINE_S,
                metadata=[("authorization", f"Bearer {self.c.admin_token}")])

    def rows(self):
        """The telemetry table as the page shows it: one dict per GPU row."""
        return self.d.execute_script("""
            return [...document.querySelectorAll('#telemetry tr[data-gpu]')].map((r) => {
              const o = {gpu: r.dataset.gpu, t: r.dataset.tLast ? Number(r.dataset.tLast) : null};
              for (const td of r.querySelectorAll('td[data-k]')) o[td.dataset.k] = td.textContent;
              return o;
            });""")

    def assert_rows_match(self, rows, answer):
        """Each row shows the API's sample at the row's time, for the API's GPUs."""
        by_gpu = {f"{g['node']}/{g['index']}": g for g in answer["gpus"]}
        self.assertEqual(sorted(r["gpu"] for r in rows), sorted(by_gpu))
        for r in rows:
            g = by_gpu[r["gpu"]]
            self.assertIsNotNone(r["t"], f"{r['gpu']}: no sample shown")
            self.assertIn(r["t"], g["t_ms"], f"{r['gpu']}: shown sample not in the history")
            k = g["t_ms"].index(r["t"])
            for key in ("util", "mem_used_mib", "temp_c", "power_w"):
                self.assertEqual(r[key], shown(key, g[key][k], g), f"{r['gpu']} {key}")

    def chart_series(self):
        """metric -> the set of GPUs with a line in that chart."""
        return self.d.execute_script("""
            const out = {};
            for (const c of document.querySelectorAll('#telemetry svg.chart')) {
              out[c.dataset.metric] = [...new Set([...c.querySelectorAll('polyline')].map((p) => p.dataset.gpu))];
            }
            return out;""")

    def test_job_page_shows_telemetry_checkpoints_and_why_attempts_ended(self):
        c = self.c
        job = c.submit("ckpt", tasks=1, gpus=4, duration="1h")
        # Three attempts may fail; a drain's preemption does not count anyway.
        wait_for("attempt 1 running", lambda: c.job(job)["state"] == "JOB_STATE_RUNNING")
        first = c.job(job)["attempts"][0]["assignments"][0]
        self.report_checkpoint(job, 1, "/ckpt/ckpt/step-100")
        # Draining the node ends attempt 1 (preempted) and the job runs again elsewhere.
        c.baton("drain", first["node"], "--reason", "telemetry test")
        wait_for("attempt 2 running", lambda: (
            lambda j: j["state"] == "JOB_STATE_RUNNING" and len(j["attempts"]) == 2)(c.job(job)))
        self.report_checkpoint(job, 2, "/ckpt/ckpt/step-200")
        rec = c.job(job)
        a1, a2 = rec["attempts"]
        self.assertEqual(a1["end_reason"], "preempted")
        self.assertEqual(a1["last_checkpoint_path"], "/ckpt/ckpt/step-100")
        self.assertEqual(a2["resumed_from"], "/ckpt/ckpt/step-100")
        self.assertEqual(a2["last_checkpoint_path"], "/ckpt/ckpt/step-200")
        second = a2["assignments"][0]
        self.assertNotEqual(second["node"], first["node"])

        self.d.get(c.url(f"/#/jobs/{job}"))
        self.wait("job page", lambda d: self.text("#job-state") == "running")
        # Checkpoints: the job's latest, and per attempt what it resumed from and reported.
        self.wait("latest checkpoint", lambda d: "/ckpt/ckpt/step-200" in (self.text("#job-checkpoint") or ""))
        self.assertIn("attempt 2", self.text("#job-checkpoint"))
        ck = lambda n, k: self.text(f'#job table tr[data-attempt="{n}"] td[data-k="{k}"]')
        self.assertEqual(ck(1, "resumed-from"), "from scratch")
        self.assertEqual(ck(1, "latest"), "/ckpt/ckpt/step-100")
        self.assertEqual(ck(2, "resumed-from"), "/ckpt/ckpt/step-100")
        self.assertEqual(ck(2, "latest"), "/ckpt/ckpt/step-200")
        # Attempts: why attempt 1 ended (the control plane's sentence) and the work it lost.
        why = ck(1, "why")
        self.assertIn("preempted", why)
        self.assertIn("attempt 1", why)
        lost = self.d.execute_script(
            "return [...document.querySelectorAll('#job td[data-k=\"work-lost\"]')].map("
            "(td) => [td.closest('tr').dataset.attempt, td.dataset.workLostS, td.textContent]);")
        lost = {n: (float(s), t) for n, s, t in lost}
        self.assertAlmostEqual(lost["1"][0], a1["work_lost_s"], places=3)
        self.assertEqual(lost["1"][1], fmt_seconds(a1["work_lost_s"]))
        self.assertGreater(a1["work_lost_s"], 0)
        self.assertEqual(lost["2"][1], "-")  # still running
        self.assertEqual(ck(2, "why"), "running")

        # Telemetry of attempt 2's GPUs: the API's numbers, busy, and moving.
        want = {f"{second['node']}/{g}" for g in second["gpu_indices"]}
        api = f"/api/v1/jobs/{job}/telemetry"
        # Busy (45..95%) once a heartbeat after the task's start arrived: a task holds them.
        self.wait("the job's GPUs busy", lambda d: (
            lambda rows: {r["gpu"] for r in rows} == want and all(
                r["t"] and 45 <= int(r["util"].rstrip("%")) <= 95 for r in rows))(self.rows()))
        rows = self.rows()
        answer = c.get(api)
        self.assertEqual(answer["attempt"], 2)
        self.assert_rows_match(rows, answer)
        series = self.chart_series()
        self.assertEqual(sorted(series), ["mem_used_mib", "power_w", "temp_c", "util"])
        for metric, gpus in series.items():
            self.assertEqual(set(gpus), want, metric)
        # Samples only from attempt 2's own time.
        for g in answer["gpus"]:
            self.assertTrue(all(t >= answer["from_ms"] for t in g["t_ms"]))
        # Live: a newer sample shows up without a reload, and is again the API's.
        t0 = max(r["t"] for r in rows)
        self.wait("a newer sample", lambda d: min(r["t"] or 0 for r in self.rows()) > t0)
        self.assert_rows_match(self.rows(), c.get(api))
        # Attempt 1's charts: its GPUs on the drained node, inside its window only.
        old = c.get(f"{api}?attempt=1")
        self.assertEqual({f"{g['node']}/{g['index']}" for g in old["gpus"]},
                         {f"{first['node']}/{g}" for g in first["gpu_indices"]})
        for g in old["gpus"]:
            self.assertTrue(all(old["from_ms"] <= t <= old["to_ms"] for t in g["t_ms"]))

    def test_node_page_charts_every_gpu_and_bad_gpus_get_a_clear_message(self):
        c = self.c
        job = c.submit("busy", tasks=1, gpus=2, duration="1h")
        wait_for("job running", lambda: c.job(job)["state"] == "JOB_STATE_RUNNING")
        a = c.job(job)["attempts"][0]["assignments"][0]
        node, held = a["node"], set(a["gpu_indices"])
        self.d.get(c.url(f"/#/nodes/{node}"))
        busy = lambda r: r["t"] and 45 <= int(r["util"].rstrip("%")) <= 95
        held_rows = lambda rows: [r for r in rows if int(r["gpu"].split("/")[1]) in held]
        self.wait("all 8 GPUs sampled, the job's 2 busy", lambda d: (
            lambda rows: len(rows) == 8 and all(r["t"] for r in rows) and
            all(busy(r) for r in held_rows(rows)))(self.rows()))
        rows = self.rows()
        self.assert_rows_match(rows, c.get(f"/api/v1/nodes/{node}/telemetry"))
        for r in rows:
            if r not in held_rows(rows):
                self.assertEqual(r["util"], "0%", r)  # idle: no task holds it
        series = self.chart_series()
        self.assertEqual(len(series), 4)
        for metric, gpus in series.items():
            self.assertEqual(len(gpus), 8, metric)
        # The holder column links the job.
        self.assertIn(job, self.text(f'#telemetry tr[data-gpu="{node}/{min(held)}"]'))
        # One GPU's page: by index, from the GPU link.
        self.click(f'#telemetry tr[data-gpu="{node}/3"] a')
        self.wait("GPU 3 alone", lambda d: (
            lambda rows: [r["gpu"] for r in rows] == [f"{node}/3"] and rows[0]["t"])(self.rows()))
        self.assertIn("GPU 3", self.text("h1"))
        self.assert_rows_match(self.rows(), c.get(f"/api/v1/nodes/{node}/gpus/3/telemetry"))
        self.assertEqual({len(g) for g in self.chart_series().values()}, {1})
        # Bad GPUs and nodes in the URL: a clear message, and a way back.
        self.d.get(c.url(f"/#/nodes/{node}/gpus/9"))
        self.wait("unknown GPU message", lambda d: "has no GPU 9 (its GPUs are 0..7)" in (self.text("#error") or ""))
        self.assertIn(f"Back to node {node}", self.text("#error"))
        self.d.get(c.url(f"/#/nodes/{node}/gpus/GPU-nope"))
        self.wait("unknown UUID message", lambda d: "has no GPU GPU-nope" in (self.text("#error") or ""))
        self.d.get(c.url("/#/nodes/no-such-node/gpus/0"))
        self.wait("unknown node message", lambda d: "no-such-node is not registered" in (self.text("#error") or ""))
        self.d.get(c.url(f"/#/nodes/{node}/gpus"))
        self.wait("bad path message", lambda d: "There is no page" in (self.text("#error") or ""))


class TelemetryApi(harness.Base):
    """The telemetry endpoints' answers to bad input (no browser)."""

    NODES = {"rack-a": 1}

    def error(self, path):
        with self.assertRaises(urllib.error.HTTPError) as e:
            self.c.urlopen(self.c.request(path))
        return e.exception.code, json.loads(e.exception.read())

    def test_telemetry_endpoints_answer_bad_input_with_clear_json_errors(self):
        c = self.c
        self.assertEqual(self.error("/api/v1/nodes/nope/telemetry"),
                         (404, {"error": "node 'nope' not found", "code": "NOT_FOUND"}))
        self.assertEqual(self.error("/api/v1/nodes/rack-a-0/gpus/8/telemetry"),
                         (404, {"error": "node 'rack-a-0' has no GPU '8' (its GPUs are 0..7)",
                                "code": "NOT_FOUND"}))
        self.assertEqual(self.error("/api/v1/nodes/rack-a-0/gpus/-1/telemetry")[0], 404)
        self.assertEqual(self.error("/api/v1/nodes/rack-a-0/gpus//telemetry")[0], 404)
        self.assertEqual(self.error("/api/v1/nodes/rack-a-0/gpus/1/2/telemetry")[0], 404)
        code, body = self.error("/api/v1/jobs/abc/telemetry")
        self.assertEqual(code, 400)
        self.assertIn("'abc' is not a job id", body["error"])
        self.assertEqual(self.error("/api/v1/jobs/4242/telemetry")[0], 404)
        # A GPU by UUID answers like by index.
        uuid = c.get("/api/v1/nodes/rack-a-0")["gpus"][2]["gpu"]["uuid"]
        wait_for("a sample", lambda: c.get("/api/v1/nodes/rack-a-0/gpus/2/telemetry")["gpus"][0]["t_ms"])
        by_uuid = c.get(f"/api/v1/nodes/rack-a-0/gpus/{uuid}/telemetry")["gpus"]
        self.assertEqual([(g["index"], g["uuid"]) for g in by_uuid], [(2, uuid)])
        # A pending job has no GPUs yet: a note, not an error; attempts it lacks are errors.
        fill = c.submit("fill", gpus=8)
        wait_for("the node filled", lambda: c.job(fill)["state"] == "JOB_STATE_RUNNING")
        job = c.submit("waits", gpus=8)
        pending = c.get(f"/api/v1/jobs/{job}/telemetry")
        self.assertEqual(pending["gpus"], [])
        self.assertIn("has not been placed yet", pending["note"])
        code, body = self.error(f"/api/v1/jobs/{job}/telemetry?attempt=2")
        self.assertEqual(code, 400)
        self.assertIn("attempt: job", body["error"])
        self.assertEqual(self.error(f"/api/v1/jobs/{job}/telemetry?attempt=-1")[0], 400)
        self.assertEqual(self.error(f"/api/v1/jobs/{job}/telemetry?attempt=x")[0], 400)


if __name__ == "__main__":
    unittest.main()
