"""The analytics service run for real: ``graphembed serve --data-dir`` in a subprocess on a free
loopback port, driven with httpx and ge.Client: upload, submit, wait, download; SIGKILL of the
server while a job runs and a restart (every job ends done, results the same as an uninterrupted
run); and the curl and Python examples of cli.md's serve section, run as written."""
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("fastapi")
pytest.importorskip("uvicorn")
pytest.importorskip("python_multipart")
pytest.importorskip("faiss")
httpx = pytest.importorskip("httpx")
pytest.importorskip("graphembed.service.core")

from graphembed.datasets import karate_path  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """``graphembed serve --data-dir DATA`` in its own process group on a free port."""

    def __init__(self, data_dir, *args, cwd=None, port=None):
        self.data_dir, self.args, self.cwd = Path(data_dir), args, cwd
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc = None

    def start(self, timeout=60):
        env = {k: v for k, v in os.environ.items() if k != "GRAPHEMBED_TOKEN"}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "graphembed.cli.main", "serve", "--data-dir", str(self.data_dir),
             "--port", str(self.port), *self.args],
            cwd=self.cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env, start_new_session=True)
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited: {self.proc.stderr.read().decode()}")
            try:
                if httpx.get(self.url + "/healthz", timeout=1).status_code == 200:
                    return self
            except httpx.TransportError:
                time.sleep(0.1)
        raise RuntimeError("server did not start")

    @property
    def token(self):
        return (self.data_dir / "token").read_text().strip()

    def client(self):
        return httpx.Client(base_url=self.url, headers={"Authorization": f"Bearer {self.token}"}, timeout=30)

    def kill(self):
        """SIGKILL the server process only (its workers are on their own)."""
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def stop(self):
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        try:  # any worker left behind
            os.killpg(self.proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass


@pytest.fixture
def server(tmp_path):
    servers = []

    def make(*args, **kw):
        s = Server(tmp_path / "data", "--workers", "1", *args, **kw)
        servers.append(s)
        return s.start()

    yield make
    for s in servers:
        s.stop()


def wait_all(c, ids, timeout=180):
    deadline = time.time() + timeout
    while True:
        jobs = {j: c.get(f"/jobs/{j}").json() for j in ids}
        if all(r["state"] in ("done", "failed", "cancelled") for r in jobs.values()):
            return jobs
        assert time.time() < deadline, jobs
        time.sleep(0.2)


def vectors(c, jid):
    import io

    import pyarrow.parquet as pq

    r = c.get(f"/jobs/{jid}/result", params={"format": "parquet"})
    assert r.status_code == 200, r.text
    table = pq.read_table(io.BytesIO(r.content))
    return table


def test_upload_submit_wait_download(server, tmp_path):
    s = server("--max-upload-bytes", "100000")
    first = s.proc  # printed the token file's path on first start
    with s.client() as c:
        with open(karate_path(), "rb") as fh:
            r = c.post("/graphs", files={"file": ("karate.csv", fh, "text/csv")}, data={"directed": "false"})
        assert r.status_code == 201, r.text
        g = r.json()
        assert (g["id"], g["n_nodes"], g["n_edges"]) == ("g1", 34, 78)
        r = c.post("/graphs", files={"file": ("big.csv", b"1,2\n" * 40_000, "text/csv")})
        assert r.status_code == 413 and "100000" in r.json()["error"]
        bad = c.post("/graphs", files={"file": ("edges.csv", b"1,2\n3\n", "text/csv")})
        assert bad.status_code == 400 and "edges.csv" in bad.json()["error"] and "/tmp" not in bad.text
        r = c.post("/jobs", json={"graph": "g1", "task": "embed", "method": "fastrp",
                                  "params": {"dim": 16}, "index": True})
        assert r.status_code == 202, r.text
        jid = r.json()["id"]
        done = wait_all(c, [jid])[jid]
        assert done["state"] == "done", done
        assert done["timings"]["run_s"] is not None and (done["params"].get("random_state") or done["params"].get("seed")) is not None
        table = vectors(c, jid)
        assert table.num_rows == 34
        nb = c.post(f"/embeddings/{jid}/neighbors", json={"ids": [1], "k": 5}).json()
        assert len(nb["results"][0]["neighbors"]) == 5
        read = httpx.get(s.url + "/graphs", headers={"Authorization": "Bearer " + (s.data_dir / "token.read").read_text().strip()})
        assert read.status_code == 200
    s.stop()
    assert "token" in first.stderr.read().decode()
    assert (s.data_dir / "token").stat().st_mode & 0o077 == 0


def test_sigkill_while_a_job_runs_then_restart(server):
    s = server()
    specs = [{"graph": "g1", "task": "embed", "method": "fastrp", "params": {"dim": 32, "random_state": 3}, "index": True},
             {"graph": "g1", "task": "orbits"},
             {"graph": "g1", "task": "embed", "method": "fastrp", "params": {"dim": 8, "random_state": 5}}]
    with s.client() as c:
        with open(karate_path(), "rb") as fh:
            assert c.post("/graphs", files={"file": ("karate.csv", fh)}).status_code == 201
        ids = [c.post("/jobs", json=spec).json()["id"] for spec in specs]
        deadline = time.time() + 60
        while c.get(f"/jobs/{ids[0]}").json()["state"] == "queued":
            assert time.time() < deadline
            time.sleep(0.02)
        before = [c.get(f"/jobs/{j}").json() for j in ids]
    s.kill()
    states = [r["state"] for r in before]
    assert "queued" in states or "running" in states, states
    s2 = server(port=s.port)
    with s2.client() as c:
        jobs = wait_all(c, ids)
        assert [jobs[j]["state"] for j in ids] == ["done"] * 3, jobs
        for old, j in zip(before, ids):
            if old["state"] == "running":  # interrupted: run again
                assert jobs[j]["attempts"] > old["attempts"], (old, jobs[j])
        # the same specs again, uninterrupted: the same results
        again = [c.post("/jobs", json=spec).json()["id"] for spec in specs]
        rerun = wait_all(c, again)
        assert [rerun[j]["state"] for j in again] == ["done"] * 3, rerun
        for a, b in zip(ids, again):
            assert vectors(c, a).equals(vectors(c, b)), (a, b)
        nb = c.post(f"/embeddings/{ids[0]}/neighbors", json={"ids": [1], "k": 3})
        assert nb.status_code == 200, nb.text
    assert not list((s2.data_dir / "tmp").iterdir())


# ---------------------------------------------------------------------------- cli.md examples
def serve_section():
    text = (ROOT / "cli.md").read_text()
    return text[text.index("## `graphembed serve`"):].split("\n## ", 1)[0]


def indented_blocks(text):
    blocks, current = [], []
    for line in text.splitlines() + [""]:
        if line.startswith("    "):
            current.append(line[4:])
        elif current:
            blocks.append("\n".join(current))
            current = []
    return blocks


def test_cli_md_service_examples_run(server, tmp_path):
    if shutil.which("curl") is None or shutil.which("bash") is None:
        pytest.skip("the shell example needs bash and curl")
    pytest.importorskip("gensim")  # the Python example runs node2vec
    blocks = indented_blocks(serve_section())
    shell = next(b for b in blocks if b.startswith("graphembed serve --data-dir"))
    python = next(b for b in blocks if b.startswith("import graphembed as ge"))
    start, script = shell.split("\n", 1)
    args = shlex.split(start.split("#")[0].rstrip(" &"))
    assert args[:2] == ["graphembed", "serve"]
    names = ["alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi", "ivan", "judy", "mallory",
             "niaj", "olivia", "peggy", "rupert", "sybil", "trent", "victor", "walter"]
    rng = np.random.default_rng(0)
    edges = {tuple(sorted(rng.choice(len(names), 2, replace=False))) for _ in range(70)}
    edges |= {(i, i + 1) for i in range(len(names) - 1)}
    (tmp_path / "edges.csv").write_text("".join(f"{names[a]},{names[b]}\n" for a, b in sorted(edges)))
    data = args[args.index("--data-dir") + 1]
    s = Server(tmp_path / data, *args[4:], cwd=tmp_path)
    try:
        s.start()
        port = f"127.0.0.1:{s.port}"
        out = subprocess.run(["bash", "-e", "-c", script.replace("127.0.0.1:8000", port)], cwd=tmp_path,
                             capture_output=True, text=True, timeout=120)
        assert out.returncode == 0, out.stderr
        assert '"id":"g1"' in out.stdout.replace(" ", "") and '"id":"j1"' in out.stdout.replace(" ", "")
        with s.client() as c:
            wait_all(c, ["j1"])
        code = python.replace("127.0.0.1:8000", port)
        code = re.sub(r"^(c\.neighbors\(.*\))", r"print(\1)", code, flags=re.M)
        out = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True,
                             timeout=300, env={k: v for k, v in os.environ.items() if k != "GRAPHEMBED_TOKEN"})
        assert out.returncode == 0, out.stderr
        assert "'neighbors'" in out.stdout
    finally:
        s.stop()
