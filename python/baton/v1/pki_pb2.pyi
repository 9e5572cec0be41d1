from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Iterable as _Iterable, Mapping as _Mapping, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class BootstrapToken(_message.Message):
    __slots__ = ["expires_at", "id", "node_name", "token", "uses"]
    EXPIRES_AT_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    NODE_NAME_FIELD_NUMBER: _ClassVar[int]
    TOKEN_FIELD_NUMBER: _ClassVar[int]
    USES_FIELD_NUMBER: _ClassVar[int]
    expires_at: _timestamp_pb2.Timestamp
    id: str
    node_name: str
    token: str
    uses: int
    def __init__(self, token: _Optional[str] = ..., id: _Optional[str] = ..., expires_at: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., uses: _Optional[int] = ..., node_name: _Optional[str] = ...) -> None: ...

class CertificateRecord(_message.Message):
    __slots__ = ["issued_at", "kind", "name", "not_after", "reason", "revoked", "revoked_at", "revoked_by", "serial"]
    ISSUED_AT_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    NOT_AFTER_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    REVOKED_AT_FIELD_NUMBER: _ClassVar[int]
    REVOKED_BY_FIELD_NUMBER: _ClassVar[int]
    REVOKED_FIELD_NUMBER: _ClassVar[int]
    SERIAL_FIELD_NUMBER: _ClassVar[int]
    issued_at: _timestamp_pb2.Timestamp
    kind: str
    name: str
    not_after: _timestamp_pb2.Timestamp
    reason: str
    revoked: bool
    revoked_at: _timestamp_pb2.Timestamp
    revoked_by: str
    serial: str
    def __init__(self, serial: _Optional[str] = ..., kind: _Optional[str] = ..., name: _Optional[str] = ..., issued_at: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., not_after: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., revoked: bool = ..., revoked_at: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., revoked_by: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class CreateBootstrapTokenRequest(_message.Message):
    __slots__ = ["description", "node_name", "ttl_seconds", "uses"]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    NODE_NAME_FIELD_NUMBER: _ClassVar[int]
    TTL_SECONDS_FIELD_NUMBER: _ClassVar[int]
    USES_FIELD_NUMBER: _ClassVar[int]
    description: str
    node_name: str
    ttl_seconds: int
    uses: int
    def __init__(self, ttl_seconds: _Optional[int] = ..., uses: _Optional[int] = ..., node_name: _Optional[str] = ..., description: _Optional[str] = ...) -> None: ...

class IssuedCertificate(_message.Message):
    __slots__ = ["ca_bundle_pem", "certificate_pem", "not_after", "not_before"]
    CA_BUNDLE_PEM_FIELD_NUMBER: _ClassVar[int]
    CERTIFICATE_PEM_FIELD_NUMBER: _ClassVar[int]
    NOT_AFTER_FIELD_NUMBER: _ClassVar[int]
    NOT_BEFORE_FIELD_NUMBER: _ClassVar[int]
    ca_bundle_pem: str
    certificate_pem: str
    not_after: _timestamp_pb2.Timestamp
    not_before: _timestamp_pb2.Timestamp
    def __init__(self, certificate_pem: _Optional[str] = ..., ca_bundle_pem: _Optional[str] = ..., not_before: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., not_after: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class JoinRequest(_message.Message):
    __slots__ = ["bootstrap_token", "csr_pem", "node_name"]
    BOOTSTRAP_TOKEN_FIELD_NUMBER: _ClassVar[int]
    CSR_PEM_FIELD_NUMBER: _ClassVar[int]
    NODE_NAME_FIELD_NUMBER: _ClassVar[int]
    bootstrap_token: str
    csr_pem: str
    node_name: str
    def __init__(self, bootstrap_token: _Optional[str] = ..., node_name: _Optional[str] = ..., csr_pem: _Optional[str] = ...) -> None: ...

class ListCertificatesRequest(_message.Message):
    __slots__ = ["name"]
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class ListCertificatesResponse(_message.Message):
    __slots__ = ["certificates"]
    CERTIFICATES_FIELD_NUMBER: _ClassVar[int]
    certificates: _containers.RepeatedCompositeFieldContainer[CertificateRecord]
    def __init__(self, certificates: _Optional[_Iterable[_Union[CertificateRecord, _Mapping]]] = ...) -> None: ...

class RenewRequest(_message.Message):
    __slots__ = ["csr_pem"]
    CSR_PEM_FIELD_NUMBER: _ClassVar[int]
    csr_pem: str
    def __init__(self, csr_pem: _Optional[str] = ...) -> None: ...

class RevokeCertificatesRequest(_message.Message):
    __slots__ = ["certificate_pem", "node_name", "reason", "serial"]
    CERTIFICATE_PEM_FIELD_NUMBER: _ClassVar[int]
    NODE_NAME_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    SERIAL_FIELD_NUMBER: _ClassVar[int]
    certificate_pem: str
    node_name: str
    reason: str
    serial: str
    def __init__(self, node_name: _Optional[str] = ..., serial: _Optional[str] = ..., certificate_pem: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class RevokeCertificatesResponse(_message.Message):
    __slots__ = ["revoked"]
    REVOKED_FIELD_NUMBER: _ClassVar[int]
    revoked: _containers.RepeatedCompositeFieldContainer[CertificateRecord]
    def __init__(self, revoked: _Optional[_Iterable[_Union[CertificateRecord, _Mapping]]] = ...) -> None: ...
