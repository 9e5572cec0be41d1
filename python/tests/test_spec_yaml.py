"""The SDK's JobSpec against the C++ job YAML parser (`baton validate --job`): the example
files parse the same way, and inputs one refuses the other refuses too."""

import os
import re
import subprocess

import pytest
import yaml

import baton
from conftest import BIN, ROOT

EXAMPLES = ["examples/jobs/train.yaml", "examples/jobs/batch.yaml", "examples/ddp/ddp.yaml"]


def validate(path):
    """`baton validate --job PATH`: (ok, output)."""
    r = subprocess.run([os.path.join(BIN, "baton"), "validate", "--job", path],
                       capture_output=True, text=True, timeout=30)
    return r.returncode == 0, r.stdout + r.stderr


def sdk_specs(doc):
    items = doc["jobs"] if isinstance(doc, dict) and "jobs" in doc else [doc]
    return [baton.JobSpec.from_dict(item) for item in items]


@pytest.mark.parametrize("path", EXAMPLES)
def test_examples_parse_alike(path):
    full = os.path.join(ROOT, path)
    ok, out = validate(full)
    assert ok, out
    m = re.search(r"ok: (\d+) job\(s\), (\d+) GPUs in all", out)
    assert m, out
    with open(full) as f:
        specs = sdk_specs(yaml.safe_load(f))
    assert len(specs) == int(m.group(1))
    assert sum(s.tasks * s.gpus for s in specs) == int(m.group(2))


# Single-job YAML documents; the SDK and the C++ parser must agree on each.
CASES = [
    ("command: [python, train.py]\ngpus: 8\ntasks: 2\nruntime: 1h30m\n", True),
    ("command: x\ngpu_type: [A100, H100]\ngpu_preference: [H100]\ngang: false\n", True),
    ("command: x\nenv: {A: '1', B_2: x}\nranks_per_task: 4\nmax_attempts: 3\n", True),
    ("command: x\nqueue: ~\npriority: -1000\n", True),
    ("command: x\ngpu: 1\n", False),
    ("command: x\ngpus: 0\n", False),
    ("command: x\ngpus: 0.5\n", True),
    ("command: x\ngpus: 0.125\ntasks: 3\n", True),
    ("command: x\ngpus: 1.5\n", False),
    ("command: x\ngpus: 0.0001\n", False),
    ("command: x\nmig: 1g.10gb\n", True),
    ("command: x\nmig: 3g.40gb\ngpus: 2\n", True),
    ("command: x\nmig: 1c.3g.40gb\n", True),
    ("command: x\nmig: 1g10gb\n", False),
    ("command: x\nmig: 8g.80gb\n", False),
    ("command: x\nmig: 1g.10gb\ngpus: 0.5\n", False),
    ("command: x\nmig: 1g.10gb\ngpu_type: A100\n", False),
    ("command: x\ngpus: 65\n", False),
    ("command: x\ntasks: 0\n", False),
    ("command: x\ntasks: '4'\n", False),
    ("command: x\npriority: 1001\n", False),
    ("command: x\nruntime: 2 hours\n", False),
    ("command: x\ngpu_type: H100\ngpu_preference: A100\n", False),
    ("command: x\ngang: yes-please\n", False),
    ("command: x\nenv: {BATON_X: '1'}\n", False),
    ("command: x\nenv: {1X: '1'}\n", False),
    ("command: x\nranks_per_task: 0\n", False),
    ("command: x\nmax_attempts: 1001\n", False),
    # Per-task limits, restart backoff and the preemption notice.
    ("command: x\ncpus: 0.5\nmemory: 16Gi\nrestart_backoff: 30s\npreempt_notice: 2m\n", True),
    ("command: x\ncpus: 4096\nmemory: 1Pi\nrestart_backoff: 1h\npreempt_notice: 3600\n", True),
    ("command: x\ncpus: 0\nmemory: 0\nrestart_backoff: 0\npreempt_notice: 0\n", True),
    ("command: x\ncpus: .25\nmemory: 1.5Gi\n", True),
    ("command: x\ncpus: 2.125\nmemory: 2G\n", True),
    ("command: x\nmemory: 1073741824\n", True),
    ("command: x\nmemory: '512Mi'\n", True),
    ("command: x\ncpus: ~\nmemory: ~\nrestart_backoff: ~\npreempt_notice: ~\n", True),
    ("command: x\ncpus: -1\n", False),
    ("command: x\ncpus: 4097\n", False),
    ("command: x\ncpus: 4096.001\n", False),
    ("command: x\ncpus: 0.0001\n", False),
    ("command: x\ncpus: many\n", False),
    ("command: x\ncpus: true\n", False),
    ("command: x\ncpus: [1]\n", False),
    ("command: x\nmemory: -1\n", False),
    ("command: x\nmemory: 1025Ti\n", False),
    ("command: x\nmemory: 0.5\n", False),
    ("command: x\nmemory: 1.0001Ki\n", False),
    ("command: x\nmemory: 16GB\n", False),
    ("command: x\nmemory: Gi\n", False),
    ("command: x\nmemory: [1]\n", False),
    ("command: x\nmemory: 99999999999P\n", False),
    ("command: x\nrestart_backoff: 1h1s\n", False),
    ("command: x\nrestart_backoff: soon\n", False),
    ("command: x\npreempt_notice: 61m\n", False),
    ("command: x\npreempt_notice: -5\n", False),
    ("command: x\npreempt_notice: {s: 1}\n", False),
    ("command: x\nmemroy: 1Gi\n", False),
]


@pytest.mark.parametrize("text, valid", CASES)
def test_sdk_and_yaml_parser_agree(tmp_path, text, valid):
    path = tmp_path / "job.yaml"
    path.write_text(text)
    ok, out = validate(str(path))
    assert ok == valid, f"baton validate: {out}"
    if valid:
        sdk_specs(yaml.safe_load(text))
    else:
        with pytest.raises(baton.InvalidSpec):
            sdk_specs(yaml.safe_load(text))
