"""The chaos harness's invariant checks catch what they claim to (no processes started)."""

import argparse
import os
import shutil
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import chaos  # noqa: E402


def harness():
    args = argparse.Namespace(seed=1, seconds=1.0, store="sqlite", replicas=1, agents=3, gpus=2,
                              lost_after=3.0, task_seconds=1.0, settle_seconds=1.0,
                              bin="/nonexistent", keep=False)
    return chaos.Chaos(args)


def job(state, attempts):
    return {"state": f"JOB_STATE_{state}", "attempts": [{}] * attempts}


class CheckTest(unittest.TestCase):
    def setUp(self):
        self.h = harness()

    def tearDown(self):
        shutil.rmtree(self.h.tmp, ignore_errors=True)

    def ledger(self, name, lines):
        with open(os.path.join(self.h.ledger, name), "w") as f:
            f.write("".join(l + "\n" for l in lines))

    def test_a_clean_run_passes(self):
        self.h.acked = ["1", "2"]
        self.ledger("starts", ["1 1 0 n0 10", "2 1 0 n1 11", "2 2 0 n2 12"])
        r = self.h.check({"1": job("SUCCEEDED", 1), "2": job("SUCCEEDED", 2)})
        self.assertTrue(r["ok"], r)
        self.assertEqual(r["task_starts"], 3)

    def test_each_violation_is_counted_and_fails_the_run(self):
        self.h.acked = ["1", "2", "3"]
        self.ledger("starts", ["1 1 0 n0 10", "1 1 0 n1 11",   # started twice
                               "2 3 0 n0 12"])                 # attempt unknown to batond
        self.ledger("violations", ["double-allocation node=n0 gpu=0 job=2 attempt=3 task=0"])
        r = self.h.check({"1": job("SUCCEEDED", 1), "2": job("RUNNING", 2)})  # 3 is lost
        self.assertFalse(r["ok"])
        self.assertEqual(r["duplicate_attempts"], 1)
        self.assertEqual(r["unknown_attempts"], 1)
        self.assertEqual(r["double_allocations"], 1)
        self.assertEqual(r["jobs_lost"], 1)
        self.assertEqual(r["lost_ids"], ["3"])
        self.assertEqual(r["jobs_tracked_not_terminal"], 1)

    def test_a_batond_crash_fails_the_run(self):
        self.h.acked = ["1"]
        self.ledger("starts", ["1 1 0 n0 10"])
        self.h.c.crashes = ["batond0 exited with 1"]
        r = self.h.check({"1": job("SUCCEEDED", 1)})
        self.assertFalse(r["ok"])
        self.assertEqual(r["batond_crashes"], 1)
        self.assertEqual(r["crashes"], ["batond0 exited with 1"])


if __name__ == "__main__":
    unittest.main(verbosity=2)
