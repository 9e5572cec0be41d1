"""The SDK against a real batond with a real agent ("real", 2 H100s, runs processes) and two
simulated ones ("sim-0", "sim-1", 4 A100-80GBs each). See conftest.py."""

import signal
import socket
import threading

import pytest

import baton
from baton.v1 import jobs_pb2, types_pb2
from conftest import wait_for

# Jobs that must run real processes go to the real agent's H100s; long-running ones to the
# simulated A100-80GBs, so a test never waits for a process it does not need.
H100 = "NVIDIA H100 80GB HBM3"  # the model names the made-up GPUs report, as NVML would
A100 = "NVIDIA A100-SXM4-80GB"
REAL = {"gpu_type": H100}
SIM = {"gpu_type": A100}


def test_submit_wait_and_logs_of_a_real_process(client, queue):
    job = client.submit({"name": "hello", "queue": queue, "command":
                         ["sh", "-c", "echo hello from $BATON_JOB_ID; echo oops >&2"], **REAL})
    assert job.id and job.name == "hello" and job.queue == queue
    assert job.state in (baton.JobState.PENDING, baton.JobState.SCHEDULED,
                         baton.JobState.STARTING)
    done = client.wait(job, timeout=60)
    assert done.state is baton.JobState.SUCCEEDED and done.succeeded and done.done
    assert done.exit_code == 0
    assert len(done.attempts) == 1 and done.attempts[0].end_reason == "succeeded"
    assert done.attempts[0].assignments[0].node == "real"
    assert done.start_time and done.end_time and done.submit_time <= done.start_time
    out = client.logs(done)
    assert f"hello from {job.id}\n" in out and "oops\n" in out


def test_a_failing_command_fails_with_its_exit_code(client, queue):
    job = client.run(command=["sh", "-c", "exit 3"], queue=queue, timeout=60, **REAL)
    assert job.state is baton.JobState.FAILED and not job.succeeded
    assert job.exit_code == 3 and job.attempts[-1].end_reason == "task-failed"


def test_stream_logs_follows_until_the_task_ends(client, queue):
    # Asked for right after submitting: the stream waits for the task to start.
    job = client.submit(JobSpec_lines(queue))
    with client.stream_logs(job, follow=True, timeout=60) as stream:
        data = b"".join(stream)
    assert data.decode().splitlines() == [f"line {i}" for i in range(1, 6)]
    assert stream.offset == len(data)
    assert client.wait(job, timeout=60).succeeded


def JobSpec_lines(queue):  # noqa: N802 - reads as the spec it makes
    return baton.JobSpec(command=["sh", "-c", "for i in 1 2 3 4 5; do echo line $i; done"],
                         queue=queue, gpu_type=H100)


def test_watch_sees_every_state_in_order(client, queue):
    with client.watch(queue=queue, timeout=60) as events:
        job = client.submit(command=["true"], queue=queue, **REAL)
        seen = []
        for ev in events:
            assert ev.job.id == job.id and ev.job.queue == queue
            seen.append(ev)
            if ev.job.done:
                break
    assert seen[0].kind == "submitted" and seen[0].job.state is baton.JobState.PENDING
    assert all(e.kind == "state-changed" for e in seen[1:])
    assert seen[-1].job.state is baton.JobState.SUCCEEDED
    assert [e.sequence for e in seen] == sorted(e.sequence for e in seen)
    states = [e.job.state for e in seen]
    assert states.index(baton.JobState.RUNNING) < states.index(baton.JobState.SUCCEEDED)


def test_cancel_a_running_job(client, queue):
    job = client.submit(command=["train"], simulate_duration="10m", queue=queue, **SIM)
    running = None
    with client.watch(job, timeout=60) as events:
        current = client.get(job)
        if current.state is not baton.JobState.RUNNING:
            for ev in events:
                if ev.job.state is baton.JobState.RUNNING:
                    break
    running = client.get(job)
    assert running.state is baton.JobState.RUNNING
    assert running.attempts[-1].assignments[0].node.startswith("sim-")
    cancelled = client.cancel(job, reason="not needed any more")
    assert cancelled.state is baton.JobState.CANCELLED
    assert "not needed any more" in cancelled.reason
    assert client.wait(job, timeout=10).state is baton.JobState.CANCELLED
    # Cancelling a finished job changes nothing.
    assert client.cancel(job).state is baton.JobState.CANCELLED


def test_report_checkpoint_is_recorded_per_attempt(client, queue):
    job = client.submit(command=["train"], simulate_duration="10m", queue=queue, **SIM)
    wait_for("running", lambda: client.get(job).state is baton.JobState.RUNNING)
    assert client.get(job).checkpoint is None
    after = client.report_checkpoint(job, "/ckpt/step-100")
    assert after.checkpoint.path == "/ckpt/step-100" and after.checkpoint.attempt == 1
    assert after.checkpoint.time is not None
    a = after.attempts[0]
    assert a.last_checkpoint_path == "/ckpt/step-100" and a.last_checkpoint_time is not None
    assert a.resumed_from == "" and a.work_lost_s == 0.0  # still running
    with pytest.raises(baton.InvalidArgument, match="checkpoint.attempt"):
        client.report_checkpoint(job, "/ckpt/x", attempt=7)
    with pytest.raises(baton.JobNotFound):
        client.report_checkpoint("987654", "/ckpt/x")
    client.cancel(job)


def test_wait_times_out_with_the_last_known_state(client, queue):
    job = client.submit(command=["train"], simulate_duration="10m", queue=queue, **SIM)
    try:
        with pytest.raises(baton.WaitTimeout) as e:
            client.wait(job, timeout=0.5, resync=0.2)
        assert isinstance(e.value, TimeoutError)
        assert e.value.job is not None and e.value.job.id == job.id
        assert not e.value.job.done
        assert "did not finish within 0.5s" in str(e.value)
    finally:
        client.cancel(job)


def test_list_filters_and_pages(client, queue):
    ids = [client.submit(command=["x"], simulate_duration=0.05, queue=queue, **SIM).id
           for _ in range(5)]
    for i in ids:
        client.wait(i, timeout=60)
    jobs = client.list(queue=queue)
    assert [j.id for j in jobs] == list(reversed(ids))  # newest first
    assert [j.id for j in client.list(queue=queue, limit=2)] == list(reversed(ids))[:2]
    paged = list(client.iter_jobs(queue=queue, page_size=2))  # three pages
    assert [j.id for j in paged] == [j.id for j in jobs]
    assert len(client.list(queue=queue, state="succeeded")) == 5
    assert client.list(queue=queue, state=baton.JobState.FAILED) == []
    assert client.list(queue=queue + "-nobody") == []
    with pytest.raises(baton.InvalidArgument, match="not a job state"):
        client.list(state="done")


def test_unknown_and_malformed_job_ids(client):
    with pytest.raises(baton.JobNotFound) as e:
        client.get("999999")
    assert isinstance(e.value, LookupError) and e.value.code == "NOT_FOUND"
    assert "job 999999 not found" in str(e.value)
    with pytest.raises(baton.JobNotFound):
        client.cancel(999999)
    with pytest.raises(baton.JobNotFound):
        client.wait("999999", timeout=5)
    with pytest.raises(baton.InvalidArgument, match="'abc' is not a job id"):
        client.get("abc")


def test_a_job_that_can_never_fit_is_unschedulable(client, queue):
    with pytest.raises(baton.Unschedulable) as e:
        client.submit(command=["x"], gpus=8, queue=queue)  # no node has 8 GPUs
    assert e.value.code == "FAILED_PRECONDITION" and "never run" in str(e.value)


def test_bad_specs_are_refused_before_sending(client, queue):
    with pytest.raises(baton.InvalidSpec, match="spec.gpus: must be at least 1"):
        client.submit(command=["x"], gpus=0, queue=queue)
    with pytest.raises(baton.InvalidSpec, match="not both"):
        client.submit({"command": ["x"]}, gpus=1)
    assert client.list(queue=queue) == []


def test_server_side_spec_errors_are_invalid_spec(client):
    # Bypass the SDK's own checks to see the server's answer mapped.
    bad = jobs_pb2.SubmitRequest(spec=types_pb2.JobSpec(command=["x"], gpus_per_task="0.5"))
    with pytest.raises(baton.InvalidSpec) as e:
        client._unary(client._jobs.Submit, bad, "submit")
    assert e.value.code == "INVALID_ARGUMENT" and "spec.gpus_per_task" in str(e.value)


def test_logs_of_a_simulated_job_are_unavailable(client, queue):
    job = client.run(command=["x"], simulate_duration=0.05, queue=queue, timeout=60, **SIM)
    with pytest.raises(baton.LogsUnavailable, match="serves no logs"):
        client.logs(job)


def test_nodes_and_queues(client, queue):
    nodes = {n.name: n for n in client.nodes()}
    assert set(nodes) == {"real", "sim-0", "sim-1"}
    assert all(n.state is baton.NodeState.READY for n in nodes.values())
    assert [g.model for g in nodes["real"].gpus] == [H100, H100]
    assert len(nodes["sim-0"].gpus) == 4
    wait_for("a heartbeat from sim-0", lambda: next(
        n for n in client.nodes() if n.name == "sim-0").last_heartbeat is not None)
    assert nodes["sim-1"].gpus_idle + nodes["sim-1"].gpus_allocated == 4
    assert [n.name for n in client.nodes("ready")] == sorted(nodes)
    assert client.nodes(baton.NodeState.LOST) == []
    with pytest.raises(baton.InvalidArgument, match="not a node state"):
        client.nodes("sleepy")
    job = client.submit(command=["x"], simulate_duration="10m", queue=queue, **SIM)
    try:
        mine = {q.name: q for q in client.queues()}[queue]
        assert mine.pending_jobs + mine.running_jobs == 1
    finally:
        client.cancel(job)


def test_an_unreachable_server_is_unavailable():
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with baton.Client(f"127.0.0.1:{port}", timeout=2) as c:
        with pytest.raises(baton.Unavailable) as e:
            c.get(1)
        with pytest.raises(baton.Unavailable):  # not retried forever: never reached
            c.wait(1)
    assert isinstance(e.value, ConnectionError) and e.value.code in ("UNAVAILABLE",
                                                                     "DEADLINE_EXCEEDED")


def test_client_uses_baton_server_from_the_environment(monkeypatch, cluster):
    monkeypatch.setenv("BATON_SERVER", f"127.0.0.1:{cluster.port}")
    with baton.Client() as c:
        assert c.server == f"127.0.0.1:{cluster.port}"
        assert len(c.nodes()) == 3


def test_wait_rides_out_a_control_plane_restart(own_cluster):
    c = own_cluster
    job = c.client.submit(command=["x"], simulate_duration="3s", gpu_type=A100)
    result = {}

    def waiter():
        try:
            result["job"] = c.client.wait(job, timeout=60, resync=0.5)
        except Exception as e:  # reported by the assertion below
            result["error"] = e

    wait_for("the job to run", lambda: c.client.get(job).state is baton.JobState.RUNNING)
    t = threading.Thread(target=waiter)
    t.start()
    c.procs["batond"].send_signal(signal.SIGKILL)
    c.procs["batond"].wait()
    c.start_batond()  # same port and data directory; the agent reconnects
    t.join(timeout=60)
    assert not t.is_alive(), "wait() did not return after the restart"
    assert "error" not in result, result.get("error")
    assert result["job"].state is baton.JobState.SUCCEEDED
