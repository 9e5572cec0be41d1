from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Iterable as _Iterable, Mapping as _Mapping, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor
EVENT_TYPE_CONTROL_PLANE_STARTED: EventType
EVENT_TYPE_JOB_CANCELLED: EventType
EVENT_TYPE_JOB_FAILED: EventType
EVENT_TYPE_JOB_NODE_LOST: EventType
EVENT_TYPE_JOB_PREEMPTED: EventType
EVENT_TYPE_JOB_RESTARTED: EventType
EVENT_TYPE_JOB_SCHEDULED: EventType
EVENT_TYPE_JOB_STARTED: EventType
EVENT_TYPE_JOB_START_TIMEOUT: EventType
EVENT_TYPE_JOB_SUBMITTED: EventType
EVENT_TYPE_JOB_SUCCEEDED: EventType
EVENT_TYPE_JOB_TASK_FAILED: EventType
EVENT_TYPE_NODE_DRAINED: EventType
EVENT_TYPE_NODE_LOST: EventType
EVENT_TYPE_NODE_NOT_READY: EventType
EVENT_TYPE_NODE_READY: EventType
EVENT_TYPE_NODE_REGISTERED: EventType
EVENT_TYPE_UNSPECIFIED: EventType

class Event(_message.Message):
    __slots__ = ["attempt", "job_id", "message", "node", "queue", "sequence", "time", "type"]
    ATTEMPT_FIELD_NUMBER: _ClassVar[int]
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    NODE_FIELD_NUMBER: _ClassVar[int]
    QUEUE_FIELD_NUMBER: _ClassVar[int]
    SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    TIME_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    attempt: int
    job_id: str
    message: str
    node: str
    queue: str
    sequence: int
    time: _timestamp_pb2.Timestamp
    type: EventType
    def __init__(self, sequence: _Optional[int] = ..., time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., type: _Optional[_Union[EventType, str]] = ..., job_id: _Optional[str] = ..., attempt: _Optional[int] = ..., node: _Optional[str] = ..., message: _Optional[str] = ..., queue: _Optional[str] = ...) -> None: ...

class ListEventsRequest(_message.Message):
    __slots__ = ["after_sequence", "job_id", "limit", "node"]
    AFTER_SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    NODE_FIELD_NUMBER: _ClassVar[int]
    after_sequence: int
    job_id: str
    limit: int
    node: str
    def __init__(self, job_id: _Optional[str] = ..., node: _Optional[str] = ..., after_sequence: _Optional[int] = ..., limit: _Optional[int] = ...) -> None: ...

class ListEventsResponse(_message.Message):
    __slots__ = ["epoch", "events", "last_sequence"]
    EPOCH_FIELD_NUMBER: _ClassVar[int]
    EVENTS_FIELD_NUMBER: _ClassVar[int]
    LAST_SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    epoch: str
    events: _containers.RepeatedCompositeFieldContainer[Event]
    last_sequence: int
    def __init__(self, events: _Optional[_Iterable[_Union[Event, _Mapping]]] = ..., last_sequence: _Optional[int] = ..., epoch: _Optional[str] = ...) -> None: ...

class WatchEventsRequest(_message.Message):
    __slots__ = ["after_sequence", "job_id", "node"]
    AFTER_SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    NODE_FIELD_NUMBER: _ClassVar[int]
    after_sequence: int
    job_id: str
    node: str
    def __init__(self, job_id: _Optional[str] = ..., node: _Optional[str] = ..., after_sequence: _Optional[int] = ...) -> None: ...

class EventType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = []
