"""The analytics service's HTTP layer (graphembed.service.api) over a small fake ServiceCore:
every route's success and error answers, token scopes, caps, ids, CORS, static files, and the
Python client (ge.Client) against the same app through httpx's ASGI transport."""
import json
import re

import numpy as np
import pytest

pytest.importorskip("fastapi")
pytest.importorskip("python_multipart")
pytest.importorskip("faiss")
httpx = pytest.importorskip("httpx")

from graphembed.embedding import Embedding  # noqa: E402
from graphembed.service import errors as E  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore:Using .httpx. with .starlette.testclient.")
WRITE, READ = "w-token-123", "r-token-456"
FORMATS = {".csv", ".tsv", ".txt", ".edges", ".el"}


class FakeCore:
    """The ServiceCore interface of the spec, in memory: jobs finish at once."""

    def __init__(self, data_dir):
        self.data_dir = data_dir
        self.upload_dir = data_dir / "tmp"
        self.upload_dir.mkdir(parents=True, exist_ok=True)
        self.max_upload_bytes = 10_000
        self.graphs, self.jobs, self.indexes, self.calls = {}, {}, {}, []

    def tokens(self):
        return {"write": WRITE, "read": READ}

    def methods(self):
        schema = {"type": "object", "properties": {"dim": {"type": "integer", "minimum": 1}}}
        return {"tasks": {"embed": {"methods": ["fastrp"], "params": {}},
                          "orbits": {"methods": None, "params": {}}},
                "embedders": {"fastrp": schema}}

    def _record(self, gid, filename, name, directed, weighted, edges, labels):
        nodes = {v for e in edges for v in e}
        return {"id": gid, "name": name or filename, "filename": filename, "directed": directed,
                "weighted": bool(weighted), "n_nodes": len(nodes), "n_edges": len(edges),
                "has_labels": labels is not None, "created": "2026-01-01T00:00:00Z",
                "info": {"nodes": len(nodes)}}

    def add_graph(self, src_path, *, filename, name=None, directed=False, format=None, delimiter=None,
                  header=None, weighted=None, labels_path=None, labels_filename=None):
        self.calls.append(("add_graph", src_path, filename, labels_path))
        assert labels_path is None or labels_filename == "labels.csv"
        assert src_path.parent == self.upload_dir
        suffix = "." + filename.rsplit(".", 1)[-1] if "." in filename else ""
        if format is None and suffix not in FORMATS:
            raise E.UnsupportedMedia(f"{filename}: unknown graph format {suffix or '(no suffix)'!r}")
        edges = []
        for i, line in enumerate(src_path.read_text(errors="replace").splitlines(), 1):
            parts = line.replace(",", " ").split()
            if len(parts) < 2:
                raise E.BadRequest(f"{filename}, line {i}: expected two node ids, got {line[:20]!r}")
            edges.append(tuple(parts[:2]))
        if labels_path is not None:
            assert labels_path.read_text().startswith("node")
        gid = f"g{len(self.graphs) + 1}"
        self.graphs[gid] = self._record(gid, filename, name, directed, weighted, edges, labels_path)
        src_path.unlink()
        return self.graphs[gid]

    def register_graph(self, rel_path, **opts):
        self.calls.append(("register_graph", rel_path, opts))
        target = (self.data_dir / rel_path).resolve()
        if not target.is_relative_to(self.data_dir.resolve()):
            raise E.Forbidden(f"{rel_path}: not under the data directory")
        if not target.is_file():
            raise E.NotFound(f"{rel_path}: no such file under the data directory")
        gid = f"g{len(self.graphs) + 1}"
        self.graphs[gid] = self._record(gid, target.name, opts.get("name"), opts.get("directed", False),
                                        None, [("a", "b")], None)
        return self.graphs[gid]

    def list_graphs(self):
        return list(self.graphs.values())

    def get_graph(self, gid):
        if gid not in self.graphs:
            raise E.NotFound(f"unknown graph {gid}")
        return self.graphs[gid]

    def delete_graph(self, gid):
        self.get_graph(gid)
        if any(j["graph"] == gid and j["state"] in ("queued", "running") for j in self.jobs.values()):
            raise E.Conflict(f"graph {gid} is used by a queued or running job")
        del self.graphs[gid]

    def submit(self, spec):
        self.get_graph(spec["graph"])
        params = dict(spec["params"])
        if "dim" in params and (not isinstance(params["dim"], int) or params["dim"] < 1):
            raise E.Invalid(f"dim={params['dim']!r} is out of range (accepted range 1..4096)", param="dim")
        params.setdefault("seed", 7)
        jid = f"j{len(self.jobs) + 1}"
        embed = spec["task"] == "embed"
        self.jobs[jid] = {
            "id": jid, "graph": spec["graph"], "task": spec["task"], "method": spec["method"],
            "params": params, "index": spec["index"], "state": "done" if params.get("dim") != 99 else "queued",
            "progress": {"stage": None, "fraction": 1.0}, "error": None, "attempts": 1,
            "created": "2026-01-01T00:00:00Z", "started": "2026-01-01T00:00:01Z",
            "finished": "2026-01-01T00:00:02Z", "timings": {"queued_s": 0.1, "run_s": 1.0},
            "memory_estimate_bytes": 1000,
            "results": {"embedding": True, **({"index": True} if spec["index"] else {})} if embed
            else {"summary": True}}
        out = self.data_dir / "jobs" / jid
        out.mkdir(parents=True)
        if embed:
            emb = Embedding([f"n{i}" for i in range(20)],
                            np.random.default_rng(1).standard_normal((20, 4)).astype(np.float32))
            emb.save(out / "embedding.parquet")
        else:
            (out / "summary.json").write_text(json.dumps({"triangles": 3}))
        return self.jobs[jid]

    def list_jobs(self, graph=None, state=None):
        return [j for j in self.jobs.values() if graph in (None, j["graph"]) and state in (None, j["state"])]

    def get_job(self, jid):
        if jid not in self.jobs:
            raise E.NotFound(f"unknown job {jid}")
        return self.jobs[jid]

    def cancel(self, jid):
        job = self.get_job(jid)
        if job["state"] in ("queued", "running"):
            job["state"] = "cancelled"
        return job

    def result_file(self, jid, format=None):
        job = self.get_job(jid)
        if job["state"] != "done":
            raise E.Conflict(f"job {jid} is {job['state']}, not done")
        out = self.data_dir / "jobs" / jid
        if "summary" in job["results"]:
            return out / "summary.json", "application/json"
        if format == "json":
            raise E.ServiceError("an embedding is served as parquet or npz", status=406)
        if format == "npz":
            emb = Embedding.load(out / "embedding.parquet")
            emb.save(out / "embedding.npz")
            return out / "embedding.npz", "application/x-npz"
        return out / "embedding.parquet", "application/vnd.apache.parquet"

    def index(self, jid):
        job = self.get_job(jid)
        if not job["results"].get("index"):
            raise E.Conflict(f"job {jid} built no index")
        if jid not in self.indexes:
            from graphembed.index import EmbeddingIndex

            emb = Embedding.load(self.data_dir / "jobs" / jid / "embedding.parquet")
            self.indexes[jid] = EmbeddingIndex.build(emb, index="Flat", metric="cosine")
        return self.indexes[jid]

    def embedding_map(self, jid, method="pca"):
        job = self.get_job(jid)
        if "embedding" not in job["results"]:
            raise E.Conflict(f"job {jid} has no embedding")
        return {"ids": [f"n{i}" for i in range(20)], "x": [0.0] * 20, "y": [1.0] * 20, "method": method}


@pytest.fixture
def core(tmp_path):
    return FakeCore(tmp_path / "data")


def make_app(core, **kw):
    from graphembed.service.api import create_service_app

    return create_service_app(core, **kw)


def client(app, token=WRITE, **kw):
    from starlette.testclient import TestClient

    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return TestClient(app, base_url="http://127.0.0.1", headers=headers, raise_server_exceptions=False, **kw)


def one_line_error(r, status):
    assert r.status_code == status, (r.status_code, r.text)
    body = r.json()
    assert isinstance(body["error"], str) and "\n" not in body["error"] and body["error"]
    assert "Traceback" not in r.text
    return body["error"]


@pytest.fixture
def c(core):
    return client(make_app(core))


def upload(c, text=b"a,b\nb,c\nc,a\n", filename="edges.csv", **fields):
    files = {"file": (filename, text, "text/csv")}
    if "labels" in fields:
        files["labels"] = ("labels.csv", fields.pop("labels"), "text/csv")
    return c.post("/graphs", files=files, data={k: str(v).lower() for k, v in fields.items()})


# ---------------------------------------------------------------------------- catalog
def test_upload_list_get_delete(c, core):
    r = upload(c, name="tri", directed=True, labels=b"node,label\na,1\n")
    assert r.status_code == 201, r.text
    g = r.json()
    assert g["id"] == "g1" and g["n_nodes"] == 3 and g["n_edges"] == 3 and g["directed"] and g["has_labels"]
    assert g["name"] == "tri"
    assert c.get("/graphs").json() == [g]
    assert c.get("/graphs/g1").json() == g
    assert list(core.upload_dir.iterdir()) == []  # the temporary files are gone
    assert c.delete("/graphs/g1").status_code == 204
    one_line_error(c.get("/graphs/g1"), 404)


def test_upload_errors(c, core):
    assert "line 2" in one_line_error(upload(c, b"a,b\nlonely\n"), 400)
    assert "unknown graph format" in one_line_error(upload(c, filename="edges.xyz"), 415)
    assert "limit of 10000 bytes" in one_line_error(upload(c, b"a,b\n" * 5000), 413)
    assert one_line_error(c.post("/graphs", json={"file": "x"}), 415)
    assert one_line_error(c.post("/graphs", data={"name": "x"}), 415)  # urlencoded, no file
    assert one_line_error(c.post("/graphs", files={"labels": ("l.csv", b"node,label\n")}), 422)
    r = c.post("/graphs", files={"file": ("e.csv", b"a,b\n")}, data={"colour": "red"})
    assert one_line_error(r, 422) and r.json()["param"] == "colour"
    r = upload(c, directed="maybe")
    assert one_line_error(r, 422) and r.json()["param"] == "directed"
    bad = c.post("/graphs", content=b"--xx\r\nnonsense", headers={"content-type": "multipart/form-data; boundary=xx"})
    assert bad.status_code in (400, 422), bad.text
    one_line_error(bad, bad.status_code)
    assert list(core.upload_dir.iterdir()) == []  # nothing left behind by any failure
    # the client's file name is reduced to its base name; the server never sees directories
    assert upload(c, filename="../../etc/edges.csv").json()["filename"] == "edges.csv"


def test_register(c, core):
    (core.data_dir / "files").mkdir()
    (core.data_dir / "files" / "e.csv").write_text("a,b\n")
    r = c.post("/graphs/register", json={"path": "files/e.csv", "directed": True})
    assert r.status_code == 201 and r.json()["directed"] is True
    one_line_error(c.post("/graphs/register", json={"path": "../outside.csv"}), 403)
    one_line_error(c.post("/graphs/register", json={"path": "files/missing.csv"}), 404)
    one_line_error(c.post("/graphs/register", json={"path": "a\x00b"}), 400)
    r = c.post("/graphs/register", json={"path": "files/e.csv", "colour": 1})
    assert one_line_error(r, 422) and r.json()["param"] == "colour"
    one_line_error(c.post("/graphs/register", content=b"{not json", headers={"content-type": "application/json"}), 400)


# ---------------------------------------------------------------------------- jobs, results, neighbours
def test_jobs_results_neighbors_and_map(c, core):
    upload(c)
    r = c.post("/jobs", json={"graph": "g1", "task": "embed", "method": "fastrp", "params": {"dim": 4},
                              "index": True})
    assert r.status_code == 202, r.text
    job = r.json()
    assert job["id"] == "j1" and job["params"]["seed"] == 7
    assert c.get("/jobs/j1").json()["state"] == "done"
    assert [j["id"] for j in c.get("/jobs", params={"graph": "g1", "state": "done"}).json()] == ["j1"]
    assert c.get("/jobs", params={"state": "failed"}).json() == []
    one_line_error(c.get("/jobs", params={"state": "bogus"}), 422)
    pq = c.get("/jobs/j1/result")
    assert pq.status_code == 200 and pq.headers["content-type"] == "application/vnd.apache.parquet"
    assert pq.content[:4] == b"PAR1"
    npz = c.get("/jobs/j1/result", headers={"Accept": "application/x-npz"})
    assert npz.headers["content-type"] == "application/x-npz" and npz.content[:2] == b"PK"
    assert c.get("/jobs/j1/result?format=npz").content == npz.content
    one_line_error(c.get("/jobs/j1/result?format=json"), 406)
    nb = c.post("/embeddings/j1/neighbors", json={"ids": ["n1"], "k": 3}).json()
    assert nb["k"] == 3 and nb["results"][0]["id"] == "n1" and len(nb["results"][0]["neighbors"]) == 3
    assert "n1" not in [n["id"] for n in nb["results"][0]["neighbors"]]
    assert "unknown node id" in one_line_error(c.post("/embeddings/j1/neighbors", json={"ids": ["zz"]}), 404)
    r = c.post("/embeddings/j1/neighbors", json={"ids": ["n1"], "k": 0})
    assert one_line_error(r, 422) and r.json()["param"] == "k"
    m = c.get("/embeddings/j1/map?method=umap").json()
    assert m["method"] == "umap" and len(m["x"]) == 20
    one_line_error(c.get("/embeddings/j1/map?method=tsne"), 422)
    # a job without an index, a summary job
    c.post("/jobs", json={"graph": "g1", "task": "orbits"})
    one_line_error(c.post("/embeddings/j2/neighbors", json={"ids": ["n1"]}), 409)
    s = c.get("/jobs/j2/result")
    assert s.headers["content-type"].startswith("application/json") and s.json() == {"triangles": 3}


def test_job_errors_and_cancel(c, core):
    upload(c)
    r = c.post("/jobs", json={"graph": "g1", "task": "embed", "method": "fastrp", "params": {"dim": 0}})
    assert "accepted range" in one_line_error(r, 422) and r.json()["param"] == "dim"
    one_line_error(c.post("/jobs", json={"graph": "g9", "task": "embed"}), 404)
    r = c.post("/jobs", json={"graph": "g1", "task": "dance"})
    assert one_line_error(r, 422) and r.json()["param"] == "task"
    r = c.post("/jobs", json={"graph": "../x", "task": "embed"})
    assert one_line_error(r, 422) and r.json()["param"] == "graph"
    one_line_error(c.post("/jobs", json={"graph": "g1", "task": "embed", "extra": 1}), 422)
    one_line_error(c.post("/jobs", json=[1, 2]), 422)
    queued = c.post("/jobs", json={"graph": "g1", "task": "embed", "params": {"dim": 99}}).json()
    one_line_error(c.get(f"/jobs/{queued['id']}/result"), 409)
    one_line_error(c.delete("/graphs/g1"), 409)  # a queued job uses it
    assert c.delete(f"/jobs/{queued['id']}").json()["state"] == "cancelled"
    one_line_error(c.get("/jobs/j999"), 404)


@pytest.mark.parametrize("path", ["/graphs/x1", "/graphs/g", "/graphs/g1x", "/graphs/g1234567890123456789",
                                  "/jobs/g1", "/jobs/j1%0A", "/jobs/..%2Fj1", "/embeddings/j-1/map"])
def test_ids_are_checked_before_any_lookup(c, core, path):
    r = c.get(path)
    assert r.status_code in (404, 422), (path, r.status_code)
    one_line_error(r, r.status_code)
    assert not [call for call in core.calls if call[0] not in ("add_graph", "register_graph")]


# ---------------------------------------------------------------------------- tokens, caps, hosts, CORS
def test_token_scopes(core):
    app = make_app(core)
    anon, bad, read, write = client(app, None), client(app, "nope"), client(app, READ), client(app, WRITE)
    assert anon.get("/healthz").json()["status"] == "ok"
    for who in (anon, bad):
        assert one_line_error(who.get("/graphs"), 401)
        assert who.get("/graphs").headers["www-authenticate"] == "Bearer"
        one_line_error(upload(who), 401)
    assert upload(write).status_code == 201
    assert read.get("/graphs").status_code == 200 and read.get("/methods").status_code == 200
    assert "read-only" in one_line_error(upload(read), 403)
    one_line_error(read.post("/jobs", json={"graph": "g1", "task": "embed"}), 403)
    one_line_error(read.delete("/graphs/g1"), 403)
    one_line_error(read.post("/graphs/register", json={"path": "x.csv"}), 403)
    write.post("/jobs", json={"graph": "g1", "task": "embed", "index": True})
    one_line_error(read.delete("/jobs/j1"), 403)
    assert read.get("/jobs/j1/result").status_code == 200
    assert read.post("/embeddings/j1/neighbors", json={"ids": ["n1"]}).status_code == 200
    assert anon.get("/graphs", headers={"Authorization": f"Basic {WRITE}"}).status_code == 401


def test_json_body_cap_hosts_and_cors(core):
    c = client(make_app(core, max_body_bytes=1000))
    r = c.post("/jobs", json={"graph": "g1", "task": "embed", "params": {"x": "y" * 2000}})
    assert "over 1000 bytes" in one_line_error(r, 413)
    assert upload(c).status_code == 201  # the upload cap, not the JSON cap, applies to uploads
    plain = client(make_app(core))
    pre = plain.options("/graphs", headers={"Origin": "https://a.example", "Access-Control-Request-Method": "GET"})
    assert "access-control-allow-origin" not in pre.headers
    cors = client(make_app(core, cors_origins=["https://a.example"]))
    pre = cors.options("/graphs", headers={"Origin": "https://a.example", "Access-Control-Request-Method": "GET",
                                           "Access-Control-Request-Headers": "authorization"})
    assert pre.headers["access-control-allow-origin"] == "https://a.example"
    got = cors.get("/graphs", headers={"Origin": "https://evil.example"})
    assert "access-control-allow-origin" not in got.headers
    hosts = client(make_app(core, allowed_hosts=["svc.example"]))
    assert hosts.get("/healthz").status_code == 200
    assert hosts.get("/healthz", headers={"Host": "svc.example:8000"}).status_code == 200
    one_line_error(hosts.get("/healthz", headers={"Host": "evil.example"}), 421)


def test_static_files_only_from_the_folder(c):
    page = c.get("/", headers={"Authorization": ""})
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    js = c.get("/static/app.js")
    assert js.status_code == 200 and "javascript" in js.headers["content-type"]
    assert c.get("/static/style.css").headers["content-type"].startswith("text/css")
    for bad in ("/static/..%2Fapi.py", "/static/../api.py", "/static/api.py", "/static/.hidden",
                "/static/%2Fetc%2Fpasswd", "/static/nothere.js"):
        r = c.get(bad)
        assert r.status_code in (404, 422), (bad, r.status_code)
        assert "import" not in r.text


def test_errors_never_leak_paths_or_tracebacks(core, monkeypatch):
    def boom(*a, **k):
        raise RuntimeError(f"secret {core.data_dir}/x")

    monkeypatch.setattr(core, "list_graphs", boom)
    c = client(make_app(core))
    r = c.get("/graphs")
    assert one_line_error(r, 500) == "internal error (logged on the server)"
    monkeypatch.setattr(core, "get_graph", lambda gid: (_ for _ in ()).throw(
        E.NotFound(f"no graph at {core.data_dir}/graphs/{gid}")))
    assert str(core.data_dir) not in one_line_error(c.get("/graphs/g5"), 404)


def test_openapi_declares_every_route(c):
    spec = c.get("/openapi.json").json()
    for path, ops in spec["paths"].items():
        for method, op in ops.items():
            assert "200" in op["responses"] or "201" in op["responses"] or "202" in op["responses"] \
                or "204" in op["responses"], (method, path)
            for code, resp in op["responses"].items():
                if code.startswith(("4", "5")):
                    schema = resp["content"]["application/json"]["schema"]["$ref"]
                    assert schema.endswith(("/ErrorBody", "/InvalidBody")), (method, path, code)
    names = spec["components"]["schemas"]
    assert {"GraphRecord", "JobRecord", "ErrorBody", "InvalidBody", "NeighborsAnswer"} <= set(names)
    assert "multipart/form-data" in spec["paths"]["/graphs"]["post"]["requestBody"]["content"]


# ---------------------------------------------------------------------------- the Python client
@pytest.fixture
def py_client(core, monkeypatch):
    from starlette.testclient import TestClient

    import graphembed as ge
    from graphembed.service import client as client_mod

    app = make_app(core)

    tc = TestClient(app, base_url="http://127.0.0.1")
    monkeypatch.setattr(client_mod, "_http_client", lambda base_url, headers, timeout: _wrap(tc, headers))
    return ge.Client("http://127.0.0.1", token=WRITE)


def _wrap(tc, headers):
    tc.headers.clear()
    tc.headers.update(headers)
    return tc


def test_client(py_client, core, tmp_path):
    import graphembed as ge
    from graphembed.service.client import ServiceError

    path = tmp_path / "edges.csv"
    path.write_text("a,b\nb,c\n")
    g = py_client.upload_graph(path, directed=True)
    assert g["id"] == "g1" and g["directed"] is True
    assert [x["id"] for x in py_client.graphs()] == ["g1"]
    job = py_client.submit(g, "embed", method="fastrp", params={"dim": 4}, index=True)
    assert job.id == "j1" and job.wait(timeout=10, progress=False) is job and job.state == "done"
    emb = job.result()
    assert isinstance(emb, ge.Embedding) and emb.vectors.shape == (20, 4)
    nb = py_client.neighbors(job, ids=["n1"], k=2)
    assert len(nb["results"][0]["neighbors"]) == 2
    summary = py_client.submit("g1", "orbits").wait(progress=False).result()
    assert summary == {"triangles": 3}
    with pytest.raises(ServiceError, match="accepted range") as info:
        py_client.submit(g, "embed", params={"dim": 0})
    assert info.value.status == 422 and info.value.param == "dim"
    assert isinstance(info.value, ge.InputError)
    queued = py_client.submit(g, "embed", params={"dim": 99})
    with pytest.raises(TimeoutError):
        queued.wait(timeout=0.3, progress=False)
    assert queued.cancel().state == "cancelled"
    with pytest.raises(ServiceError, match="cancelled"):
        queued.result()
    (core.data_dir / "files").mkdir()
    (core.data_dir / "files" / "e.csv").write_text("a,b\n")
    assert py_client.register_graph("files/e.csv")["id"] == "g2"


def test_client_errors_are_one_line():
    import graphembed as ge
    from graphembed.service.client import ServiceError

    with pytest.raises(ServiceError, match=re.escape("cannot reach http://127.0.0.1:9")):
        ge.Client("http://127.0.0.1:9", token="x", timeout=2).graphs()


def test_cli_serve_check(tmp_path):
    """``graphembed serve --data-dir DATA --check`` builds the app and exits; INDEX mode still works
    (tests/test_service.py); both or neither is one line."""
    import subprocess
    import sys

    run = lambda *a: subprocess.run([sys.executable, "-m", "graphembed.cli.main", "serve", *a],  # noqa: E731
                                    capture_output=True, text=True, cwd=tmp_path, timeout=120)
    pytest.importorskip("graphembed.service.core")
    r = run("--data-dir", "ge-data", "--check")
    assert r.returncode == 0, r.stderr
    assert "ge-data/token" in r.stderr.replace("\\", "/")
    r = run("x.index", "--data-dir", "ge-data")
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1
    r = run()
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1


def test_import_graphembed_stays_light():
    import subprocess
    import sys

    code = ("import sys, graphembed as ge; ge.Client; "
            "print(sorted(m for m in ('fastapi', 'httpx', 'starlette', 'uvicorn') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.stdout.strip() == "[]", out.stderr


# ---------------------------------------------------------------------------- over the real core
@pytest.fixture
def real(tmp_path):
    core_mod = pytest.importorskip("graphembed.service.core")
    core = core_mod.ServiceCore(tmp_path / "data", workers=1, max_upload_bytes=50_000)
    core.start()
    try:
        yield core, client(make_app(core), core.tokens()["write"])
    finally:
        core.close()


def test_real_core_catalog_errors_and_traversal(real, tmp_path):
    from graphembed.datasets import karate_path

    core, c = real
    r = upload(c, karate_path().read_bytes(), filename="karate.csv",
               labels=b"node,label\n" + b"".join(b"%d,%d\n" % (i, i % 2) for i in range(1, 35)))
    assert r.status_code == 201, r.text
    assert r.json()["n_nodes"] == 34 and r.json()["has_labels"] is True
    msg = one_line_error(upload(c, b"1,2\n3\n", filename="mine.csv"), 400)
    assert "mine.csv" in msg and str(core.data_dir) not in msg and "upload-" not in msg
    assert "unknown format" in one_line_error(upload(c, b"1,2\n", format="xml"), 415)
    assert "50000" in one_line_error(upload(c, b"1,2\n" * 20_000), 413)
    outside = tmp_path / "outside.csv"
    outside.write_text("1,2\n")
    (core.data_dir / "files").mkdir()
    (core.data_dir / "files" / "link.csv").symlink_to(outside)
    for path in ("../outside.csv", str(outside), "files/link.csv", "files/../../outside.csv"):
        r = c.post("/graphs/register", json={"path": path})
        assert r.status_code in (400, 403), (path, r.status_code, r.text)
        assert str(tmp_path) not in r.text
    r = c.post("/graphs/register", json={"path": "files/x.csv", "labels": "../outside.csv"})
    assert r.status_code in (400, 403, 404), r.text
    r = c.post("/jobs", json={"graph": "g1", "task": "embed", "method": "fastrp", "params": {"dim": -3}})
    assert "dim" in one_line_error(r, 422) and r.json()["param"] == "dim"
    r = c.post("/jobs", json={"graph": "g1", "task": "embed", "method": "fastrp", "params": {"colour": 1}})
    assert one_line_error(r, 422) and r.json()["param"] == "colour"
    assert list(core.upload_dir.iterdir()) == []
