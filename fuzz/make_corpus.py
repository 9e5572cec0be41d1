#!/usr/bin/python3
"""Writes the seed inputs of the sequence-shaped fuzz targets (docs/fuzzing.md).

The parser targets' seeds are plain files (examples/, tests/sim/); the targets below take a
binary sequence of operations instead, which this script spells out readably and encodes
exactly as the targets decode it (fuzz/fuzz_common.h ByteReader: u8 op codes, u16
little-endian lengths, protobuf payloads made with the committed Python modules in
python/baton/v1). Run it after changing an encoding; it rewrites only the seed_* files of
each corpus directory, never the regression inputs of bugs found (crash-*, regress-*).

Usage: /usr/bin/python3 fuzz/make_corpus.py (Debian's python3-protobuf and python3-grpcio)
"""

import os
import struct
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "python"))

from baton.v1 import agent_pb2, cluster_pb2, events_pb2, jobs_pb2, types_pb2  # noqa: E402

# control_plane_fuzzer.cc's Op enum, in order.
CP_OPS = [
    "submit", "get", "list", "cancel", "report_checkpoint", "watch", "logs", "list_nodes",
    "list_queues", "drain", "undrain", "events_list", "events_watch", "agent_message",
    "agent_simple_register", "agent_disconnect", "tick", "agent_stream", "respond", "http",
    "submit_simple", "heartbeat",
]


def u8(v):
    return struct.pack("<B", v & 0xFF)


def u16(v):
    return struct.pack("<H", v)


def blob(b):
    return u16(len(b)) + b


def msg(m):
    return blob(m.SerializeToString())


class CpSeq:
    """Builds a control_plane input."""

    def __init__(self):
        self.out = b""

    def op(self, name, *parts):
        self.out += u8(CP_OPS.index(name)) + b"".join(parts)
        return self

    def submit(self, **fields):
        spec = types_pb2.JobSpec(**fields)
        return self.op("submit", msg(jobs_pb2.SubmitRequest(spec=spec)))

    def tick(self, ms):
        return self.op("tick", u16(ms // 10))

    def register(self, slot, gpus):
        return self.op("agent_simple_register", u8(slot), u8(gpus))

    def respond(self, slot, how):
        return self.op("respond", u8(slot), u8(how))

    def agent(self, slot, m):
        return self.op("agent_message", u8(slot), msg(m))

    def http(self, raw):
        return self.op("http", blob(raw.encode()))


def control_plane_seeds():
    seeds = {}
    full_spec = dict(name="train", queue="team-a", priority=5, tasks=2, gpus_per_task="2",
                     gpu_types=["H100"], command=["python", "train.py"],
                     env={"NCCL_DEBUG": "INFO"}, ranks_per_task=2, max_attempts=3,
                     cpus_per_task="4", memory_bytes_per_task=1 << 30,
                     restart_backoff_ms=1000, preempt_notice_s=30, estimated_runtime_s=3600)
    # A job through its whole life: submitted, placed on two nodes, running, succeeded.
    s = CpSeq().register(0, 8).register(2, 8).tick(200).submit(**full_spec).tick(200)
    s.respond(0, 0).respond(2, 0).tick(200).respond(0, 2).respond(2, 2).tick(200)
    s.op("get", msg(jobs_pb2.GetJobRequest(id="1")))
    s.op("list", msg(jobs_pb2.ListJobsRequest(queue="team-a", page_size=10)))
    seeds["seed_lifecycle"] = s.out
    # Failures and retries, a checkpoint, cancel, drain, node loss.
    s = CpSeq().register(0, 4).tick(200).op("submit_simple", u8(0), u8(1)).tick(200)
    s.respond(0, 0)
    s.agent(0, agent_pb2.AgentMessage(checkpoint=agent_pb2.CheckpointReport(
        job_id="1", attempt=1, task_index=0, path="/ckpt/1/step-10", mtime_ms=1)))
    s.respond(0, 3).tick(2000).respond(0, 1).tick(200)
    s.op("report_checkpoint", msg(jobs_pb2.ReportCheckpointRequest(job_id="1", path="/c/2")))
    s.op("submit_simple", u8(1), u8(3)).tick(200)
    s.op("drain", msg(cluster_pb2.DrainNodeRequest(name="node-0", reason="maintenance")))
    s.op("undrain", msg(cluster_pb2.UndrainNodeRequest(name="node-0")))
    s.op("cancel", msg(jobs_pb2.CancelJobRequest(id="2", reason="no longer needed")))
    s.tick(10000).tick(10000)
    s.op("list_nodes", msg(cluster_pb2.ListNodesRequest()))
    s.op("list_queues", msg(cluster_pb2.ListQueuesRequest()))
    seeds["seed_failures"] = s.out
    # Agent protocol: a full Register, heartbeats with telemetry, GPU events, health check.
    reg = agent_pb2.Register(node_name="gpu-1", address="10.1.0.1", rack="r1",
                             agent_version="0.1.0", log_endpoint="127.0.0.1:7072")
    reg.inventory.cpus = 64
    reg.inventory.memory_mib = 512000
    reg.inventory.driver_version = "550.54"
    reg.inventory.host.sockets = 2
    reg.inventory.host.numa_nodes.add(id=0, cpus="0-31", memory_mib=256000)
    for i in range(4):
        reg.inventory.gpus.add(index=i, uuid=f"GPU-x-{i}", model="H100", memory_mib=81920,
                               pci_bus_id=f"0000:{i:02x}:00.0", numa_node=0, nvlink_domain=0,
                               nvlink_peers=[j for j in range(4) if j != i], nvlink_links=18,
                               pcie_path=["X", "NV18", "NV18", "NV18"])
    reg.tasks.add(job_id="7", attempt=1, task_index=0, state=agent_pb2.TASK_STATE_RUNNING)
    s = CpSeq().agent(1, agent_pb2.AgentMessage(register=reg))
    hb = agent_pb2.Heartbeat(sequence=1)
    hb.gpus.add(uuid="GPU-x-0", index=0, utilization_percent=87.5, memory_used_mib=40000,
                temperature_c=71, power_w=512, sm_clock_mhz=1980, ecc_corrected=1,
                processes=[agent_pb2.GpuProcess(pid=42, used_memory_mib=100, job_id="7")])
    s.agent(1, agent_pb2.AgentMessage(heartbeat=hb)).tick(200)
    s.agent(1, agent_pb2.AgentMessage(gpu_event=agent_pb2.GpuEvent(
        kind=agent_pb2.GpuEvent.KIND_XID, uuid="GPU-x-1", index=1, xid=79,
        action=agent_pb2.GPU_ACTION_DRAIN_GPU, description="Xid 79: fallen off the bus")))
    s.agent(1, agent_pb2.AgentMessage(heartbeat=agent_pb2.Heartbeat(
        sequence=2, health_check_error="nvidia-smi failed")))
    s.op("heartbeat", u8(1), u8(4), b"\x10" * 16).tick(5000)
    s.op("events_list", msg(events_pb2.ListEventsRequest(limit=100)))
    s.op("events_watch", msg(events_pb2.WatchEventsRequest(after_sequence=0)))
    s.op("watch", msg(jobs_pb2.WatchJobsRequest(queue="default")))
    s.op("logs", msg(types_pb2.LogsRequest(job_id="1", task_index=0)))
    s.op("agent_disconnect", u8(1)).tick(9000)
    seeds["seed_agent"] = s.out
    # One Agent.Connect stream over gRPC.
    stream = [agent_pb2.AgentMessage(register=reg), agent_pb2.AgentMessage(heartbeat=hb),
              agent_pb2.AgentMessage(task_status=agent_pb2.TaskStatus(
                  job_id="7", attempt=1, task_index=0, state=agent_pb2.TASK_STATE_EXITED))]
    s = CpSeq().op("agent_stream", u8(len(stream)), b"".join(msg(m) for m in stream))
    seeds["seed_agent_stream"] = s.out
    # The dashboard API over a populated control plane.
    s = CpSeq().register(0, 8).tick(200).op("submit_simple", u8(0), u8(0)).tick(200)
    s.respond(0, 0)
    for path in ["/api/v1/overview", "/api/v1/cluster", "/api/v1/jobs?state=running&limit=5",
                 "/api/v1/jobs/1", "/api/v1/nodes/node-0", "/api/v1/queues",
                 "/api/v1/events?after=0&limit=10", "/api/v1/jobs/1/logs?task=0"]:
        s.http(f"GET {path} HTTP/1.1\r\nHost: x\r\n\r\n")
    s.http("POST /api/v1/jobs/1/cancel HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}")
    seeds["seed_http"] = s.out
    return seeds


# agent_fuzzer.cc's Op enum, in order.
AGENT_OPS = ["directive", "advance", "logs", "register", "heartbeat", "tick", "connect",
             "write_log", "gpu_event", "health", "start_simple"]


def agent_op(name, *parts):
    return u8(AGENT_OPS.index(name)) + b"".join(parts)


def agent_seeds():
    seeds = {}
    start = agent_pb2.StartTask(job_id="12", attempt=1, task_index=0,
                                command=["python", "train.py"], env={"NODE_RANK": "0"},
                                gpu_uuids=["GPU-fuzz-0", "GPU-fuzz-1"], gpu_indices=[0, 1],
                                checkpoint_dir="/ckpt/12", ranks=2, simulate_duration_ms=5000,
                                cpus="4", memory_bytes=1 << 30, watch_checkpoints=True)
    d = agent_pb2.Directive(start_task=start)
    logs = types_pb2.LogsRequest(job_id="12", task_index=0, rank=0, attempt=1, offset=0)
    s = (agent_op("connect", u8(1)) + agent_op("directive", msg(d)) +
         agent_op("write_log", u8(0), blob(b"step 1 loss 2.3\nstep 2 loss 2.1\n")) +
         agent_op("logs", msg(logs)) + agent_op("heartbeat") + agent_op("advance", u16(600)) +
         agent_op("logs", msg(types_pb2.LogsRequest(job_id="12", offset=5))) +
         agent_op("register"))
    seeds["seed_run"] = s
    stop = agent_pb2.Directive(stop_task=agent_pb2.StopTask(job_id="12", attempt=1,
                                                            task_index=0, grace_period_s=5))
    sig = agent_pb2.Directive(signal=agent_pb2.Signal(job_id="12", attempt=1, task_index=0,
                                                      signal_number=10))
    s = (agent_op("directive", msg(d)) + agent_op("directive", msg(d)) +
         agent_op("directive", msg(sig)) + agent_op("directive", msg(stop)) +
         agent_op("advance", u16(100)) + agent_op("start_simple", u8(3), u8(2), u8(0b1100)) +
         agent_op("gpu_event", u8(0), u8(2), struct.pack("<I", 79), blob(b"fell off the bus")) +
         agent_op("health", blob(b"nvidia-smi: failed")) + agent_op("heartbeat") +
         agent_op("connect", u8(0)) + agent_op("advance", u16(4000)) + agent_op("tick") +
         agent_op("register"))
    seeds["seed_stop_orphan"] = s
    return seeds


def http_seeds():
    seeds = {}
    reqs = {
        "overview": "GET /api/v1/overview HTTP/1.1\r\nHost: x\r\n\r\n",
        "jobs": "GET /api/v1/jobs?state=pending&queue=default&limit=10&page_token=AB HTTP/1.1\r\n"
                "Host: x\r\nAccept: application/json\r\n\r\n",
        "job": "GET /api/v1/jobs/2 HTTP/1.1\r\nHost: x\r\n\r\n",
        "logs": "GET /api/v1/jobs/1/logs?task=0&rank=0&attempt=1&offset=0 HTTP/1.1\r\n\r\n",
        "node": "GET /api/v1/nodes/node-0 HTTP/1.1\r\nHost: x\r\n\r\n",
        "events": "GET /api/v1/events?job=1&node=node-0&after=0&limit=50 HTTP/1.1\r\n\r\n",
        "cancel": "POST /api/v1/jobs/3/cancel HTTP/1.1\r\nHost: x\r\nContent-Type: "
                  "application/json\r\nContent-Length: 13\r\n\r\n{\"reason\":\"x\"}",
        "chunked": "POST /api/v1/jobs/2/cancel HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
                   "4\r\nabcd\r\n0\r\n\r\n",
        "asset": "GET /ui/app.js HTTP/1.1\r\nHost: x\r\nRange: bytes=0-10\r\n\r\n",
        "index": "GET / HTTP/1.1\r\nHost: x\r\nAccept-Encoding: gzip, br\r\n\r\n",
    }
    for name, raw in reqs.items():
        seeds["seed_" + name] = raw.encode()
    return seeds


def write(target, seeds):
    d = os.path.join(HERE, "corpus", target)
    os.makedirs(d, exist_ok=True)
    for f in os.listdir(d):
        if f.startswith("seed_"):
            os.remove(os.path.join(d, f))
    for name, data in sorted(seeds.items()):
        with open(os.path.join(d, name), "wb") as f:
            f.write(data)
    print(f"{target}: {len(seeds)} seeds, {sum(len(v) for v in seeds.values())} bytes")


def main():
    write("control_plane", control_plane_seeds())
    write("http_api", http_seeds())
    write("agent", agent_seeds())


if __name__ == "__main__":
    main()
