"""TLS with real processes (docs/tls.md): batond --tls (TLS is its default; the flag is
given to check that it is still accepted), agents that join with a bootstrap token, the SDK
over TLS, and a replayed token refused. The C++ side is covered in depth by
tests/tls_test.cc; this checks the programs' flags and the SDK.
"""

import os
import subprocess
import tempfile

import pytest

from conftest import BIN, wait_for

import baton


@pytest.fixture(scope="module")
def tls_cluster():
    with tempfile.TemporaryDirectory(prefix="baton-tls-") as tmp:
        os.chmod(tmp, 0o755)  # tasks run as the agents' service user (nobody)
        procs = {}

        def log(name):
            path = os.path.join(tmp, f"{name}.log")
            return open(path, errors="replace").read() if os.path.exists(path) else ""

        def start(name, argv):
            procs[name] = subprocess.Popen(argv, stdout=open(os.path.join(tmp, f"{name}.log"), "wb"),
                                           stderr=subprocess.STDOUT, cwd=tmp)
            return procs[name]

        port_file = os.path.join(tmp, "port")
        token_file = os.path.join(tmp, "join.token")
        start("batond", [os.path.join(BIN, "batond"), "--data-dir", os.path.join(tmp, "state"),
                         "--listen", "127.0.0.1:0", "--http", "", "--port-file", port_file,
                         "--tls", "--bootstrap-token-file", token_file])
        wait_for("batond's port file", lambda: procs["batond"].poll() is None
                 and os.path.exists(port_file) or procs["batond"].poll() is not None)
        assert procs["batond"].poll() is None, log("batond")
        server = f"127.0.0.1:{int(open(port_file).read())}"
        ca = os.path.join(tmp, "state", "pki", "ca.crt")
        # TLS and tokens together: the agents' and the admin's token batond wrote.
        admin = open(os.path.join(tmp, "state", "admin.token")).read().strip()
        env = {"tmp": tmp, "server": server, "ca": ca, "token_file": token_file, "admin": admin,
               "log": log, "start": start, "procs": procs}
        try:
            yield env
        finally:
            for p in procs.values():
                if p.poll() is None:
                    p.terminate()
            for p in procs.values():
                try:
                    p.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()


def agent_argv(env, name, *extra):
    return [os.path.join(BIN, "baton-agent"), "--server", env["server"], "--name", name,
            "--fake-gpus", "1xH100", "--log-listen", "127.0.0.1:0",
            "--data-dir", os.path.join(env["tmp"], name), "--ca-file", env["ca"],
            "--token-file", os.path.join(env["tmp"], "state", "agent.token"), *extra]


def test_agent_joins_and_sdk_speaks_tls(tls_cluster):
    env = tls_cluster
    env["start"]("agent-a", agent_argv(env, "a", "--bootstrap-token-file", env["token_file"]))
    client = baton.Client(env["server"], token=env["admin"], ca_file=env["ca"], timeout=20)
    wait_for("node a ready", lambda: [n.name for n in client.nodes("ready")] == ["a"])
    job = client.run(command=["sh", "-c", "echo hello from a TLS agent"], gpus=1, timeout=60)
    assert job.state == baton.JobState.SUCCEEDED
    assert "hello from a TLS agent" in client.logs(job)  # batond read it over TLS
    key = os.path.join(env["tmp"], "a", "pki", "node.key")
    assert os.stat(key).st_mode & 0o777 == 0o600
    client.close()


def test_replayed_bootstrap_token_is_refused(tls_cluster):
    env = tls_cluster
    wait_for("the first agent joined", lambda: "joined the control plane" in env["log"]("agent-a"))
    p = env["start"]("agent-b", agent_argv(env, "b", "--bootstrap-token-file", env["token_file"]))
    assert p.wait(timeout=30) == 1
    assert "already used" in env["log"]("agent-b")
    assert "bootstrap token" in env["log"]("batond") and "already used" in env["log"]("batond")


def test_plaintext_client_is_refused_and_mtls_client_works(tls_cluster):
    env = tls_cluster
    plain = baton.Client(env["server"], timeout=5)
    with pytest.raises(baton.Unavailable):
        plain.nodes()
    plain.close()
    # A user certificate from the cluster CA stands for its user: "admin" exists (batond
    # made it), "ci" does not.
    def issue(user):
        out = os.path.join(env["tmp"], user)
        subprocess.run([os.path.join(BIN, "baton"), "cert", "issue", "--user", user, "--ca-cert",
                        env["ca"], "--ca-key", os.path.join(env["tmp"], "state", "pki", "ca.key"),
                        "--out", out], check=True, capture_output=True)
        return out
    out = issue("admin")
    client = baton.Client(env["server"], ca_file=env["ca"], cert_file=out + ".crt",
                          key_file=out + ".key", timeout=20)
    assert [n.name for n in client.nodes()] == ["a"]
    client.close()
    ci = issue("ci")
    stranger = baton.Client(env["server"], ca_file=env["ca"], cert_file=ci + ".crt",
                            key_file=ci + ".key", timeout=20)
    with pytest.raises(baton.Unauthenticated):
        stranger.nodes()
    stranger.close()
    with pytest.raises(baton.InvalidArgument):
        baton.Client(env["server"], ca_file=env["ca"], cert_file=out + ".crt")
