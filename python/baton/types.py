"""Typed, read-only views of what the control plane returns: jobs, attempts, nodes, queues.

Each is a frozen dataclass built from the wire message (`from_proto`), with Python types:
`datetime` (UTC) for times, `None` for unset ones, enums for states. The raw message stays
reachable as `.proto` for fields this module does not (yet) surface.
"""

from __future__ import annotations

import dataclasses
import datetime
import enum
from typing import Any, List, Optional, Tuple

from baton.spec import JobSpec
from baton.v1 import jobs_pb2, types_pb2


class JobState(str, enum.Enum):
    """A job's place in its lifecycle (values are the names `baton ps` prints)."""

    PENDING = "pending"
    SCHEDULED = "scheduled"
    STARTING = "starting"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"
    UNKNOWN = "unknown"

    @property
    def terminal(self) -> bool:
        """Whether the job is over (succeeded, failed or cancelled)."""
        return self in (JobState.SUCCEEDED, JobState.FAILED, JobState.CANCELLED)

    @classmethod
    def from_proto(cls, value: int) -> "JobState":
        name = types_pb2.JobState.Name(value) if value in types_pb2.JobState.values() else ""
        return cls.__members__.get(name.replace("JOB_STATE_", ""), cls.UNKNOWN)

    def to_proto(self) -> int:
        if self is JobState.UNKNOWN:
            return types_pb2.JOB_STATE_UNSPECIFIED
        return types_pb2.JobState.Value("JOB_STATE_" + self.name)

    @classmethod
    def parse(cls, value: "JobState | str") -> "JobState":
        """A state from a JobState or its name, any case ("running", "RUNNING")."""
        if isinstance(value, JobState):
            return value
        member = cls.__members__.get(str(value).upper())
        if member is None or member is cls.UNKNOWN:
            from baton.errors import InvalidArgument
            names = ", ".join(s.value for s in cls if s is not cls.UNKNOWN)
            raise InvalidArgument(f"state: '{value}' is not a job state; use one of {names}")
        return member


class NodeState(str, enum.Enum):
    """Health and schedulability of a node."""

    READY = "ready"
    NOT_READY = "not-ready"
    LOST = "lost"
    DRAINED = "drained"
    UNKNOWN = "unknown"

    @classmethod
    def from_proto(cls, value: int) -> "NodeState":
        name = types_pb2.NodeState.Name(value) if value in types_pb2.NodeState.values() else ""
        return cls.__members__.get(name.replace("NODE_STATE_", ""), cls.UNKNOWN)

    def to_proto(self) -> int:
        if self is NodeState.UNKNOWN:
            return types_pb2.NODE_STATE_UNSPECIFIED
        return types_pb2.NodeState.Value("NODE_STATE_" + self.name)


def _time(msg, field: str) -> Optional[datetime.datetime]:
    if not msg.HasField(field):
        return None
    ts = getattr(msg, field)
    return datetime.datetime.fromtimestamp(ts.seconds + ts.nanos / 1e9, tz=datetime.timezone.utc)


@dataclasses.dataclass(frozen=True)
class TaskAssignment:
    """Where one task of an attempt runs."""

    task_index: int
    node: str
    gpu_indices: Tuple[int, ...]


@dataclasses.dataclass(frozen=True)
class Attempt:
    """One try at running a job: where its tasks were placed and how it ended."""

    number: int
    assignments: Tuple[TaskAssignment, ...]
    start_time: Optional[datetime.datetime]
    end_time: Optional[datetime.datetime]
    exit_code: int
    #: "succeeded", "task-failed", "preempted", "node-lost", "cancelled", "start-timeout";
    #: empty while the attempt is live.
    end_reason: str
    failed_task: Optional[int]
    #: The checkpoint this attempt resumed from (BATON_RESUME_FROM); "" = from scratch.
    resumed_from: str = ""
    #: The latest checkpoint this attempt reported, and when; "" / None = none.
    last_checkpoint_path: str = ""
    last_checkpoint_time: Optional[datetime.datetime] = None
    #: For an attempt that ended other than by success: seconds of work since its last
    #: checkpoint (or its start) that the next attempt must redo.
    work_lost_s: float = 0.0

    @classmethod
    def from_proto(cls, p: types_pb2.Attempt) -> "Attempt":
        return cls(
            number=p.number,
            assignments=tuple(TaskAssignment(a.task_index, a.node, tuple(a.gpu_indices))
                              for a in p.assignments),
            start_time=_time(p, "start_time"), end_time=_time(p, "end_time"),
            exit_code=p.exit_code, end_reason=p.end_reason,
            failed_task=p.failed_task if p.HasField("failed_task") else None,
            resumed_from=p.resumed_from, last_checkpoint_path=p.last_checkpoint_path,
            last_checkpoint_time=_time(p, "last_checkpoint_time"), work_lost_s=p.work_lost_s)


@dataclasses.dataclass(frozen=True)
class Checkpoint:
    """Durable progress a job reported; the next attempt resumes from its latest one."""

    path: str
    attempt: int
    time: Optional[datetime.datetime]


@dataclasses.dataclass(frozen=True)
class Job:
    """A job as the control plane knows it."""

    id: str
    spec: JobSpec
    state: JobState
    #: Why it is in its state, for people ("waiting for GPUs: needs 2 task(s) x 8 H100 ...").
    reason: str
    attempts: Tuple[Attempt, ...]
    submit_time: Optional[datetime.datetime]
    start_time: Optional[datetime.datetime]
    end_time: Optional[datetime.datetime]
    proto: Any = dataclasses.field(repr=False, compare=False, default=None)

    @classmethod
    def from_proto(cls, p: types_pb2.Job) -> "Job":
        return cls(id=p.id, spec=JobSpec.from_proto(p.spec), state=JobState.from_proto(p.state),
                   reason=p.reason, attempts=tuple(Attempt.from_proto(a) for a in p.attempts),
                   submit_time=_time(p, "submit_time"), start_time=_time(p, "start_time"),
                   end_time=_time(p, "end_time"), proto=p)

    @property
    def checkpoint(self) -> Optional[Checkpoint]:
        """The job's latest checkpoint (any attempt's), or None before the first."""
        if self.proto is None or not self.proto.HasField("checkpoint"):
            return None
        c = self.proto.checkpoint
        return Checkpoint(c.path, c.attempt, _time(c, "time"))

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def queue(self) -> str:
        return self.spec.queue

    @property
    def done(self) -> bool:
        """Whether the job is over (succeeded, failed or cancelled)."""
        return self.state.terminal

    @property
    def succeeded(self) -> bool:
        return self.state is JobState.SUCCEEDED

    @property
    def exit_code(self) -> Optional[int]:
        """The last attempt's exit code once it ended, else None."""
        if not self.attempts or self.attempts[-1].end_time is None:
            return None
        return self.attempts[-1].exit_code

    def __str__(self) -> str:
        label = f" ({self.spec.name})" if self.spec.name else ""
        return f"job {self.id}{label}: {self.state.value}" + (
            f" — {self.reason}" if self.reason else "")


@dataclasses.dataclass(frozen=True)
class JobEvent:
    """A change to one job, as `Client.watch` yields it."""

    #: "submitted", "state-changed" or "deleted".
    kind: str
    job: Job
    #: Increases by one per event on a server; a gap means events were missed.
    sequence: int

    @classmethod
    def from_proto(cls, p: jobs_pb2.JobEvent) -> "JobEvent":
        kind = jobs_pb2.JobEvent.Kind.Name(p.kind).replace("KIND_", "").lower().replace("_", "-")
        return cls(kind=kind, job=Job.from_proto(p.job), sequence=p.sequence)


@dataclasses.dataclass(frozen=True)
class GpuStats:
    """One GPU's telemetry at one moment, from its agent's heartbeat. Values NVML cannot
    give on that GPU are None (the wire's -1)."""

    time: Optional[datetime.datetime]
    utilization_percent: float
    memory_used_mib: int
    temperature_c: float
    power_w: float
    sm_clock_mhz: Optional[int]
    memory_clock_mhz: Optional[int]
    #: Volatile ECC error counts (since the driver loaded).
    ecc_corrected: Optional[int]
    ecc_uncorrected: Optional[int]
    #: nvmlClocksThrottleReason bits; 0 = not throttled.
    throttle_reasons: int
    #: Non-empty when sampling failed (the NVML error).
    error: str
    #: Mean utilisation over the history the control plane keeps (about a minute).
    utilization_percent_avg: float

    @classmethod
    def from_proto(cls, p: types_pb2.GpuStats) -> "GpuStats":
        def known(v: int) -> Optional[int]:
            return None if v < 0 else v
        return cls(time=_time(p, "time"), utilization_percent=p.utilization_percent,
                   memory_used_mib=p.memory_used_mib, temperature_c=p.temperature_c,
                   power_w=p.power_w, sm_clock_mhz=known(p.sm_clock_mhz),
                   memory_clock_mhz=known(p.memory_clock_mhz),
                   ecc_corrected=known(p.ecc_corrected),
                   ecc_uncorrected=known(p.ecc_uncorrected),
                   throttle_reasons=p.throttle_reasons, error=p.error,
                   utilization_percent_avg=p.utilization_percent_avg)


@dataclasses.dataclass(frozen=True)
class Gpu:
    """One GPU of a node, with its health and (when the agent has sent any) telemetry."""

    index: int
    uuid: str
    model: str
    memory_mib: int
    nvlink_domain: int
    #: The GPU takes no new work: a health event (an Xid, ECC errors) drained it.
    drained: bool = False
    #: Why it was drained (or why it is unhealthy); empty when healthy.
    health_reason: str = ""
    #: Host NUMA node; None = unknown.
    numa_node: Optional[int] = None
    pci_bus_id: str = ""
    #: MIG profiles of its MIG devices ("1g.10gb"); empty when MIG is off.
    mig_profiles: Tuple[str, ...] = ()
    #: The latest telemetry; None before the first heartbeat that reported it.
    stats: Optional[GpuStats] = None

    @property
    def healthy(self) -> bool:
        """Not drained, and its last sample (if any) reported no error."""
        return not self.drained and not (self.stats is not None and self.stats.error)

    @classmethod
    def from_proto(cls, g: types_pb2.Gpu) -> "Gpu":
        # An unset numa_node (0 on the wire) cannot be told from NUMA node 0; -1 is the
        # agent's "unknown".
        return cls(index=g.index, uuid=g.uuid, model=g.model, memory_mib=g.memory_mib,
                   nvlink_domain=g.nvlink_domain, drained=g.drained,
                   health_reason=g.health_reason,
                   numa_node=None if g.numa_node < 0 else g.numa_node,
                   pci_bus_id=g.pci_bus_id, mig_profiles=tuple(g.mig_profiles),
                   stats=GpuStats.from_proto(g.stats) if g.HasField("stats") else None)


@dataclasses.dataclass(frozen=True)
class Node:
    """A machine in the fleet."""

    name: str
    state: NodeState
    reason: str
    gpus: Tuple[Gpu, ...]
    gpus_allocated: int
    rack: str
    pool: str
    cpus: int
    memory_mib: int
    address: str
    last_heartbeat: Optional[datetime.datetime]
    proto: Any = dataclasses.field(repr=False, compare=False, default=None)

    @property
    def gpus_idle(self) -> int:
        return len(self.gpus) - self.gpus_allocated

    @property
    def gpus_healthy(self) -> int:
        """GPUs neither drained nor reporting a sampling error."""
        return sum(1 for g in self.gpus if g.healthy)

    @classmethod
    def from_proto(cls, p: types_pb2.Node) -> "Node":
        return cls(name=p.name, state=NodeState.from_proto(p.state), reason=p.reason,
                   gpus=tuple(Gpu.from_proto(g) for g in p.gpus),
                   gpus_allocated=p.gpus_allocated, rack=p.rack, pool=p.pool, cpus=p.cpus,
                   memory_mib=p.memory_mib, address=p.address,
                   last_heartbeat=_time(p, "last_heartbeat"), proto=p)


@dataclasses.dataclass(frozen=True)
class Queue:
    """A tenant's share of the cluster and its current use."""

    name: str
    parent: str
    quota_gpus: Optional[str]
    limit_gpus: Optional[str]
    weight: int
    priority: int
    pending_jobs: int
    running_jobs: int
    gpus_in_use: str

    @classmethod
    def from_proto(cls, p: types_pb2.Queue) -> "Queue":
        return cls(name=p.name, parent=p.parent, quota_gpus=p.quota_gpus or None,
                   limit_gpus=p.limit_gpus or None, weight=p.weight, priority=p.priority,
                   pending_jobs=p.pending_jobs, running_jobs=p.running_jobs,
                   gpus_in_use=p.gpus_in_use or "0")


def jobs_from(protos) -> List[Job]:
    return [Job.from_proto(p) for p in protos]
