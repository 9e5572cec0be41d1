"""Client: a synchronous, typed client of batond's gRPC API (Jobs and Cluster services).

Every call blocks and returns typed values (`Job`, `Node`, `Queue`), so it works the same
in scripts and in notebooks (no event loop needed). Streams (`watch`, `stream_logs`) are
iterators that can be stopped early with `close()` or a `with` block. Server errors are
raised as the exceptions of `baton.errors` (JobNotFound, InvalidSpec, Unschedulable,
Unavailable, ...).

Thread-safety: one Client may be shared by threads; a stream belongs to the thread that
iterates it.
"""

from __future__ import annotations

import os
import time
from typing import Callable, Iterator, List, Optional, Union

import grpc

from baton.auth import BearerToken, load_credentials, resolve_token
from baton.errors import (InvalidArgument, InvalidSpec, Unavailable, WaitTimeout, WatchLost,
                          from_rpc_error)
from baton.spec import SpecLike, as_spec
from baton.tls import make_channel
from baton.types import Job, JobEvent, JobState, Node, NodeState, Queue
from baton.v1 import (auth_pb2, auth_pb2_grpc, cluster_pb2, cluster_pb2_grpc, jobs_pb2,
                      jobs_pb2_grpc, types_pb2)

JobRef = Union[str, int, Job]

#: The address used when none is given and BATON_SERVER is unset (`baton up`'s default).
DEFAULT_SERVER = "127.0.0.1:7070"


def _job_id(ref: JobRef) -> str:
    if isinstance(ref, Job):
        return ref.id
    if isinstance(ref, bool) or not isinstance(ref, (str, int)):
        raise InvalidArgument(f"job id: expected a job, a string or an int, got {ref!r}")
    text = str(ref).strip()
    if not text.isdigit() or int(text) == 0:
        raise InvalidArgument(f"job id: '{ref}' is not a job id (a positive number)")
    return text


class Watch:
    """An iterator of `JobEvent`s from `Client.watch`. Ends when closed, or when its
    timeout passes; raises WatchLost if the server drops the stream."""

    def __init__(self, call, job_id: str = ""):
        self._call = call
        self._job_id = job_id
        self._closed = False

    def __iter__(self) -> "Watch":
        return self

    def __next__(self) -> JobEvent:
        try:
            return JobEvent.from_proto(next(self._call))
        except grpc.RpcError as e:
            if self._closed or e.code() in (grpc.StatusCode.CANCELLED,
                                            grpc.StatusCode.DEADLINE_EXCEEDED):
                raise StopIteration from None
            raise from_rpc_error(e, what="watch", job_id=self._job_id) from None

    def close(self) -> None:
        """Stops the stream; iteration ends. Idempotent."""
        self._closed = True
        self._call.cancel()

    def __enter__(self) -> "Watch":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class LogStream:
    """An iterator of byte chunks of one task rank's output from `Client.stream_logs`."""

    def __init__(self, call, job_id: str):
        self._call = call
        self._job_id = job_id
        self._closed = False
        #: Offset just past the last chunk read; pass it as `offset` to resume.
        self.offset = 0

    def __iter__(self) -> "LogStream":
        return self

    def __next__(self) -> bytes:
        try:
            chunk = next(self._call)
        except grpc.RpcError as e:
            if self._closed or e.code() == grpc.StatusCode.CANCELLED:
                raise StopIteration from None
            raise from_rpc_error(e, what="logs", job_id=self._job_id, logs=True) from None
        self.offset = chunk.offset + len(chunk.data)
        return chunk.data

    def close(self) -> None:
        self._closed = True
        self._call.cancel()

    def __enter__(self) -> "LogStream":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class Client:
    """A connection to one batond.

    >>> c = Client("127.0.0.1:7070", token=open("admin.token").read().strip())
    >>> c = Client()        # BATON_SERVER/BATON_TOKEN, else what `baton login` saved
    >>> job = c.submit(command="python train.py", gpus=8, tasks=2)
    >>> c.wait(job, timeout=3600).state
    <JobState.SUCCEEDED: 'succeeded'>
    """

    def __init__(self, server: Optional[str] = None, *, token: Optional[str] = None,
                 timeout: float = 30.0, channel: Optional[grpc.Channel] = None,
                 ca_file: Optional[str] = None, cert_file: Optional[str] = None,
                 key_file: Optional[str] = None):
        """`server` is "host:port" (default: $BATON_SERVER, else the credentials file's,
        else 127.0.0.1:7070); `token` is the API token (default: $BATON_TOKEN, else the one
        `baton login` saved; see baton.auth); `timeout` bounds each unary call in seconds.
        TLS: `ca_file` (default $BATON_CA_FILE, else the credentials file's) is the cluster
        CA to trust, `cert_file`/`key_file` an optional client certificate (baton.tls). A
        ready `channel` may be given instead; the token is added to its calls."""
        self.server = (server or os.environ.get("BATON_SERVER") or load_credentials()[0]
                       or DEFAULT_SERVER)
        if timeout <= 0:
            raise InvalidArgument(f"timeout: must be positive, got {timeout}")
        self.timeout = timeout
        self._own_channel = channel is None
        self._raw_channel = channel or make_channel(self.server, ca_file=ca_file,
                                                    cert_file=cert_file, key_file=key_file)
        token = resolve_token(token)
        self._channel = (grpc.intercept_channel(self._raw_channel, BearerToken(token))
                         if token else self._raw_channel)
        self._jobs = jobs_pb2_grpc.JobsStub(self._channel)
        self._cluster = cluster_pb2_grpc.ClusterStub(self._channel)
        self._auth = auth_pb2_grpc.AuthStub(self._channel)
        # Whether a call has ever succeeded: wait() rides out outages only after that.
        self._reached = False

    # -- jobs ------------------------------------------------------------------------------

    def submit(self, spec: Optional[SpecLike] = None, /, **fields) -> Job:
        """Submits a job and returns it as stored (usually pending).

        Takes a `JobSpec`, a dict of job YAML fields, or the fields as keywords:
        `submit(command=["python", "train.py"], gpus=8)`. Raises InvalidSpec (before
        sending anything, or from the server), Unschedulable if no node of the fleet could
        ever run it, Unavailable if the control plane cannot be reached."""
        if spec is not None and fields:
            raise InvalidSpec("submit: give a spec or keyword fields, not both")
        job_spec = as_spec(spec if spec is not None else fields)
        req = jobs_pb2.SubmitRequest(spec=job_spec.to_proto())
        resp = self._unary(self._jobs.Submit, req, "submit")
        return Job.from_proto(resp.job)

    def run(self, spec: Optional[SpecLike] = None, /, *, timeout: Optional[float] = None,
            **fields) -> Job:
        """Submits a job and waits for it to finish; returns the finished job."""
        return self.wait(self.submit(spec, **fields), timeout=timeout)

    def get(self, job: JobRef) -> Job:
        """One job by id; raises JobNotFound."""
        job_id = _job_id(job)
        return Job.from_proto(self._unary(self._jobs.Get, jobs_pb2.GetJobRequest(id=job_id),
                                          "get", job_id=job_id))

    def iter_jobs(self, *, queue: str = "", state: Union[JobState, str, None] = None,
                  page_size: int = 100) -> Iterator[Job]:
        """Every job matching the filters, newest first, fetched a page at a time."""
        if page_size <= 0:
            raise InvalidArgument(f"page_size: must be positive, got {page_size}")
        req = jobs_pb2.ListJobsRequest(
            queue=queue, page_size=page_size,
            state=JobState.parse(state).to_proto() if state is not None else 0)
        while True:
            resp = self._unary(self._jobs.List, req, "list")
            for p in resp.jobs:
                yield Job.from_proto(p)
            if not resp.next_page_token:
                return
            req.page_token = resp.next_page_token

    def list(self, *, queue: str = "", state: Union[JobState, str, None] = None,
             limit: Optional[int] = None) -> List[Job]:
        """Jobs matching the filters, newest first; at most `limit` of them (None = all)."""
        if limit is not None and limit < 0:
            raise InvalidArgument(f"limit: must not be negative, got {limit}")
        out: List[Job] = []
        if limit == 0:
            return out
        page = min(limit, 1000) if limit else 500
        for job in self.iter_jobs(queue=queue, state=state, page_size=page):
            out.append(job)
            if limit is not None and len(out) >= limit:
                break
        return out

    def cancel(self, job: JobRef, reason: str = "") -> Job:
        """Cancels a job (stopping its tasks); returns it. Cancelling a finished job is a
        no-op that returns it as it is. Raises JobNotFound."""
        job_id = _job_id(job)
        return Job.from_proto(self._unary(
            self._jobs.Cancel, jobs_pb2.CancelJobRequest(id=job_id, reason=reason), "cancel",
            job_id=job_id))

    def report_checkpoint(self, job: JobRef, path: str, *, attempt: int = 0) -> Job:
        """Records a checkpoint the job wrote at `path` (as its tasks see the filesystem)
        for `attempt` (0 = the latest); the next attempt gets it as BATON_RESUME_FROM.
        Tasks usually need not call this: the agent reports what they write into
        BATON_CHECKPOINT_DIR. Raises JobNotFound, InvalidSpec for a bad path or attempt."""
        job_id = _job_id(job)
        return Job.from_proto(self._unary(
            self._jobs.ReportCheckpoint,
            jobs_pb2.ReportCheckpointRequest(job_id=job_id, attempt=attempt, path=path),
            "report_checkpoint", job_id=job_id))

    def watch(self, job: Optional[JobRef] = None, *, queue: str = "",
              timeout: Optional[float] = None) -> Watch:
        """Events for one job (or every job, or one queue's) from now on, until the
        returned Watch is closed or `timeout` seconds pass."""
        job_id = _job_id(job) if job is not None else ""
        call = self._jobs.Watch(jobs_pb2.WatchJobsRequest(job_id=job_id, queue=queue),
                                timeout=timeout)
        return Watch(call, job_id)

    def wait(self, job: JobRef, *, timeout: Optional[float] = None,
             resync: float = 2.0) -> Job:
        """Blocks until the job is over (succeeded, failed or cancelled) and returns it.

        Follows the job's events, and re-reads it every `resync` seconds so that neither a
        missed event nor a control-plane restart leaves it waiting (once this client has
        reached the control plane, an outage is retried until the deadline). Raises
        WaitTimeout (with the last known job) after `timeout` seconds, JobNotFound for an
        unknown id, Unavailable if the control plane cannot be reached at all."""
        return self._wait_until(_job_id(job), lambda j: j.done, "finish", timeout, resync)

    def _wait_until(self, job_id: str, done: Callable[[Job], bool], what: str,
                    timeout: Optional[float], resync: float) -> Job:
        """Blocks until done(job) holds; see wait()."""
        if resync <= 0:
            raise InvalidArgument(f"resync: must be positive, got {resync}")
        deadline = None if timeout is None else time.monotonic() + timeout
        last: Optional[Job] = None
        while True:
            remaining = None if deadline is None else deadline - time.monotonic()
            if remaining is not None and remaining <= 0:
                raise WaitTimeout(f"wait: job {job_id} did not {what} within {timeout:g}s"
                                  + (f" (still {last.state.value})" if last else ""), job=last)
            window = resync if remaining is None else min(resync, remaining)
            # The watch opens before the Get, so a change between the two is not missed.
            stream = self.watch(job_id, timeout=window)
            try:
                try:
                    last = self.get(job_id)
                except Unavailable:
                    # The control plane went away (restarting?): try again until the
                    # deadline. One this client never reached (a wrong address?) is
                    # reported at once.
                    if not self._reached or (remaining is not None and remaining <= window):
                        raise
                    time.sleep(min(window, 0.2))
                    continue
                if done(last):
                    return last
                try:
                    for event in stream:
                        if event.job.id != job_id:
                            continue
                        last = event.job
                        if done(last):
                            return last
                except (Unavailable, WatchLost):
                    pass  # re-read and watch again
            finally:
                stream.close()

    def stream_logs(self, job: JobRef, *, task: int = 0, rank: int = 0, attempt: int = 0,
                    offset: int = 0, follow: bool = True,
                    timeout: Optional[float] = None) -> LogStream:
        """One task rank's output (stdout and stderr as written) as byte chunks. With
        `follow`, first waits for the job to start, then keeps streaming until the task
        ends; `timeout` bounds both. `attempt` 0 = the latest. Raises LogsUnavailable when
        the job has not started (without `follow`) or its agent serves no logs."""
        job_id = _job_id(job)
        for name, value in (("task", task), ("rank", rank), ("attempt", attempt),
                            ("offset", offset)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise InvalidArgument(f"{name}: must be a non-negative integer, got {value!r}")
        if follow:
            # Following from before the task starts: wait until it runs (or has ended), as
            # the agent has no log to follow before that.
            started = time.monotonic()
            self._wait_until(job_id, lambda j: j.state is JobState.RUNNING or j.done, "start",
                             timeout, 2.0)
            if timeout is not None:
                timeout = max(0.001, timeout - (time.monotonic() - started))
        call = self._jobs.Logs(types_pb2.LogsRequest(
            job_id=job_id, task_index=task, rank=rank, attempt=attempt, offset=offset,
            follow=follow), timeout=timeout)
        return LogStream(call, job_id)

    def logs(self, job: JobRef, *, task: int = 0, rank: int = 0, attempt: int = 0,
             timeout: Optional[float] = None) -> str:
        """One task rank's output so far, decoded as UTF-8 (invalid bytes replaced)."""
        with self.stream_logs(job, task=task, rank=rank, attempt=attempt, follow=False,
                              timeout=timeout if timeout is not None else self.timeout) as s:
            return b"".join(s).decode("utf-8", errors="replace")

    # -- cluster ---------------------------------------------------------------------------

    def nodes(self, state: Union[NodeState, str, None] = None) -> List[Node]:
        """Nodes of the fleet, optionally only those in `state` ("ready", "lost", ...)."""
        req = cluster_pb2.ListNodesRequest()
        if state is not None:
            try:
                req.state = NodeState(state).to_proto()
            except ValueError:
                names = ", ".join(s.value for s in NodeState if s is not NodeState.UNKNOWN)
                raise InvalidArgument(f"state: '{state}' is not a node state; use one of "
                                      f"{names}") from None
        resp = self._unary(self._cluster.ListNodes, req, "nodes")
        return [Node.from_proto(n) for n in resp.nodes]

    def queues(self) -> List[Queue]:
        """Queues with their quotas and current use."""
        resp = self._unary(self._cluster.ListQueues, cluster_pb2.ListQueuesRequest(), "queues")
        return [Queue.from_proto(q) for q in resp.queues]

    def whoami(self) -> dict:
        """Who this client's token belongs to: {"user", "roles" (e.g. "submitter@team-a"),
        "token_id"}. Raises Unauthenticated without a valid token."""
        resp = self._unary(self._auth.WhoAmI, auth_pb2.WhoAmIRequest(), "whoami")
        role = lambda b: auth_pb2.Role.Name(b.role).removeprefix("ROLE_").lower().replace("_", "-")
        return {"user": resp.user, "token_id": resp.token_id,
                "roles": [role(b) + (f"@{b.queue}" if b.queue else "") for b in resp.bindings]}

    # -- plumbing --------------------------------------------------------------------------

    def _unary(self, method, request, what: str, job_id: str = ""):
        try:
            response = method(request, timeout=self.timeout)
        except grpc.RpcError as e:
            raise from_rpc_error(e, what=what, job_id=job_id) from None
        self._reached = True
        return response

    def close(self) -> None:
        """Closes the connection (when the Client made it)."""
        if self._own_channel:
            self._raw_channel.close()

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Client({self.server!r})"


__all__ = ["Client", "Watch", "LogStream", "DEFAULT_SERVER"]
