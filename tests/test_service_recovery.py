"""Restart recovery of the service core: the server process killed with SIGKILL while a job runs;
a new core on the same data directory reruns it with the same seed (the same bytes as the library
run directly), runs the queued ones, keeps serving the done ones, and shows no temporary file."""
import json
import os
import signal
import subprocess
import sys
import time

import pytest

import graphembed as ge

pytest.importorskip("faiss")
pytest.importorskip("gensim")

SERVER = r"""
import json, shutil, sys, time
from graphembed.service.core import ServiceCore

def main():
    core = ServiceCore(sys.argv[1], workers=1).start()
    tmp = core.upload_dir / "upload"
    shutil.copy(sys.argv[2], tmp)
    g = core.add_graph(tmp, filename="karate.csv")["id"]
    specs = [("fastrp", {"dim": 8}), ("node2vec", {"dim": 8, "walks_per_node": 2, "walk_length": 10}),
             ("line", {"dim": 8, "n_samples": 20000})]
    ids = [core.submit({"graph": g, "task": "embed", "method": m, "params": p})["id"] for m, p in specs]
    while core.get_job(ids[0])["state"] != "done" or core.get_job(ids[1])["state"] != "running":
        time.sleep(0.02)
    with core.supervisor.lock:
        pid = core.supervisor.running[int(ids[1][1:])].process.pid
    print(json.dumps({"ids": ids, "worker": pid}), flush=True)
    time.sleep(600)

if __name__ == "__main__":
    main()
"""


def _gone(pid, timeout=10):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.05)
    return False


def test_sigkill_restart_reruns_with_the_same_bytes(tmp_path):
    from graphembed.registry import make_embedder
    from graphembed.service.catalog import load_graph
    from graphembed.service.core import ServiceCore

    data = tmp_path / "data"
    script = tmp_path / "server.py"
    script.write_text(SERVER)
    env = dict(os.environ, GRAPHEMBED_SERVICE_TEST_DELAY="3:embed")
    proc = subprocess.Popen([sys.executable, str(script), str(data), str(ge.datasets.karate_path())],
                            stdout=subprocess.PIPE, env=env, text=True)
    try:
        line = proc.stdout.readline()
        assert line, "the server printed nothing"
        info = json.loads(line)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
    ids = info["ids"]
    assert _gone(info["worker"]), "the worker of the killed server is still running"
    with ServiceCore(data, workers=2) as core:
        assert not list(core.upload_dir.iterdir())  # DATA/tmp emptied
        first = core.get_job(ids[0])
        assert first["state"] == "done"
        assert [core.get_job(j)["attempts"] for j in ids] == [0, 1, 0]
        deadline = time.monotonic() + 60
        while any(core.get_job(j)["state"] in ("queued", "running") for j in ids):
            assert time.monotonic() < deadline
            time.sleep(0.05)
        graph = load_graph(core.catalog.graph_path(1))
        for jid in ids:
            job = core.get_job(jid)
            assert job["state"] == "done", job["error"]
            est = make_embedder(job["method"], job["params"], n_jobs=1, verbose=False)
            est.fit_transform(graph).save(tmp_path / f"{jid}.parquet")
            path, _ = core.result_file(jid)
            assert path.read_bytes() == (tmp_path / f"{jid}.parquet").read_bytes(), jid
        leftovers = [p for p in data.rglob("*") if p.name.endswith(".tmp") or p.name.startswith(".")]
        assert not leftovers and not list(core.upload_dir.iterdir())


def test_interrupted_three_times_fails(tmp_path):
    import shutil

    from graphembed.service.core import ServiceCore

    with ServiceCore(tmp_path / "data", workers=1) as core:
        tmp = core.upload_dir / "upload"
        shutil.copy(ge.datasets.karate_path(), tmp)
        g = core.add_graph(tmp, filename="karate.csv")["id"]
        core.supervisor.stop()  # nothing runs: the job is only recorded
        core.supervisor = None
        with core.store.transaction() as conn:
            number = core.store.insert_job(conn, {"graph_number": int(g[1:]), "task": "orbits", "method": None,
                                                  "params": {}, "index": False, "created": "then",
                                                  "memory_estimate_bytes": 1})
        core.store.update_job(number, state="running", attempts=2)  # as if interrupted twice already
        jid = f"j{number}"
    with ServiceCore(tmp_path / "data", workers=1) as core:
        job = core.get_job(jid)
        assert job["state"] == "failed" and job["error"] == "interrupted 3 times" and job["attempts"] == 3
