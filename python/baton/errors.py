"""The exceptions the SDK raises.

Every error is a `BatonError`. The subclasses say what went wrong in terms a user acts
on, and also derive from the matching built-in exception (`ValueError`, `LookupError`,
`ConnectionError`, `TimeoutError`) so generic handlers keep working. Errors that come from
the server keep its gRPC status code (`code`, e.g. "NOT_FOUND") and message (`details`).
"""

from __future__ import annotations

from typing import Optional

import grpc


class BatonError(Exception):
    """Base class of every error the SDK raises."""

    def __init__(self, message: str, *, code: Optional[str] = None, details: str = ""):
        super().__init__(message)
        #: The gRPC status code name ("NOT_FOUND") for server errors, else None.
        self.code = code
        #: The server's message, unchanged.
        self.details = details


class InvalidSpec(BatonError, ValueError):
    """A job spec was refused, by the SDK before sending it or by the server.

    The message names the field: ``spec.mig: '1g10gb' is not a MIG profile (...)``.
    """


class InvalidArgument(BatonError, ValueError):
    """A request other than a job spec was malformed (a bad page token, a negative size)."""


class JobNotFound(BatonError, LookupError):
    """No job has the given id."""

    def __init__(self, message: str, *, job_id: str = "", **kw):
        super().__init__(message, **kw)
        self.job_id = job_id


class Unschedulable(BatonError):
    """The job can never run on the current fleet (e.g. more GPUs per task than any node has).

    A job that merely has to wait is accepted and stays pending; this is the refusal of one
    that could never be placed, with the scheduler's reason.
    """


class LogsUnavailable(BatonError):
    """The job has no logs to read (yet): it has not started, or its agent serves none
    (simulated agents)."""


class Unauthenticated(BatonError, PermissionError):
    """The call came without a valid token (none, malformed, unknown, revoked or expired):
    pass `token=`, set BATON_TOKEN or run `baton login`."""


class PermissionDenied(BatonError, PermissionError):
    """The token is valid but its user may not do this (e.g. another tenant's job)."""


class Unavailable(BatonError, ConnectionError):
    """The control plane could not be reached, or could not make the change durable."""


class WaitTimeout(BatonError, TimeoutError):
    """`Client.wait` gave up before the job finished. `job` is its last known state."""

    def __init__(self, message: str, *, job=None, **kw):
        super().__init__(message, **kw)
        self.job = job


class WatchLost(BatonError):
    """A watch stream ended because the client fell behind or the server went away.

    Watch again (and `get` what you care about) to catch up.
    """


def from_rpc_error(err: grpc.RpcError, *, what: str = "", job_id: str = "",
                   logs: bool = False) -> BatonError:
    """Maps a gRPC error to the SDK's exception for it. `what` names the call for messages;
    `job_id` is the job the call was about; `logs` says it was a Logs call."""
    code = err.code() if hasattr(err, "code") else None
    details = (err.details() if hasattr(err, "details") else "") or ""
    name = code.name if code is not None else "UNKNOWN"
    prefix = f"{what}: " if what else ""
    kw = dict(code=name, details=details)
    if code == grpc.StatusCode.NOT_FOUND and logs and not details.startswith("job "):
        # The job exists but its agent has no such log (not started there yet, wrong rank).
        return LogsUnavailable(f"{prefix}{details}", **kw)
    if code == grpc.StatusCode.NOT_FOUND:
        return JobNotFound(f"{prefix}{details or f'job {job_id} not found'}", job_id=job_id,
                           **kw)
    if code == grpc.StatusCode.INVALID_ARGUMENT:
        cls = InvalidSpec if details.startswith("spec") else InvalidArgument
        return cls(f"{prefix}{details}", **kw)
    if code == grpc.StatusCode.FAILED_PRECONDITION and "never run" in details:
        return Unschedulable(f"{prefix}{details}", **kw)
    if code == grpc.StatusCode.FAILED_PRECONDITION and logs:
        return LogsUnavailable(f"{prefix}{details}", **kw)
    if code == grpc.StatusCode.UNAUTHENTICATED:
        return Unauthenticated(f"{prefix}{details}", **kw)
    if code == grpc.StatusCode.PERMISSION_DENIED:
        return PermissionDenied(f"{prefix}{details}", **kw)
    if code in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED):
        return Unavailable(f"{prefix}control plane unavailable: {details}", **kw)
    if code == grpc.StatusCode.RESOURCE_EXHAUSTED and "watch" in details:
        return WatchLost(f"{prefix}{details}", **kw)
    return BatonError(f"{prefix}{name}: {details}", **kw)
