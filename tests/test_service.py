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


# ---------------------------------------------------------------------------- hardening (issue 20)
# In-process tests drive the ASGI app (Guard included) through httpx's ASGI transport, on one
# event loop, so concurrency is real; the socket tests run the real server.
import asyncio  # noqa: E402
import logging  # noqa: E402
import shutil  # noqa: E402

from click.testing import CliRunner  # noqa: E402

from graphembed.io.errors import InputError  # noqa: E402

SMALL_N = 300


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    root = tmp_path_factory.mktemp("svc-small")
    x = np.random.default_rng(5).standard_normal((SMALL_N, 8)).astype(np.float32)
    emb = Embedding([f"n{i}" for i in range(SMALL_N)], x, method="random", params={"seed": 5})
    build_and_save(emb, root / "h.index", index="HNSW16", metric="cosine")
    build_and_save(emb, root / "v.index", index="IVF4,Flat", metric="l2")
    return root


def asgi(app, calls, host="127.0.0.1:8000"):
    """Send ``[(method, path, kwargs)]`` to the ASGI ``app`` concurrently; the responses in order."""
    async def go():
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                     base_url=f"http://{host}", timeout=10) as client:
            return await asyncio.gather(*(client.request(m, p, **kw) for m, p, kw in calls))

    return asyncio.run(go())


def one(app, method, path, **kw):
    return asgi(app, [(method, path, kw)])[0]


def test_search_parameters_are_bounded_with_the_range_named(small):
    from graphembed.service.app import create_app

    app = create_app(small / "h.index", max_work=1_000_000)
    cases = [
        ("/neighbors", {"ids": ["n1"], "ef_search": 10**9},
         "ef_search=1000000000 is over the limit of 4096 (accepted range 1..4096)"),
        ("/neighbors", {"ids": ["n1"] * 200, "ef_search": 10**9},
         "ef_search=1000000000 is over the limit of 4096 (accepted range 1..4096)"),
        ("/neighbors", {"ids": ["n1"], "ef_search": 2**31},
         "ef_search=2147483648 is over the limit of 4096 (accepted range 1..4096)"),
        ("/search", {"vectors": [[0.5] * 8], "ef_search": 2**64},
         f"ef_search={2**64} is over the limit of 4096 (accepted range 1..4096)"),
        ("/neighbors", {"ids": ["n1"], "nprobe": 0}, "nprobe=0 is below 1 (accepted range 1..4096)"),
        ("/neighbors", {"ids": ["n1"], "k": -5}, "k=-5 is below 1 (accepted range 1..1000)"),
        ("/neighbors", {"ids": ["n1"], "k": 1001}, "k=1001 is over the limit of 1000 (accepted range 1..1000)"),
        ("/neighbors", {"ids": ["n1"] * 1025}, "1025 ids in one request is over the limit of 1024"),
        ("/search", {"vectors": [[0.5] * 8] * 1025}, "1025 vectors in one request is over the limit of 1024"),
        ("/similarity", {"pairs": [["n1", "n2"]] * 10_001},
         "10001 pairs in one request is over the limit of 10000"),
        # 200 queries x (max(ef, k) * 2 * 16 links, at most 300 * 32, + k) = 200 x 9,610
        ("/neighbors", {"ids": ["n1"] * 200, "ef_search": 4096},
         "this request would compare about 1,922,000 vectors, over the limit of 1,000,000: send "
         "fewer queries or a smaller k, ef_search or nprobe"),
    ]
    responses = asgi(app, [("POST", path, {"json": body}) for path, body, _ in cases])
    for (path, body, expected), r in zip(cases, responses):
        assert r.status_code == 422, (path, r.text)
        assert r.json()["error"] == expected
    # inside the bounds the same request is answered, equal to the library
    idx = app.app.state.graphembed.index
    r = one(app, "POST", "/neighbors", json={"ids": ["n1", "n2"], "k": 5, "ef_search": 4096})
    assert r.status_code == 200
    same_results(r.json()["results"], as_lists(idx.neighbors(["n1", "n2"], k=5, ef_search=4096), ["n1", "n2"]))


def test_cost_counts_k_ef_search_nprobe_and_decides_loop_or_worker(small, monkeypatch):
    from graphembed.service.app import INLINE_MAX_WORK, _work, create_app

    app = create_app(small / "h.index")
    idx = app.app.state.graphembed.index
    ivf = EmbeddingIndex.load(small / "v.index")
    # HNSW16: max(ef, k) candidates x 32 links, capped at the whole graph (300 x 32), plus k
    assert _work(idx, 1, k=10) == 64 * 32 + 10  # the stored default efSearch 64
    assert _work(idx, 1, k=100) == 100 * 32 + 100
    assert _work(idx, 3, k=10, ef_search=200) == 3 * (200 * 32 + 10)
    assert _work(idx, 1, k=10, ef_search=4096) == 300 * 32 + 10
    # IVF4: 4 centroids + nprobe lists of 75 vectors (nprobe above nlist probes them all)
    assert _work(ivf, 1, k=10, nprobe=1) == 4 + 75 + 10
    assert _work(ivf, 1, k=10, nprobe=100) == 4 + 300 + 10
    assert _work(idx, 2, ["n1"] * 50, k=10) == 2 * 60  # small filters: exact scan of the subset

    seen = []
    real = idx.neighbors

    def spy(*args, **kwargs):
        seen.append(threading.current_thread().name)
        return real(*args, **kwargs)

    monkeypatch.setattr(idx, "neighbors", spy)
    big = {"ids": [f"n{i}" for i in range(256)], "k": 10, "ef_search": 4096}
    assert _work(idx, 1, k=10) <= INLINE_MAX_WORK < _work(idx, 256, k=10, ef_search=4096)
    small_r, big_r = asgi(app, [("POST", "/neighbors", {"json": {"ids": ["n1"], "k": 10}}),
                                ("POST", "/neighbors", {"json": big})])
    assert small_r.status_code == 200 and big_r.status_code == 200
    assert seen[0] == threading.current_thread().name  # on the event loop
    assert seen[1].startswith("graphembed-search")  # in the worker pool
    same_results(big_r.json()["results"], as_lists(real(big["ids"], k=10, ef_search=4096), big["ids"]))


def test_slow_search_times_out_and_healthz_keeps_answering(small, monkeypatch):
    import graphembed.service.app as service

    monkeypatch.setattr(service, "INLINE_MAX_WORK", 0)  # every search goes to the worker pool
    app = service.create_app(small / "h.index", request_timeout=0.5, heavy_concurrency=1)
    idx = app.app.state.graphembed.index
    real, release = idx.neighbors, threading.Event()

    def stuck(*args, **kwargs):  # like faiss: cannot be interrupted, runs on after the time limit
        release.wait(10)
        return real(*args, **kwargs)

    monkeypatch.setattr(idx, "neighbors", stuck)

    async def go():
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                     base_url="http://127.0.0.1", timeout=10) as c:
            loop = asyncio.get_running_loop()
            slow = asyncio.create_task(c.post("/neighbors", json={"ids": ["n1"]}))
            await asyncio.sleep(0.05)
            queued = asyncio.create_task(c.post("/neighbors", json={"ids": ["n2"]}))
            await asyncio.sleep(0.05)
            t0 = loop.time()
            health = await c.get("/healthz")
            health_s = loop.time() - t0
            slow_r, queued_r = await slow, await queued
            busy_r = await c.post("/neighbors", json={"ids": ["n3"]})  # the stuck call holds the worker
            release.set()
            await asyncio.sleep(0.3)
            after_r = await c.post("/neighbors", json={"ids": ["n4"], "k": 3})
            return health, health_s, slow_r, queued_r, busy_r, after_r

    health, health_s, slow_r, queued_r, busy_r, after_r = asyncio.run(go())
    assert health.status_code == 200 and health_s < 0.3
    assert slow_r.status_code == 504
    assert slow_r.json()["error"].startswith("the search did not finish within 0.5 s")
    for r in (queued_r, busy_r):
        assert r.status_code == 503
        assert r.json()["error"].startswith("server busy: no search worker came free within 0.5 s")
    assert after_r.status_code == 200
    same_results(after_r.json()["results"], as_lists(real(["n4"], k=3), ["n4"]))


BAD_BODIES = [
    '{"ids": ["n1"], "k": ' + "9" * 5000 + "}",   # over Python's int-digit limit
    '{"ids": ["n1"], "k": 1e400}', '{"ids": ["n1"], "k": NaN}', '{"ids": ["n1"], "k": -Infinity}',
    '{"ids": ["n1"], "k": -1}', '{"ids": ["n1"], "k": 0}', '{"ids": ["n1"], "k": true}',
    '{"ids": ["n1"], "k": "10"}', '{"ids": ["n1"], "k": 2.5}', '{"ids": ["n1"], "k": null}',
    '{"ids": ["n1"], "ef_search": 2147483648}', '{"ids": ["n1"], "ef_search": -2147483649}',
    '{"ids": ["n1"], "nprobe": 18446744073709551616}', '{"ids": ["n1"], "ef_search": 1e9}',
    '{"ids": []}', '{"ids": null}', '{"ids": "n1"}', '{"ids": [["n1"]]}', '{"ids": [{"a": 1}]}',
    '{"ids": [1.5]}', '{"ids": [true]}', '{"ids": [NaN]}', '{"ids": ["nope", "n1"]}',
    '{"ids": [' + str(2**70) + "]}", '{"ids": ["' + "x" * 50_000 + '"]}',
    '{"ids": ["n1"], "filter": []}', '{"ids": ["n1"], "filter": ["zz"]}', '{"ids": ["n1"], "filter": "n2"}',
    '{"vectors": []}', '{"vectors": [[]]}', '{"vectors": "abc"}', '{"vectors": [["a", "b"]]}',
    '{"vectors": [[1, 2, 3]]}', '{"vectors": [[0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1]]}',
    '{"vectors": [[NaN, 0, 0, 0, 0, 0, 0, 0]]}', '{"vectors": [[Infinity, 0, 0, 0, 0, 0, 0, 0]]}',
    '{"vectors": [[1e39, 0, 0, 0, 0, 0, 0, 0]]}', '{"vectors": [[1' + "0" * 400 + ', 0, 0, 0, 0, 0, 0, 0]]}',
    '{"vectors": [[0, 0, 0, 0, 0, 0, 0, 0]], "k": 5}', '{"vectors": [1, 2, 3, 4, 5, 6, 7, 8]}',
    '{"pairs": []}', '{"pairs": [["n1"]]}', '{"pairs": [["n1", "n2", "n3"]]}', '{"pairs": [["n1", "zz"]]}',
    '{"pairs": "n1,n2"}', '{"pairs": [[null, "n1"]]}',
    '{"ids": ["n1"], "extra": 1}', "[]", "null", '"text"', "42", "{", '{"ids": ["n1"]', "",
    "\xff\xfe{}", '{"ids": ["\\ud800"]}', '{"ids": ["n1"]} trailing', '{"ids": ["n1"], "ids": []}',
]


def check_client_error(r, forbidden):
    assert r.status_code < 500, (r.status_code, r.request.content[:100], r.text[:300])
    if r.status_code >= 400:
        error = r.json()["error"]
        assert isinstance(error, str) and error and "\n" not in error and len(error) <= 600
    for text in forbidden:
        assert text not in r.text


def test_no_500_for_any_client_body(small):
    from hypothesis import HealthCheck, given, settings, strategies as st

    from graphembed.service.app import create_app

    app = create_app(small / "h.index")
    forbidden = [str(small), str(small.resolve())]
    calls = [("POST", path, {"content": body.encode("utf-8", "surrogateescape"),
                             "headers": {"content-type": "application/json"}})
             for body in BAD_BODIES for path in ("/neighbors", "/search", "/similarity")]
    calls += [("GET", f"/nodes/{node}/vector", {}) for node in ("zz", "%00", "n1/../n2", "x" * 5000, "-1")]
    calls += [("GET", "/no/such/route", {}), ("DELETE", "/neighbors", {}), ("POST", "/reload", {}),
              ("POST", "/neighbors", {"content": b'{"ids": ["n1"]}', "headers": {"content-type": "text/plain"}}),
              ("POST", "/neighbors", {"content": b'{"ids": ["n1"]}', "headers": {"content-length": "abc"}})]
    statuses = set()
    for r in asgi(app, calls):
        check_client_error(r, forbidden)
        statuses.add(r.status_code)
    assert {400, 404, 405, 422} <= statuses

    json_values = st.recursive(
        st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
        lambda inner: st.lists(inner, max_size=5) | st.dictionaries(
            st.sampled_from(["ids", "k", "filter", "ef_search", "nprobe", "vectors", "pairs", "x"]),
            inner, max_size=5), max_leaves=30)

    @settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
    @given(body=json_values, path=st.sampled_from(["/neighbors", "/search", "/similarity"]))
    def fuzz(body, path):
        content = json.dumps(body).encode()
        check_client_error(one(app, "POST", path, content=content,
                               headers={"content-type": "application/json"}), forbidden)

    fuzz()


def test_host_header_checked_without_a_token(small, setup):
    from graphembed.service.app import create_app

    app = create_app(small / "h.index")
    hosts = ["127.0.0.1", "127.0.0.1:8000", "localhost:9", "LOCALHOST", "[::1]:8000", "[::1]"]
    for host in hosts:
        assert one(app, "GET", "/healthz", headers={"host": host}).status_code == 200, host
    for host in ("evil.example", "evil.example:8000", "127.0.0.1.evil.example", "localhost.", "",
                 "127.0.0.1:8000@evil", "[::2]:8000", "0.0.0.0"):
        r = one(app, "POST", "/neighbors", json={"ids": ["n1"]}, headers={"host": host})
        assert r.status_code == 421, host
        assert r.json()["error"].startswith(f"Host {host!r} is not served here")
    # with a token any Host is answered (the token is the protection), unless names are listed
    secured = create_app(small / "h.index", token="t0k")
    auth = {"authorization": "Bearer t0k"}
    assert one(secured, "GET", "/info", headers={"host": "evil.example", **auth}).status_code == 200
    listed = create_app(small / "h.index", token="t0k", allowed_hosts=["graphs.example"])
    assert one(listed, "GET", "/info", headers={"host": "graphs.example:443", **auth}).status_code == 200
    assert one(listed, "GET", "/info", headers={"host": "evil.example", **auth}).status_code == 421
    # the real server without a token
    r = httpx.get(setup["open"].url + "/healthz", headers={"Host": "evil.example"})
    assert r.status_code == 421 and "not served here" in r.json()["error"]


def test_tokens_empty_refused_compared_safely(small):
    from graphembed.service.app import create_app

    for bad in ("", "   ", "\n\t"):
        with pytest.raises(InputError, match="empty or only whitespace"):
            create_app(small / "h.index", token=bad)
    app = create_app(small / "h.index", token="tok\n")  # as read from a file: the newline is not part
    assert one(app, "GET", "/info", headers={"authorization": "Bearer tok"}).status_code == 200
    for header in ("Bearer", "Bearer ", "Bearer to", "Bearer tok2", "Basic tok", "Bearer \u00e9"):
        assert one(app, "GET", "/info", headers={"authorization": header.encode("utf-8")}).status_code == 401


def test_cli_token_sources(small, tmp_path, monkeypatch):
    from graphembed.cli.serve import serve

    runner = CliRunner()
    index = str(small / "h.index")
    monkeypatch.delenv("GRAPHEMBED_TOKEN", raising=False)

    def run(*args, env=None):
        r = runner.invoke(serve, [index, "--check", *args], env=env)
        return r.exit_code, r.stderr.strip().splitlines()

    code, lines = run("--token", "")
    assert code == 2 and lines == ["graphembed: error: the token is empty or only whitespace: give a real "
                                   "token (--token-file or GRAPHEMBED_TOKEN)"]
    code, lines = run(env={"GRAPHEMBED_TOKEN": "  "})
    assert code == 2 and len(lines) == 1 and "empty or only whitespace" in lines[0]
    empty = tmp_path / "empty.token"
    empty.write_text("\n")
    code, lines = run("--token-file", str(empty))
    assert code == 2 and lines == [f"graphembed: error: {empty}: the token file is empty"]
    code, lines = run("--token-file", str(tmp_path / "missing.token"))
    assert code == 2 and len(lines) == 1 and "cannot read the token file" in lines[0]
    private = tmp_path / "private.token"
    private.write_text("s3cret\n")
    private.chmod(0o600)
    code, lines = run("--token-file", str(private))
    assert code == 0 and len(lines) == 1 and lines[0].startswith("ok:")
    private.chmod(0o644)
    code, lines = run("--token-file", str(private))
    assert code == 0 and lines[0] == (f"graphembed: warning: {private} is readable by other users; "
                                      f"chmod 600 {private}")
    code, lines = run("--token", "abc")
    assert code == 0 and "--token on the command line is visible to other users" in lines[0]
    code, lines = run(env={"GRAPHEMBED_TOKEN": "abc"})
    assert code == 0 and len(lines) == 1 and lines[0].startswith("ok:")
    code, lines = run("--token", "abc", "--token-file", str(private))
    assert code == 2 and lines == ["graphembed: error: give either --token-file or --token, not both"]


def test_no_absolute_paths_and_verified_reload(small, tmp_path):
    from graphembed.service.app import create_app, redact

    assert redact("/srv/x/emb.index/index.faiss: bad", ["/srv/x/emb.index"]) == "emb.index/index.faiss: bad"
    assert redact("error in /usr/lib/faiss/impl/io.cpp:63: oops") == "error in io.cpp:63: oops"
    assert redact("5 ids/vectors over /healthz") == "5 ids/vectors over /healthz"

    path = tmp_path / "copy.index"
    shutil.copytree(small / "h.index", path)
    app = create_app(path, token="t0k")
    auth = {"authorization": "Bearer t0k"}
    forbidden = [str(tmp_path), str(tmp_path.resolve())]
    before = one(app, "POST", "/neighbors", json={"ids": ["n7"], "k": 5}, headers=auth).json()
    info = one(app, "GET", "/info", headers=auth)
    assert info.json()["path"] == "copy.index"
    faiss_file = path / "index.faiss"
    good = faiss_file.read_bytes()
    damaged = bytearray(good)
    damaged[len(good) // 2] ^= 0xFF
    faiss_file.write_bytes(bytes(damaged))
    try:
        with pytest.raises(InputError, match="checksum mismatch"):
            create_app(path, token="t0k")  # verified when first loaded
        responses = [one(app, "POST", "/reload", headers=auth), info, one(app, "GET", "/openapi.json"),
                     one(app, "GET", "/nodes/zz/vector", headers=auth),
                     one(app, "POST", "/neighbors", json={"ids": ["zz"]}, headers=auth)]
        r = responses[0]
        assert r.status_code == 409
        assert r.json()["error"] == ("reload failed, still serving the previous index: copy.index/index.faiss: "
                                     "checksum mismatch: the file is damaged or was changed after the index "
                                     "was built; rebuild the index")
        shutil.rmtree(path)
        responses.append(one(app, "POST", "/reload", headers=auth))
        assert responses[-1].status_code == 409
        assert responses[-1].json()["error"].endswith("copy.index: index not found")
        for r in responses:
            for text in forbidden:
                assert text not in r.text
        after = one(app, "POST", "/neighbors", json={"ids": ["n7"], "k": 5}, headers=auth)
        assert after.status_code == 200 and after.json() == before  # still the old index
    finally:
        if path.exists():
            faiss_file.write_bytes(good)


def test_log_lines_rate_limited():
    from graphembed.service.server import RateLimitFilter

    now = [0.0]
    f = RateLimitFilter(burst=3, interval=10.0, clock=lambda: now[0])

    def record(msg, name="uvicorn.error"):
        return logging.LogRecord(name, logging.WARNING, __file__, 1, msg, (), None)

    first, second = record("Invalid HTTP request received."), record("Invalid HTTP request received.")
    first.exc_info = second.exc_info = (OSError, OSError(24, "Too many open files"), None)
    assert f.filter(first) and f.filter(second)
    assert first.exc_info is not None and second.exc_info is None  # one traceback, then the line only
    assert [f.filter(record("Invalid HTTP request received.")) for _ in range(8)] == [True] + [False] * 7
    assert f.filter(record("another message"))
    assert f.filter(record("Invalid HTTP request received.", name="asyncio"))  # another logger
    now[0] = 10.5
    r = record("Invalid HTTP request received.")
    assert f.filter(r) and r.getMessage() == "Invalid HTTP request received. (7 identical messages suppressed)"


def closed_within(sock, seconds):
    """Seconds until the server closes ``sock`` (recv returns b"" or resets), or None."""
    t0 = time.monotonic()
    sock.settimeout(seconds)
    try:
        while sock.recv(65536):
            pass
    except (ConnectionResetError, BrokenPipeError):
        pass
    except socket.timeout:
        return None
    return time.monotonic() - t0


def test_half_open_connections_are_closed_and_the_server_answers(setup):
    import select

    server = Server(setup["root"] / "int.index", "--header-timeout", "1", "--keep-alive-timeout", "1",
                    "--body-timeout", "1", "--limit-concurrency", "60").wait()
    socks = []
    try:
        partial = [b"GET /hea", b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ", b""]
        t0 = time.monotonic()
        for i in range(50):
            s = socket.create_connection(("127.0.0.1", server.port))
            if partial[i % 3]:
                s.sendall(partial[i % 3])
            socks.append(s)
        r = httpx.get(server.url + "/healthz", timeout=2)
        assert r.status_code == 200 and time.monotonic() - t0 < 1  # answered while 50 are half open
        # beyond twice --limit-concurrency (120 here), new connections are closed at once
        flood = [socket.create_connection(("127.0.0.1", server.port)) for _ in range(80)]
        socks += flood
        time.sleep(0.3)
        assert select.select(socks[:50], [], [], 0)[0] == []  # none of the first 50 closed yet
        refused = [s for s in select.select(flood, [], [], 0)[0] if closed_within(s, 0.1) is not None]
        assert 50 + 80 - 120 - 1 <= len(refused) <= 50 + 80 - 120 + 1
        for s in socks:  # the header timeout closes every other one, the test does not wait longer
            assert closed_within(s, max(0.1, t0 + 4 - time.monotonic())) is not None
        assert 0.9 < time.monotonic() - t0 < 4
        assert httpx.get(server.url + "/healthz", timeout=2).status_code == 200
        # a body that never completes is answered 408 after --body-timeout
        s = socket.create_connection(("127.0.0.1", server.port))
        socks.append(s)
        t1 = time.monotonic()
        s.sendall(b"POST /neighbors HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                  b"Content-Length: 100\r\n\r\n{\"ids\": [")
        s.settimeout(4)
        assert s.recv(65536).startswith(b"HTTP/1.1 408") and 0.9 < time.monotonic() - t1 < 3
        # an idle keep-alive connection is closed after --keep-alive-timeout
        s = socket.create_connection(("127.0.0.1", server.port))
        socks.append(s)
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        assert s.recv(65536).startswith(b"HTTP/1.1 200")
        waited = closed_within(s, 4)
        assert waited is not None and 0.5 < waited < 3
        # a burst of malformed requests: each answered 400, the log line rate-limited
        for _ in range(40):
            with socket.create_connection(("127.0.0.1", server.port)) as bad:
                bad.sendall(b"BLAH\x00 / HTTP/1.1\r\n\r\n")
                assert bad.recv(65536).startswith(b"HTTP/1.1 400")
    finally:
        for s in socks:
            s.close()
        server.stop()
    log = server.proc.stderr.read().decode()
    assert 1 <= log.count("Invalid HTTP request received.") <= 5, log[-2000:]
    assert "Traceback" not in log


def test_failures_inside_the_index_are_503_and_bugs_a_safe_500(small, tmp_path, monkeypatch, caplog):
    from graphembed.service.app import create_app

    x = np.random.default_rng(6).standard_normal((50, 4)).astype(np.float32)
    emb = Embedding([f"n{i}" for i in range(50)], x, method="random",
                    params={"input": "/home/someone/private/graph.csv"})
    build_and_save(emb, tmp_path / "p.index", index="Flat", metric="l2")
    app = create_app(tmp_path / "p.index")
    info = one(app, "GET", "/info").json()
    assert info["embedding"]["params"]["input"] == "graph.csv" and info["path"] == "p.index"
    idx = app.app.state.graphembed.index

    def faiss_fails(*args, **kwargs):
        raise RuntimeError(f"Error in virtual void faiss::Index::search() at /project/faiss/impl/x.cpp:42: "
                           f"damaged {tmp_path}/p.index")

    monkeypatch.setattr(idx, "neighbors", faiss_fails)
    r = one(app, "POST", "/neighbors", json={"ids": ["n1"]})
    assert r.status_code == 503
    assert r.json()["error"] == ("the search failed (Error in virtual void faiss::Index::search() at x.cpp:42: "
                                 "damaged p.index); the index may be damaged: rebuild it and POST /reload")

    def bug(*args, **kwargs):
        raise ZeroDivisionError(f"secret detail in {tmp_path}")

    monkeypatch.setattr(idx, "neighbors", bug)
    with caplog.at_level(logging.ERROR, logger="graphembed.service"):
        r = one(app, "POST", "/neighbors", json={"ids": ["n1"]})
    assert r.status_code == 500 and r.json() == {"error": "internal error (logged on the server)"}
    lines = [rec.getMessage() for rec in caplog.records if rec.name == "graphembed.service"]
    assert lines == ["internal error answering POST /neighbors: ZeroDivisionError"]
    assert one(app, "GET", "/healthz").status_code == 200
