"""Security end to end: batond, an agent and the baton CLI as separate processes.

- an acknowledged submit's audit record survives kill -9 of batond right after the reply
  (it is written in the same store transaction as the job);
- a tenant's denied request leaves an audit record; `baton audit` filters and exports JSON
  lines;
- `baton login` checks and saves a token (0600) that later commands use; `baton whoami`;
- a revoked token is refused at once, an expired one too;
- `baton queue set` changes a quota durably (across a restart) and only for the parent's
  queue-admins;
- every command without a token says so and how to get one.

Uses the Cluster of e2e_test.py; run by ctest as `security_*`.
"""

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from e2e_test import BIN, Cluster, wait_for  # noqa: E402


class Security(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="baton-security-")
        self.c = Cluster(self.tmp)
        self.queues = os.path.join(self.tmp, "queues.yaml")
        with open(self.queues, "w") as f:
            f.write("queues:\n"
                    "  - {name: research, quota_gpus: 2}\n"
                    "  - {name: team-a, parent: research, quota_gpus: 1, limit_gpus: 2}\n"
                    "  - {name: team-b, parent: research, quota_gpus: 1}\n")
        self.c.start_batond(extra=("--queues", self.queues))

    def tearDown(self):
        self.c.stop()
        if sys.exc_info()[0] is None:
            shutil.rmtree(self.tmp, ignore_errors=True)
        else:
            print(f"kept {self.tmp}", file=sys.stderr)

    def audit(self, *args):
        return [json.loads(l) for l in
                self.c.baton("audit", "-o", "jsonl", *args).stdout.splitlines() if l.strip()]

    def user(self, name, *bindings):
        self.c.baton("user", "create", name, *[a for b in bindings for a in ("--bind", b)])
        return self.c.baton("token", "create", name).stdout.strip()

    def test_an_acknowledged_submits_audit_record_survives_kill_9(self):
        c = self.c
        job = c.json("run", "--queue", "team-a", "--", "true")[0]["id"]  # acknowledged
        c.batond.send_signal(signal.SIGKILL)  # at once: no shutdown, no flush
        c.batond.wait()
        c.start_batond(extra=("--queues", self.queues))
        records = [r for r in self.audit("--action", "jobs.submit") if r["object"] == f"job/{job}"]
        self.assertEqual(len(records), 1, records)
        r = records[0]
        self.assertEqual((r["user"], r["outcome"]), ("admin", "ok"))
        self.assertTrue(r["peer"].startswith("ipv4:127.0.0.1:"), r)
        self.assertEqual(c.job(job)["user"], "admin")

    def test_a_denial_is_audited_and_a_revoked_or_expired_token_is_refused(self):
        c = self.c
        bob = self.user("bob", "submitter@team-b")
        theirs = c.json("run", "--queue", "team-a", "--", "true")[0]["id"]
        r = c.baton("cancel", theirs, token=bob, check=False)
        self.assertEqual(r.returncode, 1)
        self.assertIn("PERMISSION_DENIED", r.stderr)
        self.assertIn("bob may not cancel job", r.stderr)
        r = c.baton("run", "--queue", "team-a", "--", "true", token=bob, check=False)
        self.assertIn("PERMISSION_DENIED: bob may not submit to queue team-a", r.stderr)
        denials = wait_for("bob's denials in the audit log", lambda: [
            x for x in self.audit("--user", "bob", "--outcome", "denied")
            if x["action"] in ("jobs.cancel", "jobs.submit")])
        self.assertEqual({d["action"] for d in denials}, {"jobs.cancel", "jobs.submit"})
        self.assertIn(f"job/{theirs}", {d["object"] for d in denials})
        # The table form, and only admins read the log.
        self.assertIn("jobs.cancel", c.baton("audit", "--user", "bob").stdout)
        r = c.baton("audit", token=bob, check=False)
        self.assertIn("PERMISSION_DENIED", r.stderr)
        # bob's own job is fine; then his token is revoked and refused at once.
        c.baton("run", "--queue", "team-b", "--", "true", token=bob)
        token_id = bob.split("_")[1]
        self.assertIn(token_id, c.baton("token", "list", "--user", "bob").stdout)
        c.baton("token", "revoke", token_id)
        r = c.baton("ps", token=bob, check=False)
        self.assertEqual(r.returncode, 1)
        self.assertIn(f"UNAUTHENTICATED: token {token_id} was revoked", r.stderr)
        # An expired token says so.
        short = c.baton("token", "create", "bob", "--ttl", "1s").stdout.strip()
        wait_for("the token to expire", lambda: "expired" in c.baton(
            "whoami", token=short, check=False).stderr, timeout=10, interval=0.2)
        # Nothing at all: the message says how to get a token.
        r = c.baton("ps", token="", check=False)
        self.assertIn("UNAUTHENTICATED: no credentials", r.stderr)
        self.assertIn("baton login", r.stderr)

    def test_login_saves_credentials_that_later_commands_use(self):
        c = self.c
        alice = self.user("alice", "submitter@team-a", "viewer@research")
        creds = os.path.join(self.tmp, "home", ".config", "baton", "credentials")
        env = {k: v for k, v in os.environ.items() if not k.startswith("BATON_")}
        env["HOME"] = os.path.join(self.tmp, "home")
        env.pop("XDG_CONFIG_HOME", None)
        run = lambda *a, **kw: subprocess.run([os.path.join(BIN, "baton"), *a], env=env,
                                              capture_output=True, text=True, timeout=30, **kw)
        r = run("login", "--server", f"127.0.0.1:{c.port}", input="baton_bad\n")
        self.assertEqual(r.returncode, 1)
        self.assertIn("malformed token", r.stderr)
        self.assertFalse(os.path.exists(creds))
        r = run("login", "--server", f"127.0.0.1:{c.port}", input=alice + "\n")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("as alice", r.stdout)
        self.assertEqual(os.stat(creds).st_mode & 0o777, 0o600)
        # No --server, no token: both come from the file.
        r = run("whoami")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("submitter@team-a,viewer@research", r.stdout)
        r = run("run", "--queue", "team-a", "--output", "json", "--", "true")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(json.loads(r.stdout)["user"], "alice")
        self.assertIn("removed", run("logout").stdout)
        r = run("whoami", "--server", f"127.0.0.1:{c.port}")
        self.assertIn("UNAUTHENTICATED: no credentials", r.stderr)

    def test_queue_set_changes_quotas_durably_for_the_parents_queue_admins(self):
        c = self.c
        quinn = self.user("quinn", "queue-admin@research")
        alice = self.user("alice", "queue-admin@team-a")
        r = c.baton("queue", "set", "team-a", "--limit", "4", token=alice, check=False)
        self.assertIn("PERMISSION_DENIED: alice may not change queue team-a", r.stderr)
        r = c.baton("queue", "set", "research", "--quota", "8", token=quinn, check=False)
        self.assertIn("cluster-admin: it is a top-level queue", r.stderr)
        out = c.baton("queue", "set", "team-a", "--limit", "4", "--weight", "3",
                      token=quinn).stdout
        self.assertIn("queue team-a (in research): quota 1, limit 4, weight 3", out)
        r = c.baton("queue", "set", "team-a", "--limit", "0.5", token=quinn, check=False)
        self.assertIn("limit_gpus: must be >= quota_gpus (1), got 0.5", r.stderr)
        c.baton("queue", "set", "team-c", "--parent", "research", "--limit", "1", token=quinn)
        c.batond.send_signal(signal.SIGTERM)
        c.batond.wait()
        c.start_batond(extra=("--queues", self.queues))
        queues = {q["name"]: q for q in c.json("queues")}
        self.assertEqual((queues["team-a"]["limit_gpus"], queues["team-a"]["weight"]), ("4", 3))
        self.assertEqual(queues["team-c"]["parent"], "research")
        changes = self.audit("--action", "cluster.update_queue", "--outcome", "ok")
        self.assertEqual([x["object"] for x in changes], ["queue/team-a", "queue/team-c"])


if __name__ == "__main__":
    unittest.main(verbosity=2)
