from baton.v1 import types_pb2 as _types_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Iterable as _Iterable, Mapping as _Mapping, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor
GPU_ACTION_DRAIN_GPU: GpuAction
GPU_ACTION_DRAIN_NODE: GpuAction
GPU_ACTION_IGNORE: GpuAction
GPU_ACTION_RESTART_TASK: GpuAction
GPU_ACTION_UNSPECIFIED: GpuAction
TASK_STATE_EXITED: TaskState
TASK_STATE_FAILED_TO_START: TaskState
TASK_STATE_RUNNING: TaskState
TASK_STATE_STARTING: TaskState
TASK_STATE_STOPPED: TaskState
TASK_STATE_UNSPECIFIED: TaskState

class AgentGpu(_message.Message):
    __slots__ = ["cc_major", "cc_minor", "error", "index", "memory_mib", "mig_devices", "mig_enabled", "model", "numa_node", "nvlink_domain", "nvlink_links", "nvlink_peers", "pci_bus_id", "pcie_path", "power_limit_mw", "uuid"]
    CC_MAJOR_FIELD_NUMBER: _ClassVar[int]
    CC_MINOR_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    INDEX_FIELD_NUMBER: _ClassVar[int]
    MEMORY_MIB_FIELD_NUMBER: _ClassVar[int]
    MIG_DEVICES_FIELD_NUMBER: _ClassVar[int]
    MIG_ENABLED_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    NUMA_NODE_FIELD_NUMBER: _ClassVar[int]
    NVLINK_DOMAIN_FIELD_NUMBER: _ClassVar[int]
    NVLINK_LINKS_FIELD_NUMBER: _ClassVar[int]
    NVLINK_PEERS_FIELD_NUMBER: _ClassVar[int]
    PCIE_PATH_FIELD_NUMBER: _ClassVar[int]
    PCI_BUS_ID_FIELD_NUMBER: _ClassVar[int]
    POWER_LIMIT_MW_FIELD_NUMBER: _ClassVar[int]
    UUID_FIELD_NUMBER: _ClassVar[int]
    cc_major: int
    cc_minor: int
    error: str
    index: int
    memory_mib: int
    mig_devices: _containers.RepeatedCompositeFieldContainer[MigDevice]
    mig_enabled: bool
    model: str
    numa_node: int
    nvlink_domain: int
    nvlink_links: int
    nvlink_peers: _containers.RepeatedScalarFieldContainer[int]
    pci_bus_id: str
    pcie_path: _containers.RepeatedScalarFieldContainer[str]
    power_limit_mw: int
    uuid: str
    def __init__(self, index: _Optional[int] = ..., uuid: _Optional[str] = ..., model: _Optional[str] = ..., memory_mib: _Optional[int] = ..., pci_bus_id: _Optional[str] = ..., cc_major: _Optional[int] = ..., cc_minor: _Optional[int] = ..., power_limit_mw: _Optional[int] = ..., mig_enabled: bool = ..., error: _Optional[str] = ..., numa_node: _Optional[int] = ..., nvlink_domain: _Optional[int] = ..., nvlink_peers: _Optional[_Iterable[int]] = ..., nvlink_links: _Optional[int] = ..., pcie_path: _Optional[_Iterable[str]] = ..., mig_devices: _Optional[_Iterable[_Union[MigDevice, _Mapping]]] = ...) -> None: ...

class AgentMessage(_message.Message):
    __slots__ = ["checkpoint", "gpu_event", "heartbeat", "register", "task_status"]
    CHECKPOINT_FIELD_NUMBER: _ClassVar[int]
    GPU_EVENT_FIELD_NUMBER: _ClassVar[int]
    HEARTBEAT_FIELD_NUMBER: _ClassVar[int]
    REGISTER_FIELD_NUMBER: _ClassVar[int]
    TASK_STATUS_FIELD_NUMBER: _ClassVar[int]
    checkpoint: CheckpointReport
    gpu_event: GpuEvent
    heartbeat: Heartbeat
    register: Register
    task_status: TaskStatus
    def __init__(self, register: _Optional[_Union[Register, _Mapping]] = ..., heartbeat: _Optional[_Union[Heartbeat, _Mapping]] = ..., task_status: _Optional[_Union[TaskStatus, _Mapping]] = ..., gpu_event: _Optional[_Union[GpuEvent, _Mapping]] = ..., checkpoint: _Optional[_Union[CheckpointReport, _Mapping]] = ...) -> None: ...

class CheckpointReport(_message.Message):
    __slots__ = ["attempt", "job_id", "mtime_ms", "path", "task_index"]
    ATTEMPT_FIELD_NUMBER: _ClassVar[int]
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    MTIME_MS_FIELD_NUMBER: _ClassVar[int]
    PATH_FIELD_NUMBER: _ClassVar[int]
    TASK_INDEX_FIELD_NUMBER: _ClassVar[int]
    attempt: int
    job_id: str
    mtime_ms: int
    path: str
    task_index: int
    def __init__(self, job_id: _Optional[str] = ..., attempt: _Optional[int] = ..., task_index: _Optional[int] = ..., path: _Optional[str] = ..., mtime_ms: _Optional[int] = ...) -> None: ...

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

class GpuEvent(_message.Message):
    __slots__ = ["action", "description", "index", "kind", "uuid", "xid"]
    class Kind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = []
    ACTION_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    INDEX_FIELD_NUMBER: _ClassVar[int]
    KIND_ECC_DOUBLE_BIT: GpuEvent.Kind
    KIND_ECC_SINGLE_BIT: GpuEvent.Kind
    KIND_FIELD_NUMBER: _ClassVar[int]
    KIND_HEALTH_CHECK: GpuEvent.Kind
    KIND_UNSPECIFIED: GpuEvent.Kind
    KIND_XID: GpuEvent.Kind
    UUID_FIELD_NUMBER: _ClassVar[int]
    XID_FIELD_NUMBER: _ClassVar[int]
    action: GpuAction
    description: str
    index: int
    kind: GpuEvent.Kind
    uuid: str
    xid: int
    def __init__(self, kind: _Optional[_Union[GpuEvent.Kind, str]] = ..., uuid: _Optional[str] = ..., index: _Optional[int] = ..., xid: _Optional[int] = ..., action: _Optional[_Union[GpuAction, str]] = ..., description: _Optional[str] = ...) -> None: ...

class GpuProcess(_message.Message):
    __slots__ = ["attempt", "job_id", "pid", "task_index", "used_memory_mib"]
    ATTEMPT_FIELD_NUMBER: _ClassVar[int]
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    PID_FIELD_NUMBER: _ClassVar[int]
    TASK_INDEX_FIELD_NUMBER: _ClassVar[int]
    USED_MEMORY_MIB_FIELD_NUMBER: _ClassVar[int]
    attempt: int
    job_id: str
    pid: int
    task_index: int
    used_memory_mib: int
    def __init__(self, pid: _Optional[int] = ..., used_memory_mib: _Optional[int] = ..., job_id: _Optional[str] = ..., attempt: _Optional[int] = ..., task_index: _Optional[int] = ...) -> None: ...

class GpuTelemetry(_message.Message):
    __slots__ = ["ecc_corrected", "ecc_uncorrected", "error", "index", "memory_clock_mhz", "memory_used_mib", "memory_utilization_percent", "power_w", "processes", "retired_pages_pending", "sm_clock_mhz", "temperature_c", "throttle_reasons", "utilization_percent", "uuid"]
    ECC_CORRECTED_FIELD_NUMBER: _ClassVar[int]
    ECC_UNCORRECTED_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    INDEX_FIELD_NUMBER: _ClassVar[int]
    MEMORY_CLOCK_MHZ_FIELD_NUMBER: _ClassVar[int]
    MEMORY_USED_MIB_FIELD_NUMBER: _ClassVar[int]
    MEMORY_UTILIZATION_PERCENT_FIELD_NUMBER: _ClassVar[int]
    POWER_W_FIELD_NUMBER: _ClassVar[int]
    PROCESSES_FIELD_NUMBER: _ClassVar[int]
    RETIRED_PAGES_PENDING_FIELD_NUMBER: _ClassVar[int]
    SM_CLOCK_MHZ_FIELD_NUMBER: _ClassVar[int]
    TEMPERATURE_C_FIELD_NUMBER: _ClassVar[int]
    THROTTLE_REASONS_FIELD_NUMBER: _ClassVar[int]
    UTILIZATION_PERCENT_FIELD_NUMBER: _ClassVar[int]
    UUID_FIELD_NUMBER: _ClassVar[int]
    ecc_corrected: int
    ecc_uncorrected: int
    error: str
    index: int
    memory_clock_mhz: int
    memory_used_mib: int
    memory_utilization_percent: float
    power_w: float
    processes: _containers.RepeatedCompositeFieldContainer[GpuProcess]
    retired_pages_pending: bool
    sm_clock_mhz: int
    temperature_c: float
    throttle_reasons: int
    utilization_percent: float
    uuid: str
    def __init__(self, uuid: _Optional[str] = ..., utilization_percent: _Optional[float] = ..., memory_used_mib: _Optional[int] = ..., temperature_c: _Optional[float] = ..., power_w: _Optional[float] = ..., sm_clock_mhz: _Optional[int] = ..., memory_clock_mhz: _Optional[int] = ..., ecc_corrected: _Optional[int] = ..., ecc_uncorrected: _Optional[int] = ..., throttle_reasons: _Optional[int] = ..., processes: _Optional[_Iterable[_Union[GpuProcess, _Mapping]]] = ..., error: _Optional[str] = ..., retired_pages_pending: bool = ..., memory_utilization_percent: _Optional[float] = ..., index: _Optional[int] = ...) -> None: ...

class Heartbeat(_message.Message):
    __slots__ = ["gpus", "health_check_error", "sequence"]
    GPUS_FIELD_NUMBER: _ClassVar[int]
    HEALTH_CHECK_ERROR_FIELD_NUMBER: _ClassVar[int]
    SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    gpus: _containers.RepeatedCompositeFieldContainer[GpuTelemetry]
    health_check_error: str
    sequence: int
    def __init__(self, sequence: _Optional[int] = ..., gpus: _Optional[_Iterable[_Union[GpuTelemetry, _Mapping]]] = ..., health_check_error: _Optional[str] = ...) -> None: ...

class HostTopology(_message.Message):
    __slots__ = ["cores", "numa_nodes", "pus", "sockets"]
    CORES_FIELD_NUMBER: _ClassVar[int]
    NUMA_NODES_FIELD_NUMBER: _ClassVar[int]
    PUS_FIELD_NUMBER: _ClassVar[int]
    SOCKETS_FIELD_NUMBER: _ClassVar[int]
    cores: int
    numa_nodes: _containers.RepeatedCompositeFieldContainer[NumaNode]
    pus: int
    sockets: int
    def __init__(self, sockets: _Optional[int] = ..., cores: _Optional[int] = ..., pus: _Optional[int] = ..., numa_nodes: _Optional[_Iterable[_Union[NumaNode, _Mapping]]] = ...) -> None: ...

class Inventory(_message.Message):
    __slots__ = ["cpus", "driver_version", "gpu_note", "gpus", "host", "memory_mib"]
    CPUS_FIELD_NUMBER: _ClassVar[int]
    DRIVER_VERSION_FIELD_NUMBER: _ClassVar[int]
    GPUS_FIELD_NUMBER: _ClassVar[int]
    GPU_NOTE_FIELD_NUMBER: _ClassVar[int]
    HOST_FIELD_NUMBER: _ClassVar[int]
    MEMORY_MIB_FIELD_NUMBER: _ClassVar[int]
    cpus: int
    driver_version: str
    gpu_note: str
    gpus: _containers.RepeatedCompositeFieldContainer[AgentGpu]
    host: HostTopology
    memory_mib: int
    def __init__(self, gpus: _Optional[_Iterable[_Union[AgentGpu, _Mapping]]] = ..., cpus: _Optional[int] = ..., memory_mib: _Optional[int] = ..., driver_version: _Optional[str] = ..., gpu_note: _Optional[str] = ..., host: _Optional[_Union[HostTopology, _Mapping]] = ...) -> None: ...

class MigDevice(_message.Message):
    __slots__ = ["compute_instance_id", "gpu_instance_id", "memory_mib", "profile", "uuid"]
    COMPUTE_INSTANCE_ID_FIELD_NUMBER: _ClassVar[int]
    GPU_INSTANCE_ID_FIELD_NUMBER: _ClassVar[int]
    MEMORY_MIB_FIELD_NUMBER: _ClassVar[int]
    PROFILE_FIELD_NUMBER: _ClassVar[int]
    UUID_FIELD_NUMBER: _ClassVar[int]
    compute_instance_id: int
    gpu_instance_id: int
    memory_mib: int
    profile: str
    uuid: str
    def __init__(self, uuid: _Optional[str] = ..., profile: _Optional[str] = ..., memory_mib: _Optional[int] = ..., gpu_instance_id: _Optional[int] = ..., compute_instance_id: _Optional[int] = ...) -> None: ...

class NumaNode(_message.Message):
    __slots__ = ["cpus", "id", "memory_mib"]
    CPUS_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    MEMORY_MIB_FIELD_NUMBER: _ClassVar[int]
    cpus: str
    id: int
    memory_mib: int
    def __init__(self, id: _Optional[int] = ..., cpus: _Optional[str] = ..., memory_mib: _Optional[int] = ...) -> None: ...

class Register(_message.Message):
    __slots__ = ["address", "agent_version", "instance_id", "inventory", "log_endpoint", "logs_token", "node_name", "rack", "tasks"]
    ADDRESS_FIELD_NUMBER: _ClassVar[int]
    AGENT_VERSION_FIELD_NUMBER: _ClassVar[int]
    INSTANCE_ID_FIELD_NUMBER: _ClassVar[int]
    INVENTORY_FIELD_NUMBER: _ClassVar[int]
    LOGS_TOKEN_FIELD_NUMBER: _ClassVar[int]
    LOG_ENDPOINT_FIELD_NUMBER: _ClassVar[int]
    NODE_NAME_FIELD_NUMBER: _ClassVar[int]
    RACK_FIELD_NUMBER: _ClassVar[int]
    TASKS_FIELD_NUMBER: _ClassVar[int]
    address: str
    agent_version: str
    instance_id: str
    inventory: Inventory
    log_endpoint: str
    logs_token: str
    node_name: str
    rack: str
    tasks: _containers.RepeatedCompositeFieldContainer[TaskStatus]
    def __init__(self, node_name: _Optional[str] = ..., inventory: _Optional[_Union[Inventory, _Mapping]] = ..., agent_version: _Optional[str] = ..., address: _Optional[str] = ..., log_endpoint: _Optional[str] = ..., tasks: _Optional[_Iterable[_Union[TaskStatus, _Mapping]]] = ..., rack: _Optional[str] = ..., logs_token: _Optional[str] = ..., instance_id: _Optional[str] = ...) -> None: ...

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
    __slots__ = ["attempt", "checkpoint_dir", "command", "cpus", "env", "gpu_indices", "gpu_uuids", "job_id", "memory_bytes", "ranks", "run_as_user", "simulate_duration_ms", "task_index", "watch_checkpoints"]
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
    CPUS_FIELD_NUMBER: _ClassVar[int]
    ENV_FIELD_NUMBER: _ClassVar[int]
    GPU_INDICES_FIELD_NUMBER: _ClassVar[int]
    GPU_UUIDS_FIELD_NUMBER: _ClassVar[int]
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    MEMORY_BYTES_FIELD_NUMBER: _ClassVar[int]
    RANKS_FIELD_NUMBER: _ClassVar[int]
    RUN_AS_USER_FIELD_NUMBER: _ClassVar[int]
    SIMULATE_DURATION_MS_FIELD_NUMBER: _ClassVar[int]
    TASK_INDEX_FIELD_NUMBER: _ClassVar[int]
    WATCH_CHECKPOINTS_FIELD_NUMBER: _ClassVar[int]
    attempt: int
    checkpoint_dir: str
    command: _containers.RepeatedScalarFieldContainer[str]
    cpus: str
    env: _containers.ScalarMap[str, str]
    gpu_indices: _containers.RepeatedScalarFieldContainer[int]
    gpu_uuids: _containers.RepeatedScalarFieldContainer[str]
    job_id: str
    memory_bytes: int
    ranks: int
    run_as_user: str
    simulate_duration_ms: int
    task_index: int
    watch_checkpoints: bool
    def __init__(self, job_id: _Optional[str] = ..., attempt: _Optional[int] = ..., task_index: _Optional[int] = ..., command: _Optional[_Iterable[str]] = ..., env: _Optional[_Mapping[str, str]] = ..., gpu_uuids: _Optional[_Iterable[str]] = ..., checkpoint_dir: _Optional[str] = ..., gpu_indices: _Optional[_Iterable[int]] = ..., ranks: _Optional[int] = ..., simulate_duration_ms: _Optional[int] = ..., cpus: _Optional[str] = ..., memory_bytes: _Optional[int] = ..., watch_checkpoints: bool = ..., run_as_user: _Optional[str] = ...) -> None: ...

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

class GpuAction(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = []

class TaskState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = []
