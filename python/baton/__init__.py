"""baton: the Python SDK of the baton GPU-cluster orchestrator.

A synchronous, typed client of batond's gRPC API, for scripts and notebooks:

    import baton
    client = baton.Client("127.0.0.1:7070")       # or set BATON_SERVER
    job = client.submit(command=["python", "train.py"], gpus=8, tasks=2)
    for event in client.watch(job, timeout=60): print(event.job)
    job = client.wait(job, timeout=3600)
    print(client.logs(job))

See python/README.md for the whole API.
"""

from baton.client import DEFAULT_SERVER, Client, LogStream, Watch
from baton.errors import (BatonError, InvalidArgument, InvalidSpec, JobNotFound, LogsUnavailable,
                          Unavailable, Unschedulable, WaitTimeout, WatchLost)
from baton.spec import JobSpec, parse_duration
from baton.types import (Attempt, Checkpoint, Gpu, GpuStats, Job, JobEvent, JobState, Node,
                         NodeState, Queue, TaskAssignment)

__version__ = "0.1.0"

__all__ = [
    "Client", "Watch", "LogStream", "DEFAULT_SERVER", "JobSpec", "parse_duration",
    "Job", "JobEvent", "JobState", "Attempt", "Checkpoint", "TaskAssignment", "Node", "NodeState", "Gpu",
    "GpuStats",    "Queue", "BatonError", "InvalidSpec", "InvalidArgument", "JobNotFound", "LogsUnavailable",
    "Unavailable", "Unschedulable", "WaitTimeout", "WatchLost",
]
