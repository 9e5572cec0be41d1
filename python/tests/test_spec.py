"""Client-side job spec checks and error mapping: no server needed."""

import datetime

import grpc
import pytest

import baton
from baton.errors import from_rpc_error
from baton.spec import JobSpec, parse_duration
from baton.v1 import types_pb2


def test_from_dict_converts_the_yaml_forms():
    s = JobSpec.from_dict({"name": "t", "command": "python train.py --lr 3e-4", "gpus": "8",
                           "tasks": 2, "gpu_type": "H100", "runtime": "1h30m",
                           "env": {"A": "1"}, "queue": None, "simulate_duration": 2.5})
    assert s.command == ["python", "train.py", "--lr", "3e-4"]
    assert s.gpus == 8 and s.tasks == 2 and s.gpu_type == ["H100"]
    assert s.runtime == 5400 and s.simulate_duration == 2.5
    assert s.queue == "default"  # None keeps the default, as in YAML
    p = s.to_proto()
    assert p.gpus_per_task == "8" and p.estimated_runtime_s == 5400
    assert p.simulate_duration_ms == 2500 and list(p.gpu_types) == ["H100"]
    assert p.gang is True and p.HasField("gang")


def test_limits_backoff_and_notice_convert_to_the_wire_form():
    s = JobSpec.from_dict({"command": "x", "cpus": "2.50", "memory": "1.5Gi",
                           "restart_backoff": "1m30s", "preempt_notice": 45})
    assert s.cpus == 2.5 and s.memory == 3 * 512 * 1024 * 1024
    assert s.restart_backoff == 90 and s.preempt_notice == 45
    p = s.to_proto()
    assert p.cpus_per_task == "2.5" and p.memory_bytes_per_task == 1610612736
    assert p.restart_backoff_ms == 90000 and p.preempt_notice_s == 45
    # Suffixes as ParseByteSize reads them: binary Ki..Pi, decimal k/K..P.
    for text, size in [("512Mi", 512 << 20), ("2G", 2 * 10**9), ("3k", 3000), ("3K", 3000),
                       ("1Pi", 1 << 50), ("7", 7), (1024, 1024), ("0.5Ki", 512)]:
        assert JobSpec(command=["x"], memory=text).validate().memory == size, text
    # Whole CPUs stay ints; the wire's text is Quantity's canonical form.
    assert JobSpec(command=["x"], cpus="4.000").validate().cpus == 4
    assert JobSpec(command=["x"], cpus=0.125).to_proto().cpus_per_task == "0.125"


def test_defaults_mean_no_limit_and_server_defaults():
    s = JobSpec(command=["x"]).validate()
    assert (s.cpus, s.memory, s.restart_backoff, s.preempt_notice) == (0, 0, 0, 0)
    p = s.to_proto()
    assert p.cpus_per_task == "" and p.memory_bytes_per_task == 0
    assert p.restart_backoff_ms == 0 and p.preempt_notice_s == 0
    # Sub-unit waits round up so they do not become "none".
    p = JobSpec(command=["x"], restart_backoff=0.0004, preempt_notice=0.2).to_proto()
    assert p.restart_backoff_ms == 1 and p.preempt_notice_s == 1
    p = JobSpec(command=["x"], restart_backoff=0.3, preempt_notice=3.0000000001).to_proto()
    assert p.restart_backoff_ms == 300 and p.preempt_notice_s == 3


def test_round_trip_through_the_wire_form():
    s = JobSpec(command=["a", "b"], name="n", queue="q", priority=5, tasks=3, gpus=2,
                gpu_type=["A100", "H100"], gpu_preference=["H100"], gang=False,
                runtime=datetime.timedelta(minutes=2), env={"X": "y"}, ranks_per_task=4,
                max_attempts=3, cpus="0.5", memory="16Gi", restart_backoff="10s",
                preempt_notice="5m").validate()
    assert JobSpec.from_proto(s.to_proto()) == s


@pytest.mark.parametrize("fields, message", [
    ({"gpu": 1}, "spec.gpu: unknown field; did you mean gpus?"),
    ({"comand": "x"}, "did you mean command?"),
    ({"gpus": 0}, "spec.gpus: must be more than 0 (whole GPUs, or a fraction of one such as "
                  "0.5), got 0"),
    ({"gpus": -0.5}, "spec.gpus: must be more than 0"),
    ({"gpus": 1.5}, "spec.gpus: 1.5 is neither a whole number of GPUs nor a fraction of one"),
    ({"gpus": 0.0001}, "spec.gpus: expected a number with at most 3 decimals"),
    ({"mig": "1g10gb"}, "spec.mig: '1g10gb' is not a MIG profile (written like 1g.10gb"),
    ({"mig": "8g.80gb"}, "spec.mig: '8g.80gb' is not a MIG profile"),
    ({"mig": 1}, "spec.mig: expected a MIG profile such as 1g.10gb, got 1"),
    ({"mig": "1g.10gb", "gpus": 0.5}, "spec.gpus: a MIG job asks for whole MIG instances"),
    ({"mig": "1g.10gb", "gpu_type": "A100"}, "spec.mig: cannot be combined with gpu_type"),
    ({"gpus": 65}, "at most 64 GPUs per task"),
    ({"gpus": "many"}, "spec.gpus: expected a number of GPUs, got 'many'"),
    ({"gpus": True}, "spec.gpus: expected a number of GPUs"),
    ({"tasks": 0}, "spec.tasks: must be between 1 and 100000, got 0"),
    ({"tasks": "4"}, "spec.tasks: expected a whole number, got '4'"),
    ({"priority": 2000}, "spec.priority: must be between -1000 and 1000"),
    ({"queue": ""}, "spec.queue: must be a non-empty string"),
    ({"runtime": "2 hours"}, "spec.runtime: '2 hours' is not a duration"),
    ({"runtime": 0}, "spec.runtime: must be positive"),
    ({"runtime": -5}, "spec.runtime: must not be negative"),
    ({"gpu_type": ["H100", ""]}, "spec.gpu_type[1]: must not be empty"),
    ({"gpu_type": "H100", "gpu_preference": "A100"},
     "spec.gpu_preference: 'A100' is not among the allowed gpu_type"),
    ({"gang": "yes"}, "spec.gang: expected true or false"),
    ({"env": {"BATON_JOB_ID": "1"}}, "'BATON_JOB_ID' is reserved"),
    ({"env": {"1X": "1"}}, "spec.env: '1X' is not a valid variable name"),
    ({"env": {"X": 1}}, "spec.env.X: expected a string"),
    ({"env": ["X=1"]}, "spec.env: expected a mapping"),
    ({"command": ["ok", 3]}, "spec.command[1]: expected a string"),
    ({"ranks_per_task": 0}, "spec.ranks_per_task: must be between 1 and 1024"),
    ({"max_attempts": 1001}, "spec.max_attempts: must be between 1 and 1000"),
    ({"jobs": []}, "multi-job file"),
    ({"cpus": -1}, "spec.cpus: must be between 0 and 4096 (0 = no limit), got -1"),
    ({"cpus": 4096.5}, "spec.cpus: must be between 0 and 4096 (0 = no limit), got 4096.5"),
    ({"cpus": "0.0001"}, "spec.cpus: expected a number with at most 3 decimals, got '0.0001'"),
    ({"cpus": "lots"}, "spec.cpus: expected a number, got 'lots'"),
    ({"cpus": True}, "spec.cpus: expected a number, got True"),
    ({"memory": "16GB"}, "spec.memory: '16GB' is not a byte size; use bytes or a suffix Ki, Mi"),
    ({"memory": -1}, "spec.memory: '-1' is not a byte size"),
    ({"memory": "0.5"}, "spec.memory: '0.5' is not a whole number of bytes"),
    ({"memory": "2Pi"}, "spec.memory: must be between 0 and 1Pi (0 = no limit), got "
                        "2251799813685248"),
    ({"memory": "99999999999P"}, "spec.memory: '99999999999P' is too large"),
    ({"memory": [1]}, "spec.memory: expected a byte size (512Mi, 16Gi), got [1]"),
    ({"restart_backoff": "2h"}, "spec.restart_backoff: must be between 0 and 1h00m"),
    ({"preempt_notice": 3601}, "spec.preempt_notice: must be between 0 and 1h00m"),
    ({"preempt_notice": "later"}, "spec.preempt_notice: 'later' is not a duration"),
    ({"memroy": "1Gi"}, "spec.memroy: unknown field; did you mean memory?"),
])
def test_bad_fields_are_refused_with_the_field_named(fields, message):
    with pytest.raises(baton.InvalidSpec) as e:
        JobSpec.from_dict(fields)
    assert message in str(e.value)
    assert isinstance(e.value, ValueError)  # generic handlers still catch it


def test_not_a_mapping():
    with pytest.raises(baton.InvalidSpec, match="expected a mapping of job fields, got list"):
        JobSpec.from_dict(["echo"])


@pytest.mark.parametrize("text, seconds", [
    (3600, 3600), ("3600", 3600), ("90s", 90), ("15m", 900), ("1h30m", 5400), ("2d", 172800),
    (datetime.timedelta(seconds=1.5), 1.5), (0.25, 0.25)])
def test_durations(text, seconds):
    assert parse_duration(text, "runtime") == seconds


@pytest.mark.parametrize("text", ["", "1x", "h", "1h 30m", "-3", "1.5h", "99999999999999d"])
def test_bad_durations(text):
    with pytest.raises(baton.InvalidSpec, match="spec.runtime"):
        parse_duration(text, "runtime")


def test_job_state_names():
    assert baton.JobState.parse("running") is baton.JobState.RUNNING
    assert baton.JobState.parse("SUCCEEDED").terminal
    assert not baton.JobState.PENDING.terminal
    with pytest.raises(baton.InvalidArgument, match="'finished' is not a job state"):
        baton.JobState.parse("finished")


class FakeRpcError(grpc.RpcError):
    def __init__(self, code, details):
        self._code, self._details = code, details

    def code(self):
        return self._code

    def details(self):
        return self._details


@pytest.mark.parametrize("code, details, kind", [
    (grpc.StatusCode.NOT_FOUND, "job 7 not found", baton.JobNotFound),
    (grpc.StatusCode.INVALID_ARGUMENT, "spec.gpus_per_task: bad", baton.InvalidSpec),
    (grpc.StatusCode.INVALID_ARGUMENT, "page_token: bad", baton.InvalidArgument),
    (grpc.StatusCode.FAILED_PRECONDITION, "job can never run on this fleet: x",
     baton.Unschedulable),
    (grpc.StatusCode.UNAVAILABLE, "connection refused", baton.Unavailable),
    (grpc.StatusCode.RESOURCE_EXHAUSTED, "watch: the client fell too far behind",
     baton.WatchLost),
    (grpc.StatusCode.INTERNAL, "boom", baton.BatonError),
])
def test_server_errors_map_to_exceptions(code, details, kind):
    err = from_rpc_error(FakeRpcError(code, details), what="call", job_id="7")
    assert type(err) is kind
    assert err.code == code.name and err.details == details


def test_node_gpus_surface_health_topology_and_telemetry():
    p = types_pb2.Node(name="n", gpus_allocated=0)
    p.gpus.add(index=0, uuid="GPU-0", model="H100", memory_mib=81559, nvlink_domain=3,
               numa_node=1, pci_bus_id="0000:18:00.0", mig_profiles=["1g.10gb", "3g.40gb"])
    bad = p.gpus.add(index=1, uuid="GPU-1", model="H100", drained=True,
                     health_reason="Xid 79: GPU has fallen off the bus", numa_node=-1)
    bad.stats.utilization_percent = 50
    bad.stats.sm_clock_mhz = -1
    bad.stats.ecc_uncorrected = 2
    bad.stats.throttle_reasons = 0x4
    bad.stats.error = "nvmlDeviceGetTemperature: GPU is lost"
    bad.stats.time.seconds = 1700000000
    node = baton.Node.from_proto(p)
    ok, lost = node.gpus
    assert (ok.numa_node, ok.pci_bus_id, ok.mig_profiles) == (1, "0000:18:00.0",
                                                              ("1g.10gb", "3g.40gb"))
    assert ok.stats is None and ok.healthy and not ok.drained
    assert lost.drained and lost.health_reason.startswith("Xid 79") and not lost.healthy
    assert lost.numa_node is None  # -1: unknown
    assert lost.stats.sm_clock_mhz is None and lost.stats.ecc_uncorrected == 2
    assert lost.stats.throttle_reasons == 4 and lost.stats.error.endswith("GPU is lost")
    assert lost.stats.time.timestamp() == 1700000000
    assert node.gpus_healthy == 1
    # A sampling error alone makes a GPU unhealthy too.
    bad.drained = False
    assert not baton.Node.from_proto(p).gpus[1].healthy


def test_fractions_and_mig_profiles_reach_the_wire():
    half = JobSpec.from_dict({"command": "x", "gpus": "0.5"})
    assert half.gpus == 0.5
    assert half.to_proto().gpus_per_task == "0.5"
    assert JobSpec.from_proto(half.to_proto()).gpus == 0.5
    assert JobSpec.from_dict({"command": "x", "gpus": 0.125}).to_proto().gpus_per_task == "0.125"
    mig = JobSpec.from_dict({"command": "x", "mig": "1g.10gb", "gpus": 2})
    p = mig.to_proto()
    assert (p.mig_profile, p.gpus_per_task) == ("1g.10gb", "2")
    back = JobSpec.from_proto(p)
    assert (back.mig, back.gpus) == ("1g.10gb", 2)
    assert JobSpec.from_dict({"command": "x", "mig": "1c.3g.40gb"}).mig == "1c.3g.40gb"


def test_nodes_show_mig_instances_and_shares():
    p = types_pb2.Node(name="n", gpus_allocated=2)
    g0 = p.gpus.add(index=0, uuid="GPU-0", model="A100", mig_enabled=True)
    g0.mig_instances.add(uuid="MIG-a", profile="1g.10gb", job_id="7")
    g0.mig_instances.add(uuid="MIG-b", profile="1g.10gb")
    p.gpus.add(index=1, uuid="GPU-1", model="A100", shared="0.75")
    mig, shared = baton.Node.from_proto(p).gpus
    assert mig.mig_enabled and mig.mig_instances == (("MIG-a", "1g.10gb", "7"),
                                                     ("MIG-b", "1g.10gb", ""))
    assert shared.shared == "0.75" and shared.job_id == ""


def test_restart_scope_converts_and_is_checked():
    s = JobSpec.from_dict({"command": "x", "tasks": 4, "gang": False,
                           "restart_scope": "failed-tasks"})
    p = s.to_proto()
    assert p.restart_scope == types_pb2.RESTART_SCOPE_FAILED_TASKS
    assert JobSpec.from_proto(p).restart_scope == "failed-tasks"
    assert JobSpec(command=["x"]).to_proto().restart_scope == types_pb2.RESTART_SCOPE_UNSPECIFIED
    assert JobSpec.from_proto(JobSpec(command=["x"]).to_proto()).restart_scope is None
    with pytest.raises(baton.InvalidSpec, match="spec.restart_scope: 'some'"):
        JobSpec(command=["x"], restart_scope="some").validate()
    with pytest.raises(baton.InvalidSpec, match="failed-tasks needs gang: false"):
        JobSpec(command=["x"], tasks=2, restart_scope="failed-tasks").validate()


def test_task_runs_come_through_the_job_type():
    p = types_pb2.Job(id="3", state=types_pb2.JOB_STATE_RUNNING)
    r = p.task_runs.add(task_index=1, attempt=2, node="n1", how_ended="exited with code 3",
                        exit_code=3)
    r.start_time.seconds = 100
    a = p.attempts.add(number=2, task_attempts=[1, 2])
    job = baton.Job.from_proto(p)
    assert job.task_runs[0].exit_code == 3 and job.task_runs[0].attempt == 2
    assert job.task_runs[0].end_time is None
    assert job.attempts[0].task_attempts == (1, 2)
    assert a.number == 2
