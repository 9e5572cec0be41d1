"""Job specs: what a person submits, with the same fields and rules as a job YAML file.

`JobSpec` mirrors the job spec of docs/specs.md (and src/baton/spec/job_yaml.cc): the same
field names (`gpus`, `gpu_type`, `runtime`, ...), the same defaults and the same limits,
checked here before anything is sent, so a mistake is reported at once with the field's
name instead of as a server round trip. `JobSpec.from_dict` takes the mapping a YAML file
holds (or any dict), refuses unknown fields with a suggestion for typos, and converts the
convenient forms the YAML accepts: a string command is split on whitespace, one GPU type
may be given as a string, durations may be seconds, "90s", "1h30m" or a `timedelta`.

Not responsible for: whether the queue or GPU types exist (the server knows the fleet and
refuses a job that can never fit with `Unschedulable`).
"""

from __future__ import annotations

import dataclasses
import datetime
import difflib
import re
from typing import Any, Dict, List, Mapping, Optional, Sequence, Union

from baton.errors import InvalidSpec
from baton.v1 import types_pb2

# The server's limits (src/baton/model/job_spec.h and src/baton/api/convert.h).
MIN_PRIORITY, MAX_PRIORITY = -1000, 1000
MAX_TASKS = 100_000
MAX_GPUS_PER_TASK = 64
MAX_RANKS_PER_TASK = 1024
MAX_ATTEMPTS = 1000
MAX_COMMAND_ARGS = 4096
MAX_ENV_VARS = 4096
MAX_DURATION_S = 100 * 365 * 86400  # a century

Duration = Union[int, float, str, datetime.timedelta]

_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_DURATION_PART = re.compile(r"(\d{1,12})([smhd])")
_UNIT_S = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_duration(value: Duration, field: str) -> float:
    """Seconds from 3600, 2.5, "3600", "90s", "1h30m", "2d" or a timedelta.

    Raises InvalidSpec naming `field` for anything else, negative or over a century.
    """
    if isinstance(value, bool):
        raise InvalidSpec(f"spec.{field}: expected a duration (3600, 90s, 1h30m), got {value!r}")
    if isinstance(value, datetime.timedelta):
        seconds = value.total_seconds()
    elif isinstance(value, (int, float)):
        seconds = float(value)
    elif isinstance(value, str):
        text = value.strip()
        if text.isdigit():
            seconds = float(int(text))
        else:
            parts = _DURATION_PART.findall(text)
            if not text or "".join(n + u for n, u in parts) != text:
                raise InvalidSpec(
                    f"spec.{field}: '{value}' is not a duration; use seconds (3600) or units "
                    "s, m, h, d (90s, 1h30m, 2d)")
            seconds = float(sum(int(n) * _UNIT_S[u] for n, u in parts))
    else:
        raise InvalidSpec(
            f"spec.{field}: expected a duration (3600, 90s, 1h30m), got {type(value).__name__}")
    if seconds != seconds or seconds < 0:  # NaN or negative
        raise InvalidSpec(f"spec.{field}: must not be negative, got {value!r}")
    if seconds > MAX_DURATION_S:
        raise InvalidSpec(f"spec.{field}: '{value}' is too long (at most a century)")
    return seconds


def _int(value: Any, field: str, lo: int, hi: int) -> int:
    # bool is an int in Python; a spec saying `tasks: true` is a mistake, not 1.
    if isinstance(value, bool) or not isinstance(value, int):
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        else:
            raise InvalidSpec(f"spec.{field}: expected a whole number, got {value!r}")
    if not lo <= value <= hi:
        raise InvalidSpec(f"spec.{field}: must be between {lo} and {hi}, got {value}")
    return value


def _str_list(value: Any, field: str, split: bool) -> List[str]:
    """A list of strings; a single string is one item (or split on whitespace if `split`)."""
    if isinstance(value, str):
        if split:
            return value.split()
        if not value:
            raise InvalidSpec(f"spec.{field}: must not be empty")
        return [value]
    if not isinstance(value, (list, tuple)):
        raise InvalidSpec(f"spec.{field}: expected a list of strings, got {type(value).__name__}")
    out = []
    for i, item in enumerate(value):
        if not isinstance(item, str):
            raise InvalidSpec(f"spec.{field}[{i}]: expected a string, got {item!r}")
        if not split and not item:
            raise InvalidSpec(f"spec.{field}[{i}]: must not be empty")
        out.append(item)
    return out


def _gpus(value: Any) -> int:
    """GPUs per task: a whole number 1..64, given as int, whole float or decimal string."""
    if isinstance(value, bool):
        raise InvalidSpec(f"spec.gpus: expected a number of GPUs, got {value!r}")
    if isinstance(value, str):
        try:
            value = float(value) if "." in value else int(value)
        except ValueError:
            raise InvalidSpec(f"spec.gpus: expected a number of GPUs, got '{value}'") from None
    if isinstance(value, float):
        if 0 < value < 1:
            raise InvalidSpec(f"spec.gpus: fractional GPUs ({value:g}) are not schedulable yet; "
                              "ask for a whole number")
        if not value.is_integer():
            raise InvalidSpec(f"spec.gpus: {value:g} is not a whole number of GPUs")
        value = int(value)
    if not isinstance(value, int):
        raise InvalidSpec(f"spec.gpus: expected a number of GPUs, got {type(value).__name__}")
    if value < 1:
        raise InvalidSpec(f"spec.gpus: must be at least 1, got {value}")
    if value > MAX_GPUS_PER_TASK:
        raise InvalidSpec(f"spec.gpus: at most {MAX_GPUS_PER_TASK} GPUs per task (one node), "
                          f"got {value}")
    return value


@dataclasses.dataclass
class JobSpec:
    """One job, as in a job YAML file. Every field but `command` has the YAML's default.

    Construct it directly (`JobSpec(command=["python", "train.py"], gpus=8, tasks=2)`) or
    from a dict (`JobSpec.from_dict(yaml.safe_load(f))`); `validate()` (called by the
    client before submitting) normalises the convenient forms and raises InvalidSpec.
    """

    #: What each task runs: argv, or one string split on whitespace.
    command: Union[Sequence[str], str] = dataclasses.field(default_factory=list)
    #: A person's label; need not be unique.
    name: str = ""
    #: Queue (tenant) charged for the job.
    queue: str = "default"
    #: -1000..1000; higher goes first under order/priority.
    priority: int = 0
    #: Replicas (1..100000).
    tasks: int = 1
    #: GPUs per task (1..64, whole numbers).
    gpus: Union[int, float, str] = 1
    #: GPU types the job may run on (any of them); a string means one type; empty = any.
    gpu_type: Union[Sequence[str], str] = dataclasses.field(default_factory=list)
    #: Order to try the allowed types in; each must be among gpu_type.
    gpu_preference: Union[Sequence[str], str] = dataclasses.field(default_factory=list)
    #: All tasks start together or none does.
    gang: bool = True
    #: The submitter's estimate of the run time (seconds, "2h", timedelta); None = unknown.
    runtime: Optional[Duration] = None
    #: Extra environment for every task (names must not start with BATON_).
    env: Mapping[str, str] = dataclasses.field(default_factory=dict)
    #: Processes per task, each with its own RANK (1..1024).
    ranks_per_task: int = 1
    #: Attempts before the job fails (1 = no retry).
    max_attempts: int = 1
    #: For simulated agents only: how long each task "runs" before exiting 0.
    simulate_duration: Optional[Duration] = None

    FIELDS = ("name", "queue", "priority", "tasks", "gpus", "gpu_type", "gpu_preference", "gang",
              "runtime", "command", "env", "ranks_per_task", "max_attempts", "simulate_duration")

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "JobSpec":
        """A spec from a job YAML mapping. Unknown fields are refused (with a suggestion);
        fields set to None keep their default, as in YAML."""
        if isinstance(data, JobSpec):
            return data
        if not isinstance(data, Mapping):
            raise InvalidSpec(f"spec: expected a mapping of job fields, got {type(data).__name__}")
        if "jobs" in data:
            raise InvalidSpec("spec: this is a multi-job file (jobs:); submit each of "
                              "data['jobs'] on its own")
        kwargs = {}
        for key, value in data.items():
            if key not in cls.FIELDS:
                hint = difflib.get_close_matches(str(key), cls.FIELDS, n=1)
                raise InvalidSpec(f"spec.{key}: unknown field" +
                                  (f"; did you mean {hint[0]}?" if hint else
                                   f"; known fields: {', '.join(cls.FIELDS)}"))
            if value is not None:
                kwargs[key] = value
        return cls(**kwargs).validate()

    def validate(self) -> "JobSpec":
        """Checks every field against the server's rules and returns a normalised copy
        (lists for command and types, int GPUs, seconds for durations)."""
        if not isinstance(self.name, str):
            raise InvalidSpec(f"spec.name: expected a string, got {self.name!r}")
        if not isinstance(self.queue, str) or not self.queue:
            raise InvalidSpec("spec.queue: must be a non-empty string")
        priority = _int(self.priority, "priority", MIN_PRIORITY, MAX_PRIORITY)
        tasks = _int(self.tasks, "tasks", 1, MAX_TASKS)
        gpus = _gpus(self.gpus)
        gpu_type = _str_list(self.gpu_type, "gpu_type", split=False)
        gpu_preference = _str_list(self.gpu_preference, "gpu_preference", split=False)
        if gpu_type:
            for p in gpu_preference:
                if p not in gpu_type:
                    raise InvalidSpec(
                        f"spec.gpu_preference: '{p}' is not among the allowed gpu_type")
        if not isinstance(self.gang, bool):
            raise InvalidSpec(f"spec.gang: expected true or false, got {self.gang!r}")
        runtime = None
        if self.runtime is not None:
            runtime = parse_duration(self.runtime, "runtime")
            if runtime <= 0:
                raise InvalidSpec("spec.runtime: must be positive")
        command = _str_list(self.command, "command", split=True)
        if len(command) > MAX_COMMAND_ARGS:
            raise InvalidSpec(f"spec.command: at most {MAX_COMMAND_ARGS} arguments")
        if not isinstance(self.env, Mapping):
            raise InvalidSpec(f"spec.env: expected a mapping of names to values, got "
                              f"{type(self.env).__name__}")
        if len(self.env) > MAX_ENV_VARS:
            raise InvalidSpec(f"spec.env: at most {MAX_ENV_VARS} variables")
        env: Dict[str, str] = {}
        for k, v in self.env.items():
            if not isinstance(k, str) or not _ENV_NAME.match(k):
                raise InvalidSpec(f"spec.env: '{k}' is not a valid variable name")
            if k.startswith("BATON_"):
                raise InvalidSpec(f"spec.env: '{k}' is reserved (BATON_* is set by baton)")
            if not isinstance(v, str):
                raise InvalidSpec(f"spec.env.{k}: expected a string, got {v!r}")
            if "\0" in v:
                raise InvalidSpec(f"spec.env: value of '{k}' contains a NUL byte")
            env[k] = v
        ranks = _int(self.ranks_per_task, "ranks_per_task", 1, MAX_RANKS_PER_TASK)
        attempts = _int(self.max_attempts, "max_attempts", 1, MAX_ATTEMPTS)
        simulate = None
        if self.simulate_duration is not None:
            simulate = parse_duration(self.simulate_duration, "simulate_duration")
        return JobSpec(command=command, name=self.name, queue=self.queue, priority=priority,
                       tasks=tasks, gpus=gpus, gpu_type=gpu_type, gpu_preference=gpu_preference,
                       gang=self.gang, runtime=runtime, env=env, ranks_per_task=ranks,
                       max_attempts=attempts, simulate_duration=simulate)

    def to_dict(self) -> Dict[str, Any]:
        """The YAML mapping of this spec (normalised; None for unset durations)."""
        return {f: getattr(self, f) for f in self.FIELDS}

    def to_proto(self) -> types_pb2.JobSpec:
        """The wire form; validates first."""
        s = self.validate()
        p = types_pb2.JobSpec(
            name=s.name, queue=s.queue, priority=s.priority, tasks=s.tasks,
            gpus_per_task=str(s.gpus), gpu_types=s.gpu_type, gpu_preference=s.gpu_preference,
            gang=s.gang, command=s.command, env=s.env, ranks_per_task=s.ranks_per_task,
            max_attempts=s.max_attempts)
        if s.runtime is not None:
            # The wire carries whole seconds; round up so a short estimate stays positive.
            p.estimated_runtime_s = int(-(-s.runtime // 1))
        if s.simulate_duration is not None:
            p.simulate_duration_ms = int(round(s.simulate_duration * 1000))
        return p

    @classmethod
    def from_proto(cls, p: types_pb2.JobSpec) -> "JobSpec":
        """A spec from the wire form, with the server's defaults filled in."""
        return cls(
            command=list(p.command), name=p.name, queue=p.queue or "default",
            priority=p.priority, tasks=p.tasks or 1, gpus=_proto_gpus(p.gpus_per_task),
            gpu_type=list(p.gpu_types), gpu_preference=list(p.gpu_preference),
            gang=p.gang if p.HasField("gang") else True,
            runtime=float(p.estimated_runtime_s) if p.estimated_runtime_s else None,
            env=dict(p.env), ranks_per_task=p.ranks_per_task or 1,
            max_attempts=p.max_attempts or 1,
            simulate_duration=p.simulate_duration_ms / 1000 if p.simulate_duration_ms else None)


def _proto_gpus(text: str) -> Union[int, float]:
    if not text:
        return 1
    value = float(text)
    return int(value) if value.is_integer() else value


SpecLike = Union[JobSpec, Mapping[str, Any]]


def as_spec(spec: SpecLike) -> JobSpec:
    """A validated JobSpec from a JobSpec or a dict."""
    if isinstance(spec, JobSpec):
        return spec.validate()
    return JobSpec.from_dict(spec)
