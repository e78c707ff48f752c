"""The neighbour service, run for real: uvicorn on a free 127.0.0.1 port, queried with httpx."""
import json
import os
import socket
import subprocess
import sys
import threading
import time

import numpy as np
import pytest

pytest.importorskip("faiss")
pytest.importorskip("fastapi")
pytest.importorskip("uvicorn")
httpx = pytest.importorskip("httpx")

from graphembed.embedding import Embedding  # noqa: E402
from graphembed.index import EmbeddingIndex, build_and_save  # noqa: E402

N, DIM = 2000, 32
TOKEN = "s3cret-token"
MAX_BODY = 200_000


def make_emb(seed, string_ids=True):
    x = np.random.default_rng(seed).standard_normal((N, DIM)).astype(np.float32)
    ids = [f"n{i}" for i in range(N)] if string_ids else np.arange(N, dtype=np.int64) * 3
    return Embedding(ids, x, method="random", params={"seed": seed})


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """``graphembed serve`` in a subprocess on a free loopback port."""

    def __init__(self, index_dir, *args, env=None):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "graphembed.cli.serve", str(index_dir), "--host", "127.0.0.1",
             "--port", str(self.port), *args],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env={**os.environ, **(env or {})})

    def wait(self, timeout=30):
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

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    root = tmp_path_factory.mktemp("service")
    emb_a, emb_int = make_emb(1), make_emb(2, string_ids=False)
    build_and_save(emb_a, root / "a.index", index="HNSW16", metric="cosine")
    build_and_save(emb_int, root / "int.index", index="Flat", metric="l2")
    secured = Server(root / "a.index", "--max-k", "50", "--max-batch", "64",
                     "--max-body-bytes", str(MAX_BODY), env={"GRAPHEMBED_TOKEN": TOKEN})
    open_server = Server(root / "int.index")
    try:
        yield {"root": root, "emb_a": emb_a, "emb_int": emb_int,
               "secured": secured.wait(), "open": open_server.wait(),
               "lib_a": EmbeddingIndex.load(root / "a.index"),
               "lib_int": EmbeddingIndex.load(root / "int.index")}
    finally:
        secured.stop()
        open_server.stop()


@pytest.fixture(scope="module")
def auth_client(setup):
    with httpx.Client(base_url=setup["secured"].url, headers={"Authorization": f"Bearer {TOKEN}"},
                      timeout=10) as client:
        yield client


@pytest.fixture(scope="module")
def open_client(setup):
    with httpx.Client(base_url=setup["open"].url, timeout=10) as client:
        yield client


def as_lists(result, queries):
    return [{"id": q, "neighbors": [{"id": v, "score": s} for v, s in zip(ids.tolist(), scores.tolist())]}
            for q, (ids, scores) in zip(queries, result)]


def same_results(got, expected):
    assert [r["id"] for r in got] == [r["id"] for r in expected]
    for g, e in zip(got, expected):
        assert [n["id"] for n in g["neighbors"]] == [n["id"] for n in e["neighbors"]]
        np.testing.assert_allclose([n["score"] for n in g["neighbors"]],
                                   [n["score"] for n in e["neighbors"]], rtol=1e-5, atol=1e-6)


# ---------------------------------------------------------------------------- results
def test_neighbors_equal_the_library(setup, auth_client, open_client):
    ids = ["n0", "n17", "n1999"]
    r = auth_client.post("/neighbors", json={"ids": ids, "k": 10})
    assert r.status_code == 200, r.text
    assert r.json()["metric"] == "cosine"
    same_results(r.json()["results"], as_lists(setup["lib_a"].neighbors(ids, k=10), ids))
    flt = [f"n{i}" for i in range(0, N, 2)]
    r = auth_client.post("/neighbors", json={"ids": ["n1"], "k": 5, "filter": flt, "ef_search": 100})
    same_results(r.json()["results"], as_lists(setup["lib_a"].neighbors(["n1"], k=5, filter=flt), ["n1"]))
    assert all(int(n["id"][1:]) % 2 == 0 for n in r.json()["results"][0]["neighbors"])
    r = open_client.post("/neighbors", json={"ids": [0, "3"], "k": 4})  # int ids; digits match
    assert r.status_code == 200, r.text
    same_results(r.json()["results"], as_lists(setup["lib_int"].neighbors([0, "3"], k=4), [0, "3"]))


def test_large_batches_run_off_the_event_loop_with_the_same_results(setup, open_client):
    from graphembed.service.app import INLINE_MAX_WORK, _work

    lib = setup["lib_int"]
    ids = [int(v) for v in lib.node_ids[:1024]]
    assert _work(lib, 1, None) <= INLINE_MAX_WORK < _work(lib, len(ids), None)  # worker-thread path
    r = open_client.post("/neighbors", json={"ids": ids, "k": 3})
    assert r.status_code == 200, r.text
    same_results(r.json()["results"], as_lists(lib.neighbors(ids, k=3), ids))


def test_search_similarity_vector_equal_the_library(setup, auth_client, open_client):
    q = np.random.default_rng(9).standard_normal((3, DIM)).astype(np.float32)
    r = auth_client.post("/search", json={"vectors": q.tolist(), "k": 7})
    assert r.status_code == 200, r.text
    same_results(r.json()["results"], as_lists(setup["lib_a"].search(q, k=7), range(3)))
    r = open_client.post("/search", json={"vectors": [[1] * DIM], "k": 3})  # integers are numbers
    assert r.status_code == 200 and len(r.json()["results"][0]["neighbors"]) == 3

    pairs = [["n1", "n2"], ["n5", "n5"]]
    r = auth_client.post("/similarity", json={"pairs": pairs})
    np.testing.assert_allclose(r.json()["scores"], setup["lib_a"].similarity(pairs), rtol=1e-5)
    assert r.json()["scores"][1] == pytest.approx(1.0, abs=1e-5)

    r = auth_client.get("/nodes/n42/vector")
    assert r.status_code == 200
    np.testing.assert_allclose(r.json()["vector"], setup["lib_a"].vector("n42"), rtol=1e-6)
    assert r.json()["normalized"] is True
    r = open_client.get("/nodes/6/vector")
    assert r.json()["id"] == 6 and r.json()["normalized"] is False
    np.testing.assert_allclose(r.json()["vector"], setup["emb_int"].vectors[2], rtol=1e-6)


def test_info_healthz_docs(setup, auth_client, open_client):
    info = auth_client.get("/info").json()
    assert info["count"] == N and info["dim"] == DIM and info["metric"] == "cosine"
    assert info["factory"] == "HNSW16" and info["limits"]["max_k"] == 50 and info["auth"] is True
    assert httpx.get(setup["secured"].url + "/healthz").json()["status"] == "ok"  # no token needed
    docs = open_client.get("/docs")
    assert docs.status_code == 200 and "swagger" in docs.text.lower()
    paths = open_client.get("/openapi.json").json()["paths"]
    assert {"/neighbors", "/search", "/similarity", "/reload", "/info", "/healthz"} <= set(paths)


# ---------------------------------------------------------------------------- errors
def error(r, status):
    assert r.status_code == status, (r.status_code, r.text)
    body = r.json()
    assert isinstance(body["error"], str) and body["error"]
    return body["error"]


def test_error_paths(setup, auth_client, open_client):
    c = auth_client
    post = lambda path, content: c.post(path, content=content,  # noqa: E731
                                        headers={"content-type": "application/json"})
    assert "malformed JSON" in error(post("/neighbors", '{"ids": ["n1"], "k": '), 400)
    error(post("/neighbors", "[1, 2]"), 422)
    error(c.post("/neighbors", json={"ids": "n1"}), 422)
    error(c.post("/neighbors", json={"ids": [1.5]}), 422)
    error(c.post("/neighbors", json={"ids": []}), 422)
    error(c.post("/neighbors", json={"ids": ["n1"], "k": "ten"}), 422)
    error(c.post("/neighbors", json={"ids": ["n1"], "k": 0}), 422)
    error(c.post("/neighbors", json={"ids": ["n1"], "k": 10, "unexpected": 1}), 422)
    assert "over the limit of 50" in error(c.post("/neighbors", json={"ids": ["n1"], "k": 51}), 422)
    assert "limit of 64" in error(c.post("/neighbors", json={"ids": ["n1"] * 65}), 422)
    assert "'zz'" in error(c.post("/neighbors", json={"ids": ["n1", "zz"]}), 404)
    assert "'yy'" in error(c.post("/neighbors", json={"ids": ["n1"], "filter": ["yy"]}), 404)
    error(c.post("/neighbors", json={"ids": ["n1"], "filter": []}), 422)
    error(c.post("/neighbors", json={"ids": ["n1"], "ef_search": 0}), 422)
    assert "dimension 32" in error(c.post("/search", json={"vectors": [[0.1] * 31]}), 422)
    error(c.post("/search", json={"vectors": [[0.1] * 32, [0.1] * 33]}), 422)
    error(c.post("/search", json={"vectors": [["a"] * 32]}), 422)
    error(c.post("/search", json={"vectors": []}), 422)
    error(post("/search", json.dumps({"vectors": [[float("nan")] * 32]})), 422)  # NaN token
    error(c.post("/search", json={"vectors": [[1e39] * 32]}), 422)  # overflows float32
    assert "'nope'" in error(c.post("/similarity", json={"pairs": [["n1", "nope"]]}), 404)
    error(c.post("/similarity", json={"pairs": [["n1", "n2", "n3"]]}), 422)
    assert "'missing'" in error(c.get("/nodes/missing/vector"), 404)
    error(c.get("/no/such/route"), 404)
    error(c.get("/neighbors"), 405)
    # body size: declared and streamed (chunked, no content-length)
    big = json.dumps({"vectors": [[0.5] * 32] * 2000})
    assert len(big) > MAX_BODY
    error(post("/search", big), 413)
    error(c.post("/search", content=(big[i:i + 10_000].encode() for i in range(0, len(big), 10_000)),
                 headers={"content-type": "application/json"}), 413)
    # auth
    url = setup["secured"].url
    assert error(httpx.post(url + "/neighbors", json={"ids": ["n1"]}), 401)
    r = httpx.post(url + "/neighbors", json={"ids": ["n1"]}, headers={"Authorization": "Bearer wrong"})
    error(r, 401)
    assert r.headers["www-authenticate"] == "Bearer"
    error(httpx.get(url + "/info"), 401)
    error(httpx.post(url + "/reload"), 401)
    error(httpx.post(url + "/reload", headers={"Authorization": "Bearer wrong"}), 401)
    assert "--token" in error(open_client.post("/reload"), 403)  # no token configured: no reload
    # the server survived all of it
    assert c.post("/neighbors", json={"ids": ["n1"], "k": 3}).status_code == 200


# ---------------------------------------------------------------------------- load and reload
def hammer(url, headers, bodies, per_client, clients, failures, statuses):
    def run(c):
        with httpx.Client(base_url=url, headers=headers, timeout=20) as client:
            for i in range(per_client):
                try:
                    r = client.post("/neighbors", json=bodies[(c * per_client + i) % len(bodies)])
                    statuses.append(r.status_code)
                    if r.status_code != 200 or len(r.json()["results"][0]["neighbors"]) != 10:
                        failures.append((r.status_code, r.text[:200]))
                except Exception as exc:  # noqa: BLE001 - counted as a failure
                    failures.append(repr(exc))

    threads = [threading.Thread(target=run, args=(c,)) for c in range(clients)]
    for t in threads:
        t.start()
    return threads


def test_load_8_clients_5000_requests(setup):
    failures, statuses = [], []
    bodies = [{"ids": [f"n{i}"], "k": 10} for i in range(0, N, 7)]
    t0 = time.perf_counter()
    threads = hammer(setup["secured"].url, {"Authorization": f"Bearer {TOKEN}"}, bodies, 625, 8,
                     failures, statuses)
    for t in threads:
        t.join()
    seconds = time.perf_counter() - t0
    assert len(statuses) == 5000 and failures == [], failures[:5]
    print(f"5000 requests from 8 clients in {seconds:.1f} s ({5000 / seconds:.0f} req/s)")


def test_reload_swaps_the_index_without_dropping_requests(setup, auth_client):
    path = setup["root"] / "a.index"
    emb_b = make_emb(3)
    lib_a = setup["lib_a"]
    failures, statuses = [], []
    threads = hammer(setup["secured"].url, {"Authorization": f"Bearer {TOKEN}"},
                     [{"ids": ["n5"], "k": 10}], 150, 4, failures, statuses)
    try:
        build_and_save(emb_b, path, index="Flat", metric="cosine")  # rebuilt and renamed into place
        r = auth_client.post("/reload")
        assert r.status_code == 200, r.text
        assert r.json()["generation"] == 2 and r.json()["checksum"].startswith("sha256:")
        lib_b = EmbeddingIndex.load(path)
        got = auth_client.post("/neighbors", json={"ids": ["n5"], "k": 10}).json()["results"]
        same_results(got, as_lists(lib_b.neighbors(["n5"], k=10), ["n5"]))
        assert auth_client.get("/info").json()["factory"] == "Flat"
    finally:
        for t in threads:
            t.join()
        build_and_save(setup["emb_a"], path, index="HNSW16", metric="cosine")
        auth_client.post("/reload")
    assert failures == [] and len(statuses) == 600
    got = auth_client.post("/neighbors", json={"ids": ["n5"], "k": 10}).json()["results"]
    same_results(got, as_lists(lib_a.neighbors(["n5"], k=10), ["n5"]))


def test_failed_reload_keeps_serving(setup, auth_client, tmp_path):
    path = setup["root"] / "a.index"
    meta = (path / "index.json").read_text()
    (path / "index.json").write_text("{broken")
    try:
        assert "previous index" in error(auth_client.post("/reload"), 409)
        assert auth_client.post("/neighbors", json={"ids": ["n5"], "k": 3}).status_code == 200
    finally:
        (path / "index.json").write_text(meta)


def test_serve_check_and_missing_index(tmp_path, setup):
    base = [sys.executable, "-m", "graphembed.cli.serve"]
    r = subprocess.run(base + [str(setup["root"] / "int.index"), "--check"], capture_output=True, text=True)
    assert r.returncode == 0 and "ok:" in r.stderr
    r = subprocess.run(base + [str(tmp_path / "none.index")], capture_output=True, text=True)
    assert r.returncode == 2 and "none.index: index not found" in r.stderr
    r = subprocess.run(base + [str(setup["root"] / "int.index"), "--host", "0.0.0.0", "--check"],
                       capture_output=True, text=True)
    assert r.returncode == 0 and "without --token" in r.stderr
