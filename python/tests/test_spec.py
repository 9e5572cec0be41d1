"""Client-side job spec checks and error mapping: no server needed."""

import datetime

import grpc
import pytest

import baton
from baton.errors import from_rpc_error
from baton.spec import JobSpec, parse_duration


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


def test_round_trip_through_the_wire_form():
    s = JobSpec(command=["a", "b"], name="n", queue="q", priority=5, tasks=3, gpus=2,
                gpu_type=["A100", "H100"], gpu_preference=["H100"], gang=False,
                runtime=datetime.timedelta(minutes=2), env={"X": "y"}, ranks_per_task=4,
                max_attempts=3).validate()
    assert JobSpec.from_proto(s.to_proto()) == s


@pytest.mark.parametrize("fields, message", [
    ({"gpu": 1}, "spec.gpu: unknown field; did you mean gpus?"),
    ({"comand": "x"}, "did you mean command?"),
    ({"gpus": 0}, "spec.gpus: must be at least 1, got 0"),
    ({"gpus": 0.5}, "fractional GPUs (0.5) are not schedulable yet"),
    ({"gpus": 1.5}, "spec.gpus: 1.5 is not a whole number of GPUs"),
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
