from baton.v1 import types_pb2 as _types_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Iterable as _Iterable, Mapping as _Mapping, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor
TASK_STATE_EXITED: TaskState
TASK_STATE_FAILED_TO_START: TaskState
TASK_STATE_RUNNING: TaskState
TASK_STATE_STARTING: TaskState
TASK_STATE_STOPPED: TaskState
TASK_STATE_UNSPECIFIED: TaskState

class AgentGpu(_message.Message):
    __slots__ = ["index", "memory_mib", "model", "uuid"]
    INDEX_FIELD_NUMBER: _ClassVar[int]
    MEMORY_MIB_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    UUID_FIELD_NUMBER: _ClassVar[int]
    index: int
    memory_mib: int
    model: str
    uuid: str
    def __init__(self, index: _Optional[int] = ..., uuid: _Optional[str] = ..., model: _Optional[str] = ..., memory_mib: _Optional[int] = ...) -> None: ...

class AgentMessage(_message.Message):
    __slots__ = ["heartbeat", "register", "task_status"]
    HEARTBEAT_FIELD_NUMBER: _ClassVar[int]
    REGISTER_FIELD_NUMBER: _ClassVar[int]
    TASK_STATUS_FIELD_NUMBER: _ClassVar[int]
    heartbeat: Heartbeat
    register: Register
    task_status: TaskStatus
    def __init__(self, register: _Optional[_Union[Register, _Mapping]] = ..., heartbeat: _Optional[_Union[Heartbeat, _Mapping]] = ..., task_status: _Optional[_Union[TaskStatus, _Mapping]] = ...) -> None: ...

class Directive(_message.Message):
    __slots__ = ["registered", "signal", "start_task", "stop_task"]
    REGISTERED_FIELD_NUMBER: _ClassVar[int]
    SIGNAL_FIELD_NUMBER: _ClassVar[int]
    START_TASK_FIELD_NUMBER: _ClassVar[int]
    STOP_TASK_FIELD_NUMBER: _ClassVar[int]
    registered: Registered
    signal: Signal
    start_task: StartTask
    stop_task: StopTask
    def __init__(self, start_task: _Optional[_Union[StartTask, _Mapping]] = ..., stop_task: _Optional[_Union[StopTask, _Mapping]] = ..., signal: _Optional[_Union[Signal, _Mapping]] = ..., registered: _Optional[_Union[Registered, _Mapping]] = ...) -> None: ...

class GpuTelemetry(_message.Message):
    __slots__ = ["memory_used_mib", "power_w", "temperature_c", "utilization_percent", "uuid"]
    MEMORY_USED_MIB_FIELD_NUMBER: _ClassVar[int]
    POWER_W_FIELD_NUMBER: _ClassVar[int]
    TEMPERATURE_C_FIELD_NUMBER: _ClassVar[int]
    UTILIZATION_PERCENT_FIELD_NUMBER: _ClassVar[int]
    UUID_FIELD_NUMBER: _ClassVar[int]
    memory_used_mib: int
    power_w: float
    temperature_c: float
    utilization_percent: float
    uuid: str
    def __init__(self, uuid: _Optional[str] = ..., utilization_percent: _Optional[float] = ..., memory_used_mib: _Optional[int] = ..., temperature_c: _Optional[float] = ..., power_w: _Optional[float] = ...) -> None: ...

class Heartbeat(_message.Message):
    __slots__ = ["gpus", "sequence"]
    GPUS_FIELD_NUMBER: _ClassVar[int]
    SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    gpus: _containers.RepeatedCompositeFieldContainer[GpuTelemetry]
    sequence: int
    def __init__(self, sequence: _Optional[int] = ..., gpus: _Optional[_Iterable[_Union[GpuTelemetry, _Mapping]]] = ...) -> None: ...

class Inventory(_message.Message):
    __slots__ = ["cpus", "gpus", "memory_mib"]
    CPUS_FIELD_NUMBER: _ClassVar[int]
    GPUS_FIELD_NUMBER: _ClassVar[int]
    MEMORY_MIB_FIELD_NUMBER: _ClassVar[int]
    cpus: int
    gpus: _containers.RepeatedCompositeFieldContainer[AgentGpu]
    memory_mib: int
    def __init__(self, gpus: _Optional[_Iterable[_Union[AgentGpu, _Mapping]]] = ..., cpus: _Optional[int] = ..., memory_mib: _Optional[int] = ...) -> None: ...

class Register(_message.Message):
    __slots__ = ["address", "agent_version", "inventory", "log_endpoint", "node_name", "rack", "tasks"]
    ADDRESS_FIELD_NUMBER: _ClassVar[int]
    AGENT_VERSION_FIELD_NUMBER: _ClassVar[int]
    INVENTORY_FIELD_NUMBER: _ClassVar[int]
    LOG_ENDPOINT_FIELD_NUMBER: _ClassVar[int]
    NODE_NAME_FIELD_NUMBER: _ClassVar[int]
    RACK_FIELD_NUMBER: _ClassVar[int]
    TASKS_FIELD_NUMBER: _ClassVar[int]
    address: str
    agent_version: str
    inventory: Inventory
    log_endpoint: str
    node_name: str
    rack: str
    tasks: _containers.RepeatedCompositeFieldContainer[TaskStatus]
    def __init__(self, node_name: _Optional[str] = ..., inventory: _Optional[_Union[Inventory, _Mapping]] = ..., agent_version: _Optional[str] = ..., address: _Optional[str] = ..., log_endpoint: _Optional[str] = ..., tasks: _Optional[_Iterable[_Union[TaskStatus, _Mapping]]] = ..., rack: _Optional[str] = ...) -> None: ...

class Registered(_message.Message):
    __slots__ = ["heartbeat_interval_ms", "node_name"]
    HEARTBEAT_INTERVAL_MS_FIELD_NUMBER: _ClassVar[int]
    NODE_NAME_FIELD_NUMBER: _ClassVar[int]
    heartbeat_interval_ms: int
    node_name: str
    def __init__(self, node_name: _Optional[str] = ..., heartbeat_interval_ms: _Optional[int] = ...) -> None: ...

class Signal(_message.Message):
    __slots__ = ["attempt", "job_id", "signal_number", "task_index"]
    ATTEMPT_FIELD_NUMBER: _ClassVar[int]
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    SIGNAL_NUMBER_FIELD_NUMBER: _ClassVar[int]
    TASK_INDEX_FIELD_NUMBER: _ClassVar[int]
    attempt: int
    job_id: str
    signal_number: int
    task_index: int
    def __init__(self, job_id: _Optional[str] = ..., attempt: _Optional[int] = ..., task_index: _Optional[int] = ..., signal_number: _Optional[int] = ...) -> None: ...

class StartTask(_message.Message):
    __slots__ = ["attempt", "checkpoint_dir", "command", "env", "gpu_indices", "gpu_uuids", "job_id", "ranks", "simulate_duration_ms", "task_index"]
    class EnvEntry(_message.Message):
        __slots__ = ["key", "value"]
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    ATTEMPT_FIELD_NUMBER: _ClassVar[int]
    CHECKPOINT_DIR_FIELD_NUMBER: _ClassVar[int]
    COMMAND_FIELD_NUMBER: _ClassVar[int]
    ENV_FIELD_NUMBER: _ClassVar[int]
    GPU_INDICES_FIELD_NUMBER: _ClassVar[int]
    GPU_UUIDS_FIELD_NUMBER: _ClassVar[int]
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    RANKS_FIELD_NUMBER: _ClassVar[int]
    SIMULATE_DURATION_MS_FIELD_NUMBER: _ClassVar[int]
    TASK_INDEX_FIELD_NUMBER: _ClassVar[int]
    attempt: int
    checkpoint_dir: str
    command: _containers.RepeatedScalarFieldContainer[str]
    env: _containers.ScalarMap[str, str]
    gpu_indices: _containers.RepeatedScalarFieldContainer[int]
    gpu_uuids: _containers.RepeatedScalarFieldContainer[str]
    job_id: str
    ranks: int
    simulate_duration_ms: int
    task_index: int
    def __init__(self, job_id: _Optional[str] = ..., attempt: _Optional[int] = ..., task_index: _Optional[int] = ..., command: _Optional[_Iterable[str]] = ..., env: _Optional[_Mapping[str, str]] = ..., gpu_uuids: _Optional[_Iterable[str]] = ..., checkpoint_dir: _Optional[str] = ..., gpu_indices: _Optional[_Iterable[int]] = ..., ranks: _Optional[int] = ..., simulate_duration_ms: _Optional[int] = ...) -> None: ...

class StopTask(_message.Message):
    __slots__ = ["attempt", "grace_period_s", "job_id", "task_index"]
    ATTEMPT_FIELD_NUMBER: _ClassVar[int]
    GRACE_PERIOD_S_FIELD_NUMBER: _ClassVar[int]
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    TASK_INDEX_FIELD_NUMBER: _ClassVar[int]
    attempt: int
    grace_period_s: int
    job_id: str
    task_index: int
    def __init__(self, job_id: _Optional[str] = ..., attempt: _Optional[int] = ..., task_index: _Optional[int] = ..., grace_period_s: _Optional[int] = ...) -> None: ...

class TaskStatus(_message.Message):
    __slots__ = ["attempt", "exit_code", "job_id", "message", "state", "task_index"]
    ATTEMPT_FIELD_NUMBER: _ClassVar[int]
    EXIT_CODE_FIELD_NUMBER: _ClassVar[int]
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    TASK_INDEX_FIELD_NUMBER: _ClassVar[int]
    attempt: int
    exit_code: int
    job_id: str
    message: str
    state: TaskState
    task_index: int
    def __init__(self, job_id: _Optional[str] = ..., attempt: _Optional[int] = ..., task_index: _Optional[int] = ..., state: _Optional[_Union[TaskState, str]] = ..., exit_code: _Optional[int] = ..., message: _Optional[str] = ...) -> None: ...

class TaskState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = []
