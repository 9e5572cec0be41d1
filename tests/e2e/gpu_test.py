"""End to end on GPUs as the fake NVML describes them: MIG instances, shared GPUs and
NVLink-aware placement, through batond, baton-agent processes and the baton CLI.

The NVML agents load testing/fake_nvml's libnvidia-ml.so.1 the way a real machine's
driver library is found, through LD_LIBRARY_PATH (no --nvml-lib), so CI runs the real
NvmlGpuDiscovery path. Each task prints its environment; the assertions read its log.
Run by ctest as `e2e_gpu_*` (tests/e2e/CMakeLists.txt) with BATON_BIN_DIR and
BATON_FAKE_NVML_DIR set. Nothing sleeps to synchronise: waits poll with a deadline.
"""

import os
import shutil
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from e2e_test import BIN, ROOT, Cluster, wait_for  # noqa: E402  (the shared harness)

FAKE_NVML_DIR = os.environ.get("BATON_FAKE_NVML_DIR",
                               os.path.join(BIN, "..", "testing", "fake_nvml"))
FIXTURES = os.path.join(ROOT, "testing", "fake_nvml", "fixtures")
PRINT_ENV = ('echo "CVD=$CUDA_VISIBLE_DEVICES FRACTION=$BATON_GPU_FRACTION '
             'MPS=$CUDA_MPS_ACTIVE_THREAD_PERCENTAGE"')


class Gpu(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="baton-e2e-gpu-")
        # Tasks run as the agent's service user (nobody), and look for files in here.
        os.chmod(self.tmp, 0o1777)
        self.c = Cluster(self.tmp)
        self.c.start_batond()

    def tearDown(self):
        self.c.stop()
        if sys.exc_info()[0] is None:
            shutil.rmtree(self.tmp, ignore_errors=True)
        else:
            print(f"kept {self.tmp}", file=sys.stderr)

    def start_nvml_agent(self, name, fixture, gpus):
        c = self.c
        env = dict(os.environ, BATON_FAKE_NVML_FIXTURE=os.path.join(FIXTURES, fixture),
                   LD_LIBRARY_PATH=":".join(
                       p for p in (FAKE_NVML_DIR, os.environ.get("LD_LIBRARY_PATH")) if p))
        log = open(os.path.join(self.tmp, f"agent-{name}.log"), "ab")
        c.agents[name] = subprocess.Popen(
            [os.path.join(BIN, "baton-agent"), "--server", f"127.0.0.1:{c.port}", "--name",
             name, "--data-dir", os.path.join(self.tmp, f"agent-{name}"),
             "--log-listen", "127.0.0.1:0",
             "--token-file", os.path.join(c.data, "agent.token"), *c.agent_tls_flags(name)],
            stdout=log, stderr=subprocess.STDOUT, env=env, cwd=ROOT)
        wait_for(f"agent {name} ready with {gpus} NVML GPUs",
                 lambda: any(n["name"] == name and n.get("state") == "NODE_STATE_READY" and
                             len(n.get("gpus", [])) == gpus for n in c.nodes()))

    def logs(self, job):
        return self.c.baton("logs", job).stdout

    def run_and_log(self, *flags):
        r = self.c.baton("run", "--wait", *flags, "--", "sh", "-c", PRINT_ENV, check=False)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        job = self.c.json("ps", "--all")[0]["id"]  # newest first
        return job, self.logs(job)

    def test_mig_job_gets_its_instance_in_cuda_visible_devices(self):
        c = self.c
        self.start_nvml_agent("a100", "a100_mig.txt", gpus=2)
        node = c.nodes()[0]
        self.assertTrue(node["gpus"][0].get("mig_enabled"))
        self.assertEqual([m["profile"] for m in node["gpus"][0]["mig_instances"]],
                         ["3g.40gb", "2g.20gb", "1g.10gb", "1g.10gb"])
        table = c.baton("nodes").stdout
        self.assertIn("MIG/SHARED", table)
        self.assertIn("gpu0=3g.40gb,2g.20gb,1g.10gb,1g.10gb", table)

        job, log = self.run_and_log("--mig", "1g.10gb")
        self.assertIn("CVD=MIG-0a0a0a0a-0003-5000-8000-000000000003 ", log)
        assignment = c.job(job)["attempts"][0]["assignments"][0]
        self.assertEqual(assignment["gpu_indices"], [0])
        self.assertEqual(assignment["mig_devices"], ["MIG-0a0a0a0a-0003-5000-8000-000000000003"])
        # A whole-GPU job gets GPU 1: GPU 0 is in MIG mode and never offered whole.
        _, log = self.run_and_log()
        self.assertIn("CVD=1 ", log)
        # Bad input: a profile no GPU offers, a malformed one, MIG with a GPU type.
        r = c.baton("run", "--mig", "7g.80gb", "--", "true", check=False)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("no GPU in the fleet offers MIG 7g.80gb", r.stdout + r.stderr)
        r = c.baton("run", "--mig", "1g10gb", "--", "true", check=False)
        self.assertIn("spec.mig_profile: '1g10gb' is not a MIG profile", r.stdout + r.stderr)
        r = c.baton("run", "--mig", "1g.10gb", "--gpu-type", "A100", "--", "true", check=False)
        self.assertIn("cannot be combined with gpu_type", r.stdout + r.stderr)

    def test_fractional_jobs_share_one_gpu(self):
        c = self.c
        c.start_agent("one", gpus="1xH100")
        release = os.path.join(self.tmp, "release")
        hold = f'{PRINT_ENV}; while [ ! -e {release} ]; do sleep 0.05; done'
        a = c.run("sh", "-c", hold, flags=("--gpus", "0.5"))
        b = c.run("sh", "-c", hold, flags=("--gpus", "0.5"))
        # Both halves run at once on the node's only GPU.
        wait_for("both shares running", lambda: c.state(a) == c.state(b) == "JOB_STATE_RUNNING")
        whole = c.run("sh", "-c", PRINT_ENV)
        wait_for("the whole-GPU job examined",
                 lambda: "waiting for GPUs" in c.job(whole).get("reason", ""))
        self.assertEqual(c.state(whole), "JOB_STATE_PENDING")
        gpu = c.nodes()[0]["gpus"][0]
        self.assertEqual(gpu.get("shared"), "1")
        for job in (a, b):
            wait_for("output", lambda: "CVD=" in self.logs(job))
            self.assertIn("CVD=0 FRACTION=0.5 MPS=50", self.logs(job))
        open(release, "w").close()
        wait_for("the whole-GPU job done after both shares",
                 lambda: c.state(whole) == "JOB_STATE_SUCCEEDED")
        self.assertIn("CVD=0 FRACTION= MPS=", self.logs(whole))
        r = c.baton("run", "--gpus", "1.5", "--", "true", check=False)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("neither a whole number of GPUs nor a fraction", r.stdout + r.stderr)

    def test_default_placement_keeps_a_two_gpu_task_on_an_nvlink_pair(self):
        # pcie_a100_pairs: NVLink pairs 0-1 and 2-3, GPU 3 in MIG mode without instances,
        # so GPUs 0, 1 and 2 are offered. A 1-GPU job takes GPU 2 (the pair with the least
        # room), leaving the 0-1 pair whole for the 2-GPU job. binpack would have given
        # GPU 0, then 1 and 2 across the pairs.
        c = self.c
        self.start_nvml_agent("pcie", "pcie_a100_pairs.txt", gpus=4)
        release = os.path.join(self.tmp, "release")
        one = c.run("sh", "-c", f'{PRINT_ENV}; while [ ! -e {release} ]; do sleep 0.05; done')
        wait_for("1-GPU job running", lambda: c.state(one) == "JOB_STATE_RUNNING")
        _, log = self.run_and_log("--gpus", "2")
        self.assertIn("CVD=0,1 ", log)
        domains = {g["index"]: g.get("nvlink_domain", 0) for g in c.nodes()[0]["gpus"]}
        self.assertEqual(domains[0], domains[1])
        self.assertNotEqual(domains[1], domains[2])
        wait_for("output", lambda: "CVD=" in self.logs(one))
        self.assertIn("CVD=2 ", self.logs(one))
        open(release, "w").close()
        wait_for("done", lambda: c.state(one) == "JOB_STATE_SUCCEEDED")


if __name__ == "__main__":
    unittest.main(verbosity=2)
