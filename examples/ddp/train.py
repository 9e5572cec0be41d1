#!/usr/bin/python3
"""A small PyTorch DDP training job for baton: CPU-only, gloo backend, resumable.

baton's agent starts one process per rank and sets the torchrun environment conventions:
WORLD_SIZE, RANK, LOCAL_RANK, LOCAL_WORLD_SIZE, NODE_RANK, MASTER_ADDR, MASTER_PORT, plus
BATON_JOB_ID, BATON_ATTEMPT (1 for the first run, 2 for the first restart, ...) and
BATON_CHECKPOINT_DIR (durable storage that survives restarts). Run with no such variables it
trains alone as a world of one.

The model is a tiny MLP fitted to a fixed synthetic regression problem, so a run is quick and
its result is exactly reproducible: the data each rank sees at step s depends only on s, and
rank 0 checkpoints model, optimizer and step, so a run interrupted and resumed ends with the
same loss, to the last printed digit, as one that was never interrupted.

Usage: /usr/bin/python3 examples/ddp/train.py [--steps N] [--checkpoint-every K]
                                              [--fail-at-step N]
Exit status: 0 on success; 3 when --fail-at-step fires; 2 for bad arguments or environment.
"""

import argparse
import datetime
import os
import sys
import time

import torch
import torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DistributedSampler, TensorDataset

CHECKPOINT_NAME = "checkpoint.pt"
EXIT_INJECTED_FAILURE = 3


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--steps", type=int, default=600, help="optimizer steps in all (default 600)")
    p.add_argument("--checkpoint-every", type=int, default=100,
                   help="rank 0 checkpoints every K steps and at the end (default 100)")
    p.add_argument("--batch-size", type=int, default=32, help="samples per rank per step")
    p.add_argument("--lr", type=float, default=0.05)
    p.add_argument("--samples", type=int, default=4096, help="size of the synthetic dataset")
    p.add_argument("--seed", type=int, default=1234)
    p.add_argument("--fail-at-step", type=int, default=None,
                   help="on attempt 1 only (BATON_ATTEMPT=1), rank 0 exits 3 when it reaches "
                        "this step; used to test resume")
    p.add_argument("--checkpoint-dir", default=os.environ.get("BATON_CHECKPOINT_DIR"),
                   help="default: $BATON_CHECKPOINT_DIR; no checkpoints when neither is set")
    args = p.parse_args()
    if args.steps < 1 or args.checkpoint_every < 1 or args.batch_size < 1:
        p.error("--steps, --checkpoint-every and --batch-size must be positive")
    return args


def die(msg):
    """Bad arguments or environment: exit 2, like argparse."""
    print(f"train.py: {msg}", file=sys.stderr, flush=True)
    sys.exit(2)


def env_int(name, default):
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    try:
        return int(value)
    except ValueError:
        die(f"{name}={value!r} is not an integer")


def synthetic_dataset(samples, seed):
    """y = relu-ish function of x plus a little noise; identical on every rank."""
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(samples, 16, generator=g)
    w = torch.randn(16, 1, generator=g)
    y = torch.tanh(x @ w) + 0.5 * x[:, :1] + 0.01 * torch.randn(samples, 1, generator=g)
    return TensorDataset(x, y)


def make_model(seed):
    torch.manual_seed(seed)  # same initial weights on every rank (DDP also broadcasts rank 0's)
    return nn.Sequential(nn.Linear(16, 32), nn.Tanh(), nn.Linear(32, 1))


def load_checkpoint(ckpt_dir):
    """The latest checkpoint as a dict, or None when there is none."""
    if not ckpt_dir:
        return None
    path = os.path.join(ckpt_dir, CHECKPOINT_NAME)
    if not os.path.exists(path):
        return None
    return torch.load(path, map_location="cpu")


def save_checkpoint(ckpt_dir, model, optimizer, step, loss):
    """Writes the checkpoint atomically: a reader sees the old file or the new one, never half."""
    os.makedirs(ckpt_dir, exist_ok=True)
    path = os.path.join(ckpt_dir, CHECKPOINT_NAME)
    tmp = f"{path}.tmp.{os.getpid()}"
    state = {"model": model.state_dict(), "optimizer": optimizer.state_dict(), "step": step,
             "loss": loss}
    with open(tmp, "wb") as f:
        torch.save(state, f)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


class StepBatches:
    """The batch a rank trains on at global step s, from a DistributedSampler.

    Deterministic in s alone (epoch = s // steps_per_epoch, the sampler reseeded per epoch),
    which is what makes resuming mid-epoch exact.
    """

    def __init__(self, dataset, world_size, rank, batch_size, seed):
        self.dataset = dataset
        self.batch_size = batch_size
        self.sampler = DistributedSampler(dataset, num_replicas=world_size, rank=rank,
                                          shuffle=True, seed=seed, drop_last=True)
        self.steps_per_epoch = len(self.sampler) // batch_size
        if self.steps_per_epoch < 1:
            die("--samples too small for this world size and batch size")
        self.epoch = None
        self.indices = []

    def at(self, step):
        epoch, i = divmod(step, self.steps_per_epoch)
        if epoch != self.epoch:
            self.sampler.set_epoch(epoch)
            self.indices = list(self.sampler)
            self.epoch = epoch
        idx = self.indices[i * self.batch_size:(i + 1) * self.batch_size]
        return self.dataset[idx]


def main():
    args = parse_args()
    world_size = env_int("WORLD_SIZE", 1)
    rank = env_int("RANK", 0)
    local_rank = env_int("LOCAL_RANK", 0)
    node_rank = env_int("NODE_RANK", 0)
    attempt = os.environ.get("BATON_ATTEMPT", "1")
    job_id = os.environ.get("BATON_JOB_ID", "local")
    os.environ.setdefault("MASTER_ADDR", "127.0.0.1")
    os.environ.setdefault("MASTER_PORT", "29500")
    if not 0 <= rank < world_size:
        die(f"RANK={rank} outside WORLD_SIZE={world_size}")

    def log(msg):
        print(f"[job {job_id} attempt {attempt} rank {rank}/{world_size} node {node_rank} "
              f"local {local_rank}] {msg}", flush=True)

    # Ranks share few cores: one intra-op thread each avoids oversubscription.
    torch.set_num_threads(1)
    dist.init_process_group("gloo", init_method="env://", world_size=world_size, rank=rank,
                            timeout=datetime.timedelta(seconds=60))

    model = make_model(args.seed)
    optimizer = torch.optim.SGD(model.parameters(), lr=args.lr, momentum=0.9)
    start_step = 0
    ckpt = load_checkpoint(args.checkpoint_dir)
    if ckpt is not None:
        model.load_state_dict(ckpt["model"])
        optimizer.load_state_dict(ckpt["optimizer"])
        start_step = int(ckpt["step"])
        log(f"resumed from step {start_step}")
    ddp = DistributedDataParallel(model)
    loss_fn = nn.MSELoss()
    batches = StepBatches(synthetic_dataset(args.samples, args.seed), world_size, rank,
                          args.batch_size, args.seed)

    if rank == 0:
        log(f"training steps {start_step}..{args.steps}, checkpoints in "
            f"{args.checkpoint_dir or '(none)'}")
    began = time.monotonic()
    step = start_step
    mean_loss = float("nan")
    if ckpt is not None:
        mean_loss = float(ckpt.get("loss", mean_loss))
    while step < args.steps:
        if args.fail_at_step is not None and step == args.fail_at_step and attempt == "1" \
                and rank == 0:
            log(f"injected failure at step {step} (--fail-at-step, attempt 1)")
            sys.stdout.flush()
            os._exit(EXIT_INJECTED_FAILURE)  # like a crash: no cleanup, peers see a lost rank
        x, y = batches.at(step)
        optimizer.zero_grad()
        loss = loss_fn(ddp(x), y)
        loss.backward()  # DDP all-reduces (averages) gradients across ranks here
        optimizer.step()
        step += 1
        report = step % args.checkpoint_every == 0 or step == args.steps
        if report:
            # Every rank takes part in this all-reduce, at the same steps.
            total = loss.detach().clone()
            dist.all_reduce(total)
            mean_loss = total.item() / world_size
            if rank == 0:
                log(f"step {step}/{args.steps} loss {mean_loss:.6f}")
                if args.checkpoint_dir:
                    save_checkpoint(args.checkpoint_dir, model, optimizer, step, mean_loss)

    # Keep peers alive until rank 0's final checkpoint is on disk.
    dist.barrier()
    dist.destroy_process_group()
    if rank == 0:
        log(f"trained {step - start_step} steps in {time.monotonic() - began:.1f}s")
        print(f"done: step={step} loss={mean_loss:.6f}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
