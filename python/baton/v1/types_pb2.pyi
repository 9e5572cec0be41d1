from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Iterable as _Iterable, Mapping as _Mapping, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor
JOB_STATE_CANCELLED: JobState
JOB_STATE_FAILED: JobState
JOB_STATE_PENDING: JobState
JOB_STATE_RUNNING: JobState
JOB_STATE_SCHEDULED: JobState
JOB_STATE_STARTING: JobState
JOB_STATE_SUCCEEDED: JobState
JOB_STATE_UNSPECIFIED: JobState
NODE_STATE_DRAINED: NodeState
NODE_STATE_LOST: NodeState
NODE_STATE_NOT_READY: NodeState
NODE_STATE_READY: NodeState
NODE_STATE_UNSPECIFIED: NodeState

class Attempt(_message.Message):
    __slots__ = ["assignments", "counts_toward_limit", "end_reason", "end_time", "exit_code", "failed_task", "last_checkpoint_path", "last_checkpoint_time", "number", "resumed_from", "start_time", "task_exits", "work_lost_s"]
    ASSIGNMENTS_FIELD_NUMBER: _ClassVar[int]
    COUNTS_TOWARD_LIMIT_FIELD_NUMBER: _ClassVar[int]
    END_REASON_FIELD_NUMBER: _ClassVar[int]
    END_TIME_FIELD_NUMBER: _ClassVar[int]
    EXIT_CODE_FIELD_NUMBER: _ClassVar[int]
    FAILED_TASK_FIELD_NUMBER: _ClassVar[int]
    LAST_CHECKPOINT_PATH_FIELD_NUMBER: _ClassVar[int]
    LAST_CHECKPOINT_TIME_FIELD_NUMBER: _ClassVar[int]
    NUMBER_FIELD_NUMBER: _ClassVar[int]
    RESUMED_FROM_FIELD_NUMBER: _ClassVar[int]
    START_TIME_FIELD_NUMBER: _ClassVar[int]
    TASK_EXITS_FIELD_NUMBER: _ClassVar[int]
    WORK_LOST_S_FIELD_NUMBER: _ClassVar[int]
    assignments: _containers.RepeatedCompositeFieldContainer[TaskAssignment]
    counts_toward_limit: bool
    end_reason: str
    end_time: _timestamp_pb2.Timestamp
    exit_code: int
    failed_task: int
    last_checkpoint_path: str
    last_checkpoint_time: _timestamp_pb2.Timestamp
    number: int
    resumed_from: str
    start_time: _timestamp_pb2.Timestamp
    task_exits: _containers.RepeatedCompositeFieldContainer[TaskExit]
    work_lost_s: float
    def __init__(self, number: _Optional[int] = ..., assignments: _Optional[_Iterable[_Union[TaskAssignment, _Mapping]]] = ..., start_time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., end_time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., exit_code: _Optional[int] = ..., end_reason: _Optional[str] = ..., counts_toward_limit: bool = ..., failed_task: _Optional[int] = ..., task_exits: _Optional[_Iterable[_Union[TaskExit, _Mapping]]] = ..., resumed_from: _Optional[str] = ..., last_checkpoint_time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., work_lost_s: _Optional[float] = ..., last_checkpoint_path: _Optional[str] = ...) -> None: ...

class Checkpoint(_message.Message):
    __slots__ = ["attempt", "path", "time"]
    ATTEMPT_FIELD_NUMBER: _ClassVar[int]
    PATH_FIELD_NUMBER: _ClassVar[int]
    TIME_FIELD_NUMBER: _ClassVar[int]
    attempt: int
    path: str
    time: _timestamp_pb2.Timestamp
    def __init__(self, path: _Optional[str] = ..., time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., attempt: _Optional[int] = ...) -> None: ...

class Gpu(_message.Message):
    __slots__ = ["drained", "health_reason", "index", "memory_mib", "mig_profiles", "model", "numa_node", "nvlink_domain", "pci_bus_id", "stats", "uuid"]
    DRAINED_FIELD_NUMBER: _ClassVar[int]
    HEALTH_REASON_FIELD_NUMBER: _ClassVar[int]
    INDEX_FIELD_NUMBER: _ClassVar[int]
    MEMORY_MIB_FIELD_NUMBER: _ClassVar[int]
    MIG_PROFILES_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    NUMA_NODE_FIELD_NUMBER: _ClassVar[int]
    NVLINK_DOMAIN_FIELD_NUMBER: _ClassVar[int]
    PCI_BUS_ID_FIELD_NUMBER: _ClassVar[int]
    STATS_FIELD_NUMBER: _ClassVar[int]
    UUID_FIELD_NUMBER: _ClassVar[int]
    drained: bool
    health_reason: str
    index: int
    memory_mib: int
    mig_profiles: _containers.RepeatedScalarFieldContainer[str]
    model: str
    numa_node: int
    nvlink_domain: int
    pci_bus_id: str
    stats: GpuStats
    uuid: str
    def __init__(self, index: _Optional[int] = ..., uuid: _Optional[str] = ..., model: _Optional[str] = ..., memory_mib: _Optional[int] = ..., nvlink_domain: _Optional[int] = ..., stats: _Optional[_Union[GpuStats, _Mapping]] = ..., drained: bool = ..., health_reason: _Optional[str] = ..., numa_node: _Optional[int] = ..., pci_bus_id: _Optional[str] = ..., mig_profiles: _Optional[_Iterable[str]] = ...) -> None: ...

class GpuStats(_message.Message):
    __slots__ = ["ecc_corrected", "ecc_uncorrected", "error", "memory_clock_mhz", "memory_used_mib", "power_w", "sm_clock_mhz", "temperature_c", "throttle_reasons", "time", "utilization_percent", "utilization_percent_avg"]
    ECC_CORRECTED_FIELD_NUMBER: _ClassVar[int]
    ECC_UNCORRECTED_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    MEMORY_CLOCK_MHZ_FIELD_NUMBER: _ClassVar[int]
    MEMORY_USED_MIB_FIELD_NUMBER: _ClassVar[int]
    POWER_W_FIELD_NUMBER: _ClassVar[int]
    SM_CLOCK_MHZ_FIELD_NUMBER: _ClassVar[int]
    TEMPERATURE_C_FIELD_NUMBER: _ClassVar[int]
    THROTTLE_REASONS_FIELD_NUMBER: _ClassVar[int]
    TIME_FIELD_NUMBER: _ClassVar[int]
    UTILIZATION_PERCENT_AVG_FIELD_NUMBER: _ClassVar[int]
    UTILIZATION_PERCENT_FIELD_NUMBER: _ClassVar[int]
    ecc_corrected: int
    ecc_uncorrected: int
    error: str
    memory_clock_mhz: int
    memory_used_mib: int
    power_w: float
    sm_clock_mhz: int
    temperature_c: float
    throttle_reasons: int
    time: _timestamp_pb2.Timestamp
    utilization_percent: float
    utilization_percent_avg: float
    def __init__(self, time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., utilization_percent: _Optional[float] = ..., memory_used_mib: _Optional[int] = ..., temperature_c: _Optional[float] = ..., power_w: _Optional[float] = ..., sm_clock_mhz: _Optional[int] = ..., memory_clock_mhz: _Optional[int] = ..., ecc_corrected: _Optional[int] = ..., ecc_uncorrected: _Optional[int] = ..., throttle_reasons: _Optional[int] = ..., error: _Optional[str] = ..., utilization_percent_avg: _Optional[float] = ...) -> None: ...

class Job(_message.Message):
    __slots__ = ["attempts", "checkpoint", "end_time", "id", "reason", "retry_after", "spec", "start_time", "state", "submit_time"]
    ATTEMPTS_FIELD_NUMBER: _ClassVar[int]
    CHECKPOINT_FIELD_NUMBER: _ClassVar[int]
    END_TIME_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    RETRY_AFTER_FIELD_NUMBER: _ClassVar[int]
    SPEC_FIELD_NUMBER: _ClassVar[int]
    START_TIME_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    SUBMIT_TIME_FIELD_NUMBER: _ClassVar[int]
    attempts: _containers.RepeatedCompositeFieldContainer[Attempt]
    checkpoint: Checkpoint
    end_time: _timestamp_pb2.Timestamp
    id: str
    reason: str
    retry_after: _timestamp_pb2.Timestamp
    spec: JobSpec
    start_time: _timestamp_pb2.Timestamp
    state: JobState
    submit_time: _timestamp_pb2.Timestamp
    def __init__(self, id: _Optional[str] = ..., spec: _Optional[_Union[JobSpec, _Mapping]] = ..., state: _Optional[_Union[JobState, str]] = ..., reason: _Optional[str] = ..., attempts: _Optional[_Iterable[_Union[Attempt, _Mapping]]] = ..., submit_time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., start_time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., end_time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., checkpoint: _Optional[_Union[Checkpoint, _Mapping]] = ..., retry_after: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class JobSpec(_message.Message):
    __slots__ = ["command", "cpus_per_task", "env", "estimated_runtime_s", "gang", "gpu_preference", "gpu_types", "gpus_per_task", "max_attempts", "memory_bytes_per_task", "name", "preempt_notice_s", "priority", "queue", "ranks_per_task", "restart_backoff_ms", "simulate_duration_ms", "tasks"]
    class EnvEntry(_message.Message):
        __slots__ = ["key", "value"]
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    COMMAND_FIELD_NUMBER: _ClassVar[int]
    CPUS_PER_TASK_FIELD_NUMBER: _ClassVar[int]
    ENV_FIELD_NUMBER: _ClassVar[int]
    ESTIMATED_RUNTIME_S_FIELD_NUMBER: _ClassVar[int]
    GANG_FIELD_NUMBER: _ClassVar[int]
    GPUS_PER_TASK_FIELD_NUMBER: _ClassVar[int]
    GPU_PREFERENCE_FIELD_NUMBER: _ClassVar[int]
    GPU_TYPES_FIELD_NUMBER: _ClassVar[int]
    MAX_ATTEMPTS_FIELD_NUMBER: _ClassVar[int]
    MEMORY_BYTES_PER_TASK_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    PREEMPT_NOTICE_S_FIELD_NUMBER: _ClassVar[int]
    PRIORITY_FIELD_NUMBER: _ClassVar[int]
    QUEUE_FIELD_NUMBER: _ClassVar[int]
    RANKS_PER_TASK_FIELD_NUMBER: _ClassVar[int]
    RESTART_BACKOFF_MS_FIELD_NUMBER: _ClassVar[int]
    SIMULATE_DURATION_MS_FIELD_NUMBER: _ClassVar[int]
    TASKS_FIELD_NUMBER: _ClassVar[int]
    command: _containers.RepeatedScalarFieldContainer[str]
    cpus_per_task: str
    env: _containers.ScalarMap[str, str]
    estimated_runtime_s: int
    gang: bool
    gpu_preference: _containers.RepeatedScalarFieldContainer[str]
    gpu_types: _containers.RepeatedScalarFieldContainer[str]
    gpus_per_task: str
    max_attempts: int
    memory_bytes_per_task: int
    name: str
    preempt_notice_s: int
    priority: int
    queue: str
    ranks_per_task: int
    restart_backoff_ms: int
    simulate_duration_ms: int
    tasks: int
    def __init__(self, name: _Optional[str] = ..., queue: _Optional[str] = ..., priority: _Optional[int] = ..., tasks: _Optional[int] = ..., gpus_per_task: _Optional[str] = ..., gpu_types: _Optional[_Iterable[str]] = ..., gpu_preference: _Optional[_Iterable[str]] = ..., gang: bool = ..., estimated_runtime_s: _Optional[int] = ..., command: _Optional[_Iterable[str]] = ..., env: _Optional[_Mapping[str, str]] = ..., ranks_per_task: _Optional[int] = ..., max_attempts: _Optional[int] = ..., simulate_duration_ms: _Optional[int] = ..., cpus_per_task: _Optional[str] = ..., memory_bytes_per_task: _Optional[int] = ..., restart_backoff_ms: _Optional[int] = ..., preempt_notice_s: _Optional[int] = ...) -> None: ...

class LogChunk(_message.Message):
    __slots__ = ["data", "offset"]
    DATA_FIELD_NUMBER: _ClassVar[int]
    OFFSET_FIELD_NUMBER: _ClassVar[int]
    data: bytes
    offset: int
    def __init__(self, data: _Optional[bytes] = ..., offset: _Optional[int] = ...) -> None: ...

class LogsRequest(_message.Message):
    __slots__ = ["attempt", "follow", "job_id", "offset", "rank", "task_index"]
    ATTEMPT_FIELD_NUMBER: _ClassVar[int]
    FOLLOW_FIELD_NUMBER: _ClassVar[int]
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    OFFSET_FIELD_NUMBER: _ClassVar[int]
    RANK_FIELD_NUMBER: _ClassVar[int]
    TASK_INDEX_FIELD_NUMBER: _ClassVar[int]
    attempt: int
    follow: bool
    job_id: str
    offset: int
    rank: int
    task_index: int
    def __init__(self, job_id: _Optional[str] = ..., task_index: _Optional[int] = ..., rank: _Optional[int] = ..., attempt: _Optional[int] = ..., offset: _Optional[int] = ..., follow: bool = ...) -> None: ...

class Node(_message.Message):
    __slots__ = ["address", "cpus", "gpus", "gpus_allocated", "last_heartbeat", "memory_mib", "name", "pool", "rack", "reason", "state"]
    ADDRESS_FIELD_NUMBER: _ClassVar[int]
    CPUS_FIELD_NUMBER: _ClassVar[int]
    GPUS_ALLOCATED_FIELD_NUMBER: _ClassVar[int]
    GPUS_FIELD_NUMBER: _ClassVar[int]
    LAST_HEARTBEAT_FIELD_NUMBER: _ClassVar[int]
    MEMORY_MIB_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    POOL_FIELD_NUMBER: _ClassVar[int]
    RACK_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    address: str
    cpus: int
    gpus: _containers.RepeatedCompositeFieldContainer[Gpu]
    gpus_allocated: int
    last_heartbeat: _timestamp_pb2.Timestamp
    memory_mib: int
    name: str
    pool: str
    rack: str
    reason: str
    state: NodeState
    def __init__(self, name: _Optional[str] = ..., gpus: _Optional[_Iterable[_Union[Gpu, _Mapping]]] = ..., rack: _Optional[str] = ..., pool: _Optional[str] = ..., state: _Optional[_Union[NodeState, str]] = ..., cpus: _Optional[int] = ..., memory_mib: _Optional[int] = ..., address: _Optional[str] = ..., last_heartbeat: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., gpus_allocated: _Optional[int] = ..., reason: _Optional[str] = ...) -> None: ...

class Queue(_message.Message):
    __slots__ = ["gpus_in_use", "limit_gpus", "name", "parent", "pending_jobs", "priority", "quota_gpus", "running_jobs", "weight"]
    GPUS_IN_USE_FIELD_NUMBER: _ClassVar[int]
    LIMIT_GPUS_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    PARENT_FIELD_NUMBER: _ClassVar[int]
    PENDING_JOBS_FIELD_NUMBER: _ClassVar[int]
    PRIORITY_FIELD_NUMBER: _ClassVar[int]
    QUOTA_GPUS_FIELD_NUMBER: _ClassVar[int]
    RUNNING_JOBS_FIELD_NUMBER: _ClassVar[int]
    WEIGHT_FIELD_NUMBER: _ClassVar[int]
    gpus_in_use: str
    limit_gpus: str
    name: str
    parent: str
    pending_jobs: int
    priority: int
    quota_gpus: str
    running_jobs: int
    weight: int
    def __init__(self, name: _Optional[str] = ..., parent: _Optional[str] = ..., quota_gpus: _Optional[str] = ..., limit_gpus: _Optional[str] = ..., weight: _Optional[int] = ..., priority: _Optional[int] = ..., pending_jobs: _Optional[int] = ..., running_jobs: _Optional[int] = ..., gpus_in_use: _Optional[str] = ...) -> None: ...

class TaskAssignment(_message.Message):
    __slots__ = ["gpu_indices", "node", "task_index"]
    GPU_INDICES_FIELD_NUMBER: _ClassVar[int]
    NODE_FIELD_NUMBER: _ClassVar[int]
    TASK_INDEX_FIELD_NUMBER: _ClassVar[int]
    gpu_indices: _containers.RepeatedScalarFieldContainer[int]
    node: str
    task_index: int
    def __init__(self, task_index: _Optional[int] = ..., node: _Optional[str] = ..., gpu_indices: _Optional[_Iterable[int]] = ...) -> None: ...

class TaskExit(_message.Message):
    __slots__ = ["exit_code", "task_index"]
    EXIT_CODE_FIELD_NUMBER: _ClassVar[int]
    TASK_INDEX_FIELD_NUMBER: _ClassVar[int]
    exit_code: int
    task_index: int
    def __init__(self, task_index: _Optional[int] = ..., exit_code: _Optional[int] = ...) -> None: ...

class JobState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = []

class NodeState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = []
