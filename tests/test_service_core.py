"""The service core (graphembed.service.core): catalog, job validation, every task against the
library or the CLI run directly, workers dying and cancelled, admission, the SQLite schema."""
import json
import os
import shutil
import signal
import sqlite3
import stat
import time
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

import graphembed as ge
from graphembed.io.shipped import path as shipped

pytest.importorskip("faiss")

KARATE = ge.datasets.karate_path()
LABELS = shipped("karate_labels")


def wait_for(core, jid, states=("done", "failed", "cancelled"), timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = core.get_job(jid)
        if job["state"] in states:
            return job
        time.sleep(0.05)
    raise AssertionError(f"{jid} still {core.get_job(jid)['state']}")


def upload(core, tmp_path, src=KARATE, filename="karate.csv", labels=None, **opts):
    tmp = core.upload_dir / f"up-{time.monotonic_ns()}"
    shutil.copy(src, tmp)
    if labels is not None:
        lab = core.upload_dir / f"lab-{time.monotonic_ns()}"
        shutil.copy(labels, lab)
        opts.update(labels_path=lab, labels_filename=Path(labels).name)
    return core.add_graph(tmp, filename=filename, **opts)


def cli(*args):
    from graphembed.cli.main import cli as main

    result = CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def without_seconds(obj):
    if isinstance(obj, dict):
        return {k: without_seconds(v) for k, v in obj.items() if not str(k).endswith("seconds")}
    if isinstance(obj, list):
        return [without_seconds(v) for v in obj]
    return obj


@pytest.fixture(scope="module")
def core(tmp_path_factory):
    from graphembed.service.core import ServiceCore

    data = tmp_path_factory.mktemp("data")
    c = ServiceCore(data, workers=2).start()
    yield c
    c.close()


@pytest.fixture(scope="module")
def karate(core, tmp_path_factory):
    return upload(core, tmp_path_factory.mktemp("up"), labels=LABELS)


# ---------------------------------------------------------------------------- progress hook
def test_progress_listener_reports_and_cli_bar_unchanged():
    from tqdm import tqdm

    from graphembed.base import progress, progress_listener

    assert type(progress(3, "x", False)) is tqdm  # no listener: the very bar the CLI has always had
    seen = []
    with progress_listener(lambda *a: seen.append(a)):
        with progress(3, "stage", False) as bar:
            bar.update(1)
            bar.update(2)
    assert seen[0] == ("stage", 0, 3) and ("stage", 3, 3) in seen
    assert type(progress(3, "x", False)) is tqdm


# ---------------------------------------------------------------------------- catalog
def test_graph_record_is_info_json(core, karate, tmp_path):
    info = json.loads(cli("info", KARATE, "--json"))
    info["source"] = "karate.csv"
    assert karate["info"] == info
    assert karate["id"] == "g1" and karate["n_nodes"] == 34 and karate["has_labels"]
    assert core.get_graph("g1") == karate and karate in core.list_graphs()
    from graphembed.service.catalog import load_graph

    g = load_graph(core.catalog.graph_path(1))  # the stored binary form reads back to the same CSR
    direct = ge.read_graph(KARATE)
    assert isinstance(g, ge.Graph) and np.array_equal(g.indptr, direct.indptr)
    assert np.array_equal(g.indices, direct.indices) and np.array_equal(g.node_ids, direct.node_ids)
    assert not [p for p in core.upload_dir.iterdir() if p.name.startswith(("up-", "lab-", "graph-"))]  # moved, then removed


def test_upload_errors_name_the_client_file(core, tmp_path):
    from graphembed.service.errors import BadRequest, NotFound, UnsupportedMedia

    bad = tmp_path / "x"
    bad.write_text("1\n2\n")
    with pytest.raises(BadRequest) as err:
        upload(core, tmp_path, bad, filename="../../bad.csv")
    assert err.value.message.startswith("bad.csv: line 1: expected at least 2 columns")
    assert str(core.data_dir) not in err.value.message and str(tmp_path) not in err.value.message
    with pytest.raises(UnsupportedMedia):
        upload(core, tmp_path, KARATE, format="xls")
    with pytest.raises(NotFound):
        core.get_graph("g999")
    with pytest.raises(NotFound):
        core.get_graph("../g1")


def test_register_stays_inside_the_data_dir(core, tmp_path):
    from graphembed.service.errors import Forbidden, NotFound

    files = core.data_dir / "files"
    files.mkdir(exist_ok=True)
    shutil.copy(KARATE, files / "edges.csv")
    outside = tmp_path / "secret.csv"
    shutil.copy(KARATE, outside)
    (files / "out.csv").symlink_to(outside)
    (files / "in.csv").symlink_to(files / "edges.csv")
    for bad in ("../secret.csv", str(outside), "files/out.csv", "files/../../secret.csv", "token", "token.read",
                "graphembed.sqlite", "graphembed.lock", "graphs/g1/graph.npz", "tmp/x"):
        with pytest.raises(Forbidden):
            core.register_graph(bad)
    with pytest.raises(NotFound) as err:
        core.register_graph("files/missing.csv")
    assert str(core.data_dir) not in err.value.message
    g = core.register_graph("files/in.csv", name="linked")
    assert g["name"] == "linked" and g["n_edges"] == 78 and g["info"]["source"] == "files/in.csv"
    core.delete_graph(g["id"])
    with pytest.raises(NotFound):
        core.get_graph(g["id"])


def test_one_service_per_data_dir(core):
    from graphembed.service.core import ServiceCore
    from graphembed.service.errors import ServiceError

    with pytest.raises(ServiceError, match="another graphembed service"):
        ServiceCore(core.data_dir).start()


def test_tokens_private(core, monkeypatch):
    tokens = core.tokens()
    assert len(tokens["write"]) > 30 and tokens["read"] != tokens["write"]
    for path in (core.token_path, core.read_token_path):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    monkeypatch.setenv("GRAPHEMBED_TOKEN", "from-env")
    assert core.tokens() == {"write": "from-env", "read": tokens["read"]}


# ---------------------------------------------------------------------------- validation
@pytest.mark.parametrize("params, name, wording", [
    ({"dim": True}, "dim", "dim must be an integer >= 1, got True"),
    ({"dim": 0}, "dim", "dim must be an integer >= 1, got 0"),
    ({"dim": 8.0}, "dim", None),
    ({"density": 2.0}, "density", None),
    ({"bogus": 1}, "bogus", "fastrp has no parameter 'bogus'"),
    ({"n_jobs": 4}, "n_jobs", "n_jobs is set by the service"),
])
def test_invalid_params_name_the_parameter(core, karate, params, name, wording):
    from graphembed.io.errors import InputError
    from graphembed.params import FASTRP
    from graphembed.service.errors import Invalid

    with pytest.raises(Invalid) as err:
        core.submit({"graph": karate["id"], "task": "embed", "method": "fastrp", "params": params})
    assert err.value.param == name and err.value.status == 422
    if name in FASTRP and name != "n_jobs":
        with pytest.raises(InputError) as lib:
            FASTRP[name].check(name, params[name])
        assert err.value.message == str(lib.value)  # the library's own wording
    if wording:
        assert err.value.message.startswith(wording)


def test_invalid_specs(core, karate):
    from graphembed.service.errors import Invalid

    g = karate["id"]
    for spec, name in [({"graph": g, "task": "nope"}, "task"),
                       ({"graph": g, "task": "embed", "method": "nope"}, "method"),
                       ({"graph": g, "task": "orbits", "method": "fastrp"}, "method"),
                       ({"graph": g, "task": "orbits", "index": True}, "index"),
                       ({"graph": "g999", "task": "orbits"}, None),
                       ({"graph": g, "task": "classify", "params": {"train": 1.5}}, "train"),
                       ({"graph": g, "task": "linkpred-evaluate", "params": {"p": 0.5}}, "p"),
                       ({"graph": g, "task": "embed", "method": "node2vec", "params": {"p": 0}}, "p"),
                       ({"graph": g, "task": "orbits", "extra": 1}, "extra")]:
        with pytest.raises(Exception) as err:
            core.submit(spec)
        assert isinstance(err.value, Invalid) or err.value.status == 404, spec
        if name:
            assert err.value.param == name, spec


def test_admission_refused_with_the_estimate(core, karate):
    from graphembed.service.errors import Refused

    with pytest.raises(Refused) as err:
        core.submit({"graph": karate["id"], "task": "embed", "method": "node2vec",
                     "params": {"walks_per_node": 10**9}})
    assert "bytes" in err.value.message and "memory budget" in err.value.message


# ---------------------------------------------------------------------------- every task = the library
def test_tasks_equal_the_library(core, karate, tmp_path):
    from graphembed.embed.fastrp import FastRP
    from graphembed.service.catalog import load_graph
    from graphembed.tasks.new_links import predict

    g = karate["id"]
    specs = {
        "embed": {"task": "embed", "method": "fastrp", "params": {"dim": 16}, "index": True},
        "orbits": {"task": "orbits"},
        "graphlets": {"task": "graphlets"},
        "homs": {"task": "homs", "params": {"n_steps": 20000, "n_chains": 2, "random_state": 3}},
        "evaluate": {"task": "linkpred-evaluate", "method": "fastrp", "params": {"dim": 16, "seed": 5}},
        "predict": {"task": "linkpred-predict", "method": "fastrp", "params": {"dim": 16, "k": 5}},
        "cluster": {"task": "cluster", "method": "fastrp", "params": {"dim": 16, "n_clusters": 2}},
        "classify": {"task": "classify", "method": "fastrp", "params": {"dim": 16, "splits": 2}},
    }
    jobs = {k: core.submit({"graph": g, **s}) for k, s in specs.items()}
    jobs = {k: wait_for(core, j["id"]) for k, j in jobs.items()}
    for k, j in jobs.items():
        assert j["state"] == "done", (k, j["error"])
        assert j["progress"]["fraction"] == 1.0 and j["timings"]["run_s"] > 0
    graph = load_graph(core.catalog.graph_path(1))
    # embed: the same bytes as FastRP run directly with the job's stored seed
    p = jobs["embed"]["params"]
    assert isinstance(p["random_state"], int)
    assert jobs["embed"]["progress"]["stage"] in ("fastrp", "index build")  # the library's own bars
    direct = FastRP(dim=16, random_state=p["random_state"], n_jobs=1).fit_transform(graph)
    direct.save(tmp_path / "direct.parquet")
    path, media = core.result_file(jobs["embed"]["id"])
    assert path.read_bytes() == (tmp_path / "direct.parquet").read_bytes()
    npz, _ = core.result_file(jobs["embed"]["id"], "npz")
    assert np.array_equal(ge.Embedding.load(npz).vectors, direct.vectors)
    hits = core.index(jobs["embed"]["id"]).neighbors([0], 3)
    assert core.index(jobs["embed"]["id"]) is core.index(jobs["embed"]["id"])
    assert len(hits.ids[0]) == 3
    m = core.embedding_map(jobs["embed"]["id"], "pca")
    assert len(m["ids"]) == 34 and len(m["x"]) == 34 and m == core.embedding_map(jobs["embed"]["id"], "pca")
    emb_file = tmp_path / "emb.parquet"
    ge.Embedding(direct.node_ids, direct.vectors).save(emb_file)
    # orbits: graphembed orbits -o
    cli("orbits", KARATE, "-o", tmp_path / "orbits.parquet")
    ours = pq.read_table(core.result_file(jobs["orbits"]["id"])[0])
    theirs = pq.read_table(tmp_path / "orbits.parquet")
    assert ours.column_names == theirs.column_names
    assert all(ours.column(c).equals(theirs.column(c)) for c in ours.column_names)
    # graphlets: graphembed orbits --graphlets --json
    summary = json.loads(core.result_file(jobs["graphlets"]["id"])[0].read_text())
    assert summary["graphlets"] == json.loads(cli("orbits", KARATE, "--graphlets", "--json"))["graphlets"]
    # homs: graphembed homs --json
    ours = json.loads(core.result_file(jobs["homs"]["id"])[0].read_text())
    theirs = json.loads(cli("homs", KARATE, "--steps", "20000", "--chains", "2", "--seed", "3", "--json", "--threads", "1"))
    assert ours["estimate"] == theirs["estimate"] and ours["seed"] == theirs["seed"] == 3
    # linkpred evaluate: graphembed linkpred evaluate --json
    ours = json.loads(core.result_file(jobs["evaluate"]["id"])[0].read_text())
    theirs = json.loads(cli("linkpred", "evaluate", KARATE, "--method", "fastrp", "--param", "dim=16", "--seed", "5",
                            "--threads", "1", "--json"))
    assert ours["operators"] == theirs["operators"] and ours["heuristics"] == theirs["heuristics"]
    # linkpred predict: the library's predict on the job's embedding
    seed = jobs["predict"]["params"]["seed"]
    res = predict(graph, FastRP(dim=16, random_state=seed, n_jobs=1).fit_transform(graph), top=5, seed=seed, threads=1)
    table = pq.read_table(core.result_file(jobs["predict"]["id"])[0])
    assert table.column("source").to_pylist() == res["source"].tolist()
    assert np.array_equal(table.column("score").to_numpy(), res["score"])
    # cluster and classify: the CLI on the embedding of the same seed
    seed = jobs["cluster"]["params"]["seed"]
    FastRP(dim=16, random_state=seed, n_jobs=1).fit_transform(graph).save(tmp_path / "c.parquet")
    theirs = json.loads(cli("cluster", tmp_path / "c.parquet", "--k", "2", "--seed", seed, "--labels", LABELS,
                            "--graph", KARATE, "--threads", "1", "-o", tmp_path / "c.csv", "--json"))
    ours = json.loads(core.result_file(jobs["cluster"]["id"], "json")[0].read_text())
    for key in ("clusters", "objective", "nmi", "ari", "modularity", "largest_cluster"):
        assert ours[key] == theirs[key], key
    seed = jobs["classify"]["params"]["seed"]
    FastRP(dim=16, random_state=seed, n_jobs=1).fit_transform(graph).save(tmp_path / "k.parquet")
    theirs = json.loads(cli("classify", tmp_path / "k.parquet", "--labels", LABELS, "--splits", "2", "--seed", seed,
                            "--threads", "1", "--json"))
    ours = json.loads(core.result_file(jobs["classify"]["id"])[0].read_text())
    assert without_seconds(ours["results"]) == without_seconds(theirs["results"])
    # results of other kinds are refused by format, and nothing is left in DATA/tmp
    from graphembed.service.errors import BadRequest, Conflict

    with pytest.raises(BadRequest):
        core.result_file(jobs["graphlets"]["id"], "parquet")
    with pytest.raises(Conflict):
        core.index(jobs["orbits"]["id"])
    assert not [p for p in core.upload_dir.iterdir() if p.name.startswith("job-")]


def test_schema_migrates_an_old_database(tmp_path):
    from graphembed.service.store import MIGRATIONS, SCHEMA_VERSION, SchemaError, Store

    path = tmp_path / "graphembed.sqlite"
    conn = sqlite3.connect(path)
    conn.executescript(MIGRATIONS[0])
    conn.execute("CREATE TABLE schema_version (version INTEGER PRIMARY KEY, applied TEXT NOT NULL)")
    conn.execute("INSERT INTO schema_version VALUES (1, 'then')")
    conn.execute("INSERT INTO jobs (graph, task, params, state, created) VALUES (1, 'orbits', '{}', 'done', 'then')")
    conn.commit()
    conn.close()
    store = Store(path)
    assert store.version() == SCHEMA_VERSION >= 2
    row = store.job_row(1)
    assert row["task"] == "orbits" and row["memory_estimate"] == 0
    assert store._conn().execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    store._conn().execute("INSERT INTO schema_version VALUES (?, 'later')", (SCHEMA_VERSION + 1,))
    store.close()
    with pytest.raises(SchemaError, match="newer"):
        Store(path)


# ---------------------------------------------------------------------------- workers dying, cancel
def test_worker_killed_cancel_queued_and_running(tmp_path, monkeypatch):
    from graphembed.service.core import ServiceCore
    from graphembed.service.errors import Conflict

    monkeypatch.setenv("GRAPHEMBED_SERVICE_TEST_DELAY", "30:orbits")  # orbits jobs wait 30 s first
    with ServiceCore(tmp_path / "data", workers=2) as core:
        g = upload(core, tmp_path)["id"]
        a = core.submit({"graph": g, "task": "orbits"})["id"]
        b = core.submit({"graph": g, "task": "orbits"})["id"]
        c = core.submit({"graph": g, "task": "orbits"})["id"]
        d = core.submit({"graph": g, "task": "embed", "method": "fastrp", "params": {"dim": 8}})["id"]
        wait_for(core, a, ("running",))
        wait_for(core, b, ("running",))
        with pytest.raises(Conflict):
            core.delete_graph(g)
        assert core.get_job(c)["state"] == "queued"  # two workers, both busy
        assert core.cancel(c)["state"] == "cancelled"  # queued: at once
        deadline = time.monotonic() + 30
        while core.get_job(a)["progress"]["stage"] != "test delay":  # the worker is in its job
            assert time.monotonic() < deadline
            time.sleep(0.05)
        os.kill(core.supervisor.running[int(a[1:])].process.pid, signal.SIGKILL)
        assert wait_for(core, a)["error"] == "worker died: signal 9"
        assert wait_for(core, d)["state"] == "done"  # the others go on
        t0 = time.monotonic()
        assert core.cancel(b)["state"] == "cancelled"  # running: the worker is terminated
        assert time.monotonic() - t0 < 10
        with pytest.raises(Conflict):
            core.cancel(d)
        assert [j["state"] for j in core.list_jobs(graph=g)] == ["failed", "cancelled", "cancelled", "done"]
        assert [j["id"] for j in core.list_jobs(state="cancelled")] == [b, c]
        assert not list(core.upload_dir.iterdir())


def test_admission_waits_for_the_free_budget(tmp_path, monkeypatch):
    from graphembed.service.core import ServiceCore
    from graphembed.service.jobs import estimate_memory

    monkeypatch.setenv("GRAPHEMBED_SERVICE_TEST_DELAY", "30:orbits")
    one = estimate_memory("orbits", None, {}, 34, 78)
    with ServiceCore(tmp_path / "data", workers=2, memory_budget_bytes=int(1.5 * one)) as core:
        g = upload(core, tmp_path)["id"]
        a = core.submit({"graph": g, "task": "orbits"})
        b = core.submit({"graph": g, "task": "orbits"})
        assert a["memory_estimate_bytes"] == one
        wait_for(core, a["id"], ("running",))
        time.sleep(0.5)
        assert core.get_job(b["id"])["state"] == "queued"  # a free worker, but not the memory
        core.cancel(a["id"])
        wait_for(core, b["id"], ("running",))
        core.cancel(b["id"])


def test_a_library_error_fails_the_job_with_its_line(core, karate):
    from graphembed.io.errors import InputError
    from graphembed.service.catalog import load_graph
    from graphembed.structure.hom_sampling import HomomorphismSampler

    job = wait_for(core, core.submit({"graph": karate["id"], "task": "homs",
                                      "params": {"motif": "bogus:3", "random_state": 1}})["id"])
    with pytest.raises(InputError) as lib:
        HomomorphismSampler(motif="bogus:3", random_state=1, n_jobs=1).fit(load_graph(core.catalog.graph_path(1)))
    assert job["state"] == "failed" and job["error"] == str(lib.value)
    from graphembed.service.errors import BadRequest, Conflict

    with pytest.raises(Conflict):
        core.result_file(job["id"])
    with pytest.raises(BadRequest):
        core.list_jobs(state="sleeping")
