"""Job specs: what a person submits, with the same fields and rules as a job YAML file.

`JobSpec` mirrors the job spec of docs/specs.md (and src/baton/spec/job_yaml.cc): the same
field names (`gpus`, `gpu_type`, `runtime`, ...), the same defaults and the same limits,
checked here before anything is sent, so a mistake is reported at once with the field's
name instead of as a server round trip. `JobSpec.from_dict` takes the mapping a YAML file
holds (or any dict), refuses unknown fields with a suggestion for typos, and converts the
convenient forms the YAML accepts: a string command is split on whitespace, one GPU type
may be given as a string, durations may be seconds, "90s", "1h30m" or a `timedelta`,
CPUs an exact decimal ("0.5", at most 3 decimals) and memory bytes or "16Gi", "512Mi", "2G".

Not responsible for: whether the queue or GPU types exist (the server knows the fleet and
refuses a job that can never fit with `Unschedulable`).
"""

from __future__ import annotations

import dataclasses
import datetime
import difflib
import math
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
MAX_CPUS_PER_TASK = 4096
MAX_MEMORY_BYTES_PER_TASK = 1 << 50  # 1 PiB
MAX_RESTART_BACKOFF_S = 3600
MAX_PREEMPT_NOTICE_S = 3600
_INT64_MAX = (1 << 63) - 1

Duration = Union[int, float, str, datetime.timedelta]

_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
# A MIG profile as src/baton/model/mig.cc reads it: "1g.10gb", "1c.3g.40gb", "1g.10gb+me".
_MIG_PROFILE = re.compile(r"(?i)(?:([1-9]\d{0,5})c\.)?([1-9]\d{0,5})g\.[1-9]\d{0,5}gb(?:\+[a-z0-9]+)*\Z")
MIG_SLICES_PER_GPU = 7
_DURATION_PART = re.compile(r"(\d{1,12})([smhd])")
_UNIT_S = {"s": 1, "m": 60, "h": 3600, "d": 86400}
# An exact decimal as src/baton/common/quantity.cc reads it: optional sign, digits, and at
# most 3 decimals ("4", "0.5", ".25", "5.").
_QUANTITY = re.compile(r"([-+]?)(\d*)(?:\.(\d*))?\Z")
# Byte-size suffixes in the order ParseByteSize tries them (binary first).
_BYTE_SUFFIXES = (("Ki", 1 << 10), ("Mi", 1 << 20), ("Gi", 1 << 30), ("Ti", 1 << 40),
                  ("Pi", 1 << 50), ("k", 1000), ("K", 1000), ("M", 10**6), ("G", 10**9),
                  ("T", 10**12), ("P", 10**15))


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


def _gpus(value: Any) -> Union[int, float]:
    """GPUs per task: a whole number 1..64, or a fraction of one GPU (0.001..0.999, at most
    3 decimals: the task shares a GPU), given as int, float or decimal string. Whole
    numbers come back as int, fractions as float."""
    if isinstance(value, bool):
        raise InvalidSpec(f"spec.gpus: expected a number of GPUs, got {value!r}")
    if isinstance(value, str):
        try:
            value = float(value) if "." in value else int(value)
        except ValueError:
            raise InvalidSpec(f"spec.gpus: expected a number of GPUs, got '{value}'") from None
    if isinstance(value, float):
        if value.is_integer():
            value = int(value)
        else:
            milli = _milli(repr(value))
            if milli is None:
                raise InvalidSpec(f"spec.gpus: expected a number with at most 3 decimals, "
                                  f"got {value!r}")
            if milli > 1000:
                raise InvalidSpec(f"spec.gpus: {value:g} is neither a whole number of GPUs nor "
                                  "a fraction of one GPU (below 1); a task shares at most one "
                                  "GPU")
            if milli <= 0:
                raise InvalidSpec("spec.gpus: must be more than 0 (whole GPUs, or a fraction "
                                  f"of one such as 0.5), got {value:g}")
            return milli / 1000
    if not isinstance(value, int):
        raise InvalidSpec(f"spec.gpus: expected a number of GPUs, got {type(value).__name__}")
    if value < 1:
        raise InvalidSpec("spec.gpus: must be more than 0 (whole GPUs, or a fraction of one "
                          f"such as 0.5), got {value}")
    if value > MAX_GPUS_PER_TASK:
        raise InvalidSpec(f"spec.gpus: at most {MAX_GPUS_PER_TASK} GPUs per task (one node), "
                          f"got {value}")
    return value


def _mig(value: Any) -> str:
    """A MIG profile ("1g.10gb"), or "" for whole GPUs."""
    if value is None or value == "":
        return ""
    if not isinstance(value, str):
        raise InvalidSpec(f"spec.mig: expected a MIG profile such as 1g.10gb, got {value!r}")
    m = _MIG_PROFILE.match(value)
    if not m or int(m.group(2)) > MIG_SLICES_PER_GPU or (
            m.group(1) and int(m.group(1)) > int(m.group(2))):
        raise InvalidSpec(f"spec.mig: '{value}' is not a MIG profile (written like 1g.10gb or "
                          "3g.40gb)")
    return value


def _number_text(value: Any) -> Optional[str]:
    """The text YAML would have held for a number or string; None for anything else."""
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return repr(value)  # shortest form: 0.5 -> "0.5", 1e-05 -> "1e-05" (not a quantity)
    return None


def _milli(text: str) -> Optional[int]:
    """Thousandths from an exact decimal ("0.5" -> 500); None if it is not one (more than 3
    decimals, no digits, anything but digits and one point)."""
    m = _QUANTITY.match(text)
    if not m or not (m.group(2) or m.group(3)):
        return None
    frac = m.group(3) or ""
    if len(frac) > 3:
        return None
    milli = int(m.group(2) or "0") * 1000 + int((frac + "000")[:3])
    return -milli if m.group(1) == "-" else milli


def _format_milli(milli: int) -> str:
    """Quantity::ToString: "4", "0.5", "0.125"."""
    sign = "-" if milli < 0 else ""
    whole, frac = divmod(abs(milli), 1000)
    if not frac:
        return f"{sign}{whole}"
    return f"{sign}{whole}." + f"{frac:03d}".rstrip("0")


def _cpus(value: Any) -> int:
    """CPUs per task in thousandths: 0 (no limit) .. 4096, at most 3 decimals."""
    text = _number_text(value)
    text = text.strip() if text is not None else None
    milli = _milli(text) if text is not None else None
    if milli is None:
        # Too fine a fraction gets its own hint; anything else is not a number.
        decimals = text.partition(".")[2] if text is not None else ""
        hint = " with at most 3 decimals" if len(decimals) > 3 and decimals.isdigit() else ""
        raise InvalidSpec(f"spec.cpus: expected a number{hint}, got {value!r}")
    if not 0 <= milli <= MAX_CPUS_PER_TASK * 1000:
        raise InvalidSpec(f"spec.cpus: must be between 0 and {MAX_CPUS_PER_TASK} "
                          f"(0 = no limit), got {_format_milli(milli)}")
    return milli


def parse_byte_size(value: Any, field: str = "memory") -> int:
    """Bytes from 1073741824, "16Gi", "512Mi", "1.5Gi", "2G" (as ParseByteSize in
    src/baton/common/quantity.cc). Raises InvalidSpec naming `field`."""
    text = _number_text(value)
    text = text.strip() if text is not None else None
    if text is None:
        raise InvalidSpec(f"spec.{field}: expected a byte size (512Mi, 16Gi), got {value!r}")
    bad = (f"spec.{field}: '{text}' is not a byte size; use bytes or a suffix Ki, Mi, Gi, Ti "
           "(or k, M, G, T): 512Mi, 16Gi")
    number, factor = text, 1
    for suffix, f in _BYTE_SUFFIXES:
        if len(text) > len(suffix) and text.endswith(suffix):
            number, factor = text[:-len(suffix)], f
            break
    if not number or number[0] in "-+":
        raise InvalidSpec(bad)
    milli = _milli(number)
    if milli is None:
        raise InvalidSpec(bad)
    if milli * factor % 1000:
        raise InvalidSpec(f"spec.{field}: '{text}' is not a whole number of bytes")
    size = milli * factor // 1000
    if size > _INT64_MAX:
        raise InvalidSpec(f"spec.{field}: '{text}' is too large")
    return size


def _memory(value: Any) -> int:
    size = parse_byte_size(value, "memory")
    if size > MAX_MEMORY_BYTES_PER_TASK:
        raise InvalidSpec(f"spec.memory: must be between 0 and 1Pi (0 = no limit), got {size}")
    return size


def _bounded_duration(value: Duration, field: str, most_s: int) -> float:
    seconds = parse_duration(value, field)
    if seconds > most_s:
        raise InvalidSpec(f"spec.{field}: must be between 0 and {_format_duration(most_s)}")
    return seconds


def _format_duration(seconds: int) -> str:
    """FormatDuration in src/baton/common/time.cc: 45s, 2m05s, 1h00m, 1d02h."""
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    if seconds < 86400:
        return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"
    return f"{seconds // 86400}d{seconds % 86400 // 3600:02d}h"


# JobSpec.restart_scope's names and their wire values (None = the job's default).
RESTART_SCOPES = {None: types_pb2.RESTART_SCOPE_UNSPECIFIED,
                  "all-tasks": types_pb2.RESTART_SCOPE_ALL_TASKS,
                  "failed-tasks": types_pb2.RESTART_SCOPE_FAILED_TASKS}

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
    #: GPUs per task: 1..64 whole GPUs, or a fraction of one GPU (0.5: the task shares a
    #: GPU with other fractional tasks). With `mig`: MIG instances per task.
    gpus: Union[int, float, str] = 1
    #: Run on MIG instances of this profile ("1g.10gb") instead of whole GPUs; "" = whole
    #: GPUs. Cannot be combined with gpu_type or gpu_preference.
    mig: str = ""
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
    #: CPU limit per task (all its ranks together): 0 (no limit) .. 4096, e.g. 16, 0.5, "2.5".
    #: Normalised to an int when whole, else a float.
    cpus: Union[int, float, str] = 0
    #: Memory limit per task: bytes or "64Gi", "512Mi", "2G"; 0 = no limit; at most 1Pi.
    #: Normalised to bytes (int).
    memory: Union[int, str] = 0
    #: Wait this long before retrying after a failure, doubling with each further failure;
    #: 0 (retry at once) .. 1h.
    restart_backoff: Duration = 0
    #: On preemption, drain or cancel: SIGTERM, then this long (BATON_PREEMPT_NOTICE) to
    #: checkpoint and exit before SIGKILL; 0 = the server's default grace; at most 1h.
    preempt_notice: Duration = 0
    #: What a task failure restarts: "all-tasks" (a new attempt of the whole job) or
    #: "failed-tasks" (only that task, in place; needs gang=False). None = the default:
    #: all-tasks for a gang, failed-tasks for a job with gang=False.
    restart_scope: Optional[str] = None

    FIELDS = ("name", "queue", "priority", "tasks", "gpus", "mig", "gpu_type", "gpu_preference",
              "gang",
              "runtime", "command", "env", "ranks_per_task", "max_attempts", "simulate_duration",
              "cpus", "memory", "restart_backoff", "preempt_notice", "restart_scope")

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
        mig = _mig(self.mig)
        gpu_type = _str_list(self.gpu_type, "gpu_type", split=False)
        gpu_preference = _str_list(self.gpu_preference, "gpu_preference", split=False)
        if mig and not isinstance(gpus, int):
            raise InvalidSpec("spec.gpus: a MIG job asks for whole MIG instances per task "
                              f"(1 or more), got {gpus:g}")
        if mig and (gpu_type or gpu_preference):
            raise InvalidSpec("spec.mig: cannot be combined with gpu_type or gpu_preference (a "
                              "MIG profile picks its GPUs)")
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
        cpus_milli = _cpus(self.cpus)
        cpus = cpus_milli // 1000 if cpus_milli % 1000 == 0 else cpus_milli / 1000
        memory = _memory(self.memory)
        backoff = _bounded_duration(self.restart_backoff, "restart_backoff", MAX_RESTART_BACKOFF_S)
        notice = _bounded_duration(self.preempt_notice, "preempt_notice", MAX_PREEMPT_NOTICE_S)
        if self.restart_scope not in RESTART_SCOPES:
            raise InvalidSpec(f"spec.restart_scope: {self.restart_scope!r} is not a restart "
                              "scope; use all-tasks or failed-tasks")
        if self.restart_scope == "failed-tasks" and self.gang and tasks > 1:
            raise InvalidSpec("spec.restart_scope: failed-tasks needs gang: false (a gang's "
                              "tasks start and restart together)")
        return JobSpec(command=command, name=self.name, queue=self.queue, priority=priority,
                       tasks=tasks, gpus=gpus, mig=mig, gpu_type=gpu_type,
                       gpu_preference=gpu_preference,
                       gang=self.gang, runtime=runtime, env=env, ranks_per_task=ranks,
                       max_attempts=attempts, simulate_duration=simulate, cpus=cpus,
                       memory=memory, restart_backoff=backoff, preempt_notice=notice,
                       restart_scope=self.restart_scope)

    def to_dict(self) -> Dict[str, Any]:
        """The YAML mapping of this spec (normalised; None for unset durations)."""
        return {f: getattr(self, f) for f in self.FIELDS}

    def to_proto(self) -> types_pb2.JobSpec:
        """The wire form; validates first."""
        s = self.validate()
        p = types_pb2.JobSpec(
            name=s.name, queue=s.queue, priority=s.priority, tasks=s.tasks,
            gpus_per_task=_format_milli(round(s.gpus * 1000)), mig_profile=s.mig,
            gpu_types=s.gpu_type, gpu_preference=s.gpu_preference,
            gang=s.gang, command=s.command, env=s.env, ranks_per_task=s.ranks_per_task,
            max_attempts=s.max_attempts)
        if s.runtime is not None:
            # The wire carries whole seconds; round up so a short estimate stays positive.
            p.estimated_runtime_s = int(-(-s.runtime // 1))
        if s.simulate_duration is not None:
            p.simulate_duration_ms = int(round(s.simulate_duration * 1000))
        if s.cpus:
            p.cpus_per_task = _format_milli(_cpus(s.cpus))
        p.memory_bytes_per_task = s.memory
        # The wire's units are coarser than a timedelta; round up, as the server does, so a
        # short wait or grace does not become none (after rounding off float noise: 0.3 s is
        # 300 ms, not 301).
        p.restart_backoff_ms = math.ceil(round(s.restart_backoff * 1000, 3))
        p.preempt_notice_s = math.ceil(round(s.preempt_notice, 6))
        if s.restart_scope is not None:
            p.restart_scope = RESTART_SCOPES[s.restart_scope]
        return p

    @classmethod
    def from_proto(cls, p: types_pb2.JobSpec) -> "JobSpec":
        """A spec from the wire form, with the server's defaults filled in."""
        return cls(
            command=list(p.command), name=p.name, queue=p.queue or "default",
            priority=p.priority, tasks=p.tasks or 1, gpus=_proto_gpus(p.gpus_per_task),
            mig=p.mig_profile,
            gpu_type=list(p.gpu_types), gpu_preference=list(p.gpu_preference),
            gang=p.gang if p.HasField("gang") else True,
            runtime=float(p.estimated_runtime_s) if p.estimated_runtime_s else None,
            env=dict(p.env), ranks_per_task=p.ranks_per_task or 1,
            max_attempts=p.max_attempts or 1,
            simulate_duration=p.simulate_duration_ms / 1000 if p.simulate_duration_ms else None,
            cpus=_proto_cpus(p.cpus_per_task), memory=p.memory_bytes_per_task,
            restart_backoff=p.restart_backoff_ms / 1000, preempt_notice=float(p.preempt_notice_s),
            restart_scope={v: k for k, v in RESTART_SCOPES.items()}.get(p.restart_scope))


def _proto_gpus(text: str) -> Union[int, float]:
    if not text:
        return 1
    value = float(text)
    return int(value) if value.is_integer() else value


def _proto_cpus(text: str) -> Union[int, float]:
    milli = (_milli(text) or 0) if text else 0  # the server sends what it validated
    return milli // 1000 if milli % 1000 == 0 else milli / 1000


SpecLike = Union[JobSpec, Mapping[str, Any]]


def as_spec(spec: SpecLike) -> JobSpec:
    """A validated JobSpec from a JobSpec or a dict."""
    if isinstance(spec, JobSpec):
        return spec.validate()
    return JobSpec.from_dict(spec)
