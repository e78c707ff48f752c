"""Walks, orbits, graph random features and IVF index building on Dask: identical walks, exact
orbit counts, bit-identical GRF features, index recall within 0.01 of the local build, and the
``walks`` / ``orbits`` / ``index build`` / ``grf`` commands with ``--scheduler``.

One LocalCluster of 2 single-thread worker processes serves the module (as in CI)."""
import importlib.util
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("dask")
distributed = pytest.importorskip("distributed")

import graphembed as ge  # noqa: E402
from graphembed.distributed.graph import from_graph  # noqa: E402
from graphembed.io.errors import InputError  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
KARATE = str(ROOT / "datasets" / "karate.csv")


def graph(n=300, m=1500, seed=0, weighted=False, directed=False, extra_nodes=0):
    rng = np.random.default_rng(seed)
    s, d = rng.integers(0, n, m), rng.integers(0, n, m)
    d = np.where(s == d, (d + 1) % n, d)
    w = np.round(rng.random(m) * 5 + 0.1, 3) if weighted else None
    nodes = np.arange(n + extra_nodes) * 7 + 3 if extra_nodes else None
    return ge.Graph.from_edges(s * 7 + 3, d * 7 + 3, w, directed=directed, nodes=nodes)


@pytest.fixture(scope="module")
def client():
    # compile (or load) the kernels here first: the workers then load them from the numba cache
    # instead of compiling them twice more at once on a cold cache
    from graphembed.distributed.grf import _range_rows  # noqa: F401
    from graphembed.distributed.orbits import orbit_counts_distributed  # noqa: F401

    small = graph(n=30, m=80, weighted=True)
    for est in (ge.Node2Vec(p=0.5, q=2, walk_length=4, walks_per_node=1), ge.DeepWalk(walk_length=4, walks_per_node=1)):
        est.walks(small)
        est.walks(graph(n=30, m=80))
    ge.orbit_counts(small)
    _warm_orbit_kernels(small)
    _warm_grf_kernel(small)

    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0",
                                       silence_logs=50)
    with distributed.Client(cluster) as c:
        c.wait_for_workers(2, timeout=60)
        yield c
    cluster.close()


def _warm_orbit_kernels(g):
    from graphembed.distributed import orbits as dorb
    from graphembed.structure.orbits import _Simple

    r = dorb._ranked(_Simple(g))
    n = r["indptr"].shape[0] - 1
    tri = dorb._triangles(r, dorb._range_triangles(r["indptr"], r["indices"], 0, n, 2))
    import numba

    dorb._range_aggregates(r["indptr"], r["indices"], tri, r["degree"], 0, n, 2, numba.get_num_threads())


def _warm_grf_kernel(g):
    est = ge.GraphRandomFeatures(random_state=0, n_walks=2, dim=4).fit(g)
    from graphembed.distributed.grf import _range_rows

    indptr, indices, ratio = est._csr
    _range_rows(indptr, indices, ratio, np.asarray(est.modulation_, np.float64), 2, np.log1p(-0.5),
                est.max_length_, 1, 0, 3)


def invoke(*args):
    """The CLI in this process (a fresh interpreter per run would cost seconds each)."""
    from click.testing import CliRunner

    from graphembed.cli.main import cli

    result = CliRunner().invoke(cli, [str(a) for a in args])
    return subprocess.CompletedProcess(args, result.exit_code, result.stdout, result.stderr)


# ---------------------------------------------------------------------------- walks
WALK_CASES = [
    dict(name="node2vec-weighted", est=lambda: ge.Node2Vec(p=0.5, q=2.0, walk_length=15, walks_per_node=3,
                                                          random_state=1), kw=dict(weighted=True)),
    dict(name="node2vec-directed-small-p", est=lambda: ge.Node2Vec(p=0.25, q=4.0, walk_length=12, walks_per_node=2,
                                                                  random_state=2), kw=dict(directed=True)),
    dict(name="deepwalk-weighted-isolated", est=lambda: ge.DeepWalk(walk_length=10, walks_per_node=3, random_state=3),
         kw=dict(weighted=True, extra_nodes=7)),
    dict(name="deepwalk", est=lambda: ge.DeepWalk(walk_length=8, walks_per_node=1, random_state=4), kw={}),
]


@pytest.mark.parametrize("case", WALK_CASES, ids=[c["name"] for c in WALK_CASES])
def test_walks_are_identical(client, case):
    g = graph(seed=len(case["name"]), **case["kw"])
    local = case["est"]().walks(g)
    assert np.array_equal(case["est"]().walks(g, scheduler=client), local)
    assert np.array_equal(case["est"]().walks(from_graph(g, client, n_blocks=4)), local)  # assembled on a worker


def test_walk_shards_are_the_local_file(client, tmp_path, monkeypatch):
    from graphembed.distributed import walks as dwalks

    monkeypatch.setattr(dwalks, "RANGE_NODES", 70)  # several start-node ranges per round
    g = graph(n=250, m=1200, seed=9, weighted=True)
    est = ge.Node2Vec(p=2.0, q=0.5, walk_length=9, walks_per_node=2, random_state=5)
    est.save_walks(g, tmp_path / "local.txt")
    total, shards = dwalks.save_walks(est, g, client, tmp_path / "shards", True)
    assert total == 500 and shards == 8  # 2 rounds x 4 ranges
    names = sorted(p.name for p in (tmp_path / "shards").iterdir())
    assert names == [f"part-{k:05d}.txt" for k in range(8)]
    joined = b"".join((tmp_path / "shards" / name).read_bytes() for name in names)
    assert joined == (tmp_path / "local.txt").read_bytes()
    dwalks.save_walks(est, g, client, tmp_path / "one.txt", False)
    assert (tmp_path / "one.txt").read_bytes() == joined
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temporaries left


def test_skipgram_on_the_driver_over_the_shards(client):
    pytest.importorskip("gensim")
    g = graph(n=120, m=500, seed=11)
    kw = dict(dim=8, walk_length=8, walks_per_node=2, window=3, p=0.5, q=2.0, random_state=7, n_jobs=1)
    remote = ge.Node2Vec(**kw)
    emb = remote.fit_transform(g, scheduler=client)
    assert remote.corpus_route_ == "file" and remote.shards_ >= 2
    local = ge.Node2Vec(**kw)
    local._corpus_route = "file"  # the same corpus file, one gensim worker: the same vectors
    assert np.array_equal(local.fit_transform(g).vectors, emb.vectors)
    assert np.array_equal(emb.node_ids, g.node_ids)
    dw = ge.DeepWalk(dim=8, walk_length=6, walks_per_node=2, window=2, random_state=8, n_jobs=1)
    dw_local = ge.DeepWalk(dim=8, walk_length=6, walks_per_node=2, window=2, random_state=8, n_jobs=1)
    dw_local._corpus_route = "file"
    assert np.array_equal(dw.fit_transform(g, scheduler=client).vectors, dw_local.fit_transform(g).vectors)


def test_a_graph_too_big_for_a_worker_is_refused(client, monkeypatch):
    from graphembed.distributed import fastrp as dfastrp

    monkeypatch.setattr(dfastrp, "worker_memory", lambda c: 10_000)
    with pytest.raises(InputError, match=r"whole graph .* on each worker: about .* of memory; a worker has"):
        ge.DeepWalk(walks_per_node=1).walks(graph(), scheduler=client)
    with pytest.raises(InputError, match=r"orbit counts need the whole ranked graph"):
        from graphembed.distributed.orbits import orbit_counts_distributed

        orbit_counts_distributed(graph(), client)


# ---------------------------------------------------------------------------- orbits
ORBIT_CASES = [dict(n=300, m=2500, directed=False), dict(n=150, m=1200, directed=True),
               dict(n=40, m=500, directed=False), dict(n=60, m=90, directed=False)]


@pytest.mark.parametrize("case", ORBIT_CASES, ids=[f"{c['n']}-{c['m']}-{c['directed']}" for c in ORBIT_CASES])
def test_orbit_counts_are_exact(client, case):
    from graphembed.distributed.orbits import orbit_counts_distributed

    g = graph(n=case["n"], m=case["m"], seed=case["m"], directed=case["directed"], extra_nodes=3)
    local = ge.orbit_counts(g)
    assert local[:, 4:].sum() > 0 or case["m"] < 100
    for n_ranges in (None, 1, 7):
        counts, symmetrized, n_edges = orbit_counts_distributed(g, client, n_ranges=n_ranges)
        assert counts.dtype == np.int64 and np.array_equal(counts, local), n_ranges
        assert symmetrized == case["directed"]
    counts, _, _ = orbit_counts_distributed(from_graph(g, client, n_blocks=3), client)  # ranked on a worker
    assert np.array_equal(counts, local)


def test_orbits_of_a_graph_without_edges(client):
    from graphembed.distributed.orbits import orbit_counts_on

    g = ge.Graph.from_edges([], [], nodes=np.arange(5))
    assert np.array_equal(orbit_counts_on(g, client), ge.orbit_counts(g))


# ---------------------------------------------------------------------------- graph random features
def same_csr(a, b):
    return (np.array_equal(a.indptr, b.indptr) and np.array_equal(a.indices, b.indices)
            and np.array_equal(a.data, b.data) and a.indices.dtype == b.indices.dtype and a.data.dtype == b.data.dtype)


@pytest.mark.parametrize("kw", [dict(), dict(kernel="inverse", n_walks=16, weighted=True),
                                dict(kernel="exp", beta=0.5, independent=False)], ids=["diffusion", "inverse", "exp"])
def test_grf_is_bit_identical(client, kw, monkeypatch):
    from graphembed.distributed import grf as dgrf

    monkeypatch.setattr(dgrf, "RANGE_NODES", 64)
    kw = dict(kw)
    g = graph(n=260, m=1300, seed=13, weighted=kw.pop("weighted", False), extra_nodes=2)
    local = ge.GraphRandomFeatures(random_state=3, dim=16, **kw).fit(g)
    remote = ge.GraphRandomFeatures(random_state=3, dim=16, **kw).fit(g, scheduler=client)
    assert same_csr(local.features_, remote.features_) and same_csr(local.features2_, remote.features2_)
    assert np.array_equal(local.transform().vectors, remote.transform().vectors)
    assert local.transform().params == remote.transform().params
    part = ge.GraphRandomFeatures(random_state=3, dim=16, **kw).fit_transform(from_graph(g, client, n_blocks=3))
    assert np.array_equal(part.vectors, local.transform().vectors)


# ---------------------------------------------------------------------------- index
def write_embedding_parts(directory, n=4000, dim=16, n_parts=3, seed=0):
    from graphembed.embedding import Embedding
    from graphembed.io.embedding_files import _write_parquet

    rng = np.random.default_rng(seed)
    centers = rng.normal(size=(30, dim))
    x = (centers[rng.integers(0, 30, n)] + 0.35 * rng.normal(size=(n, dim))).astype(np.float32)
    ids = np.array([f"v{i}" for i in range(n)], dtype=object)
    directory.mkdir()
    cuts = np.linspace(0, n, n_parts + 1).astype(int)
    for b in range(n_parts):
        sl = slice(cuts[b], cuts[b + 1])
        _write_parquet(Embedding(ids[sl], x[sl], "fastrp", {"dim": dim}), directory / f"part-{b:05d}.parquet")
    return Embedding(ids, x, "fastrp", {"dim": dim})


@pytest.mark.parametrize("factory,metric", [("IVF40,Flat", "cosine"), ("IVF40,Flat", "l2"), ("IVF20,SQ8", "ip"),
                                            ("IVF20,PQ4x4", "cosine")])
def test_index_recall_matches_the_local_build(client, tmp_path, factory, metric):
    pytest.importorskip("faiss")
    from graphembed.distributed.index import build_index
    from graphembed.index import EmbeddingIndex

    emb = write_embedding_parts(tmp_path / "emb")
    local = EmbeddingIndex.build(emb, index=factory, metric=metric, nprobe=2)
    remote = build_index(tmp_path / "emb", client, index=factory, metric=metric, nprobe=2)
    assert remote.meta["factory"] == local.meta["factory"] and len(remote) == len(local)
    assert remote.meta["checksum"] == local.meta["checksum"]
    r_local, r_remote = local.recall(10, 400), remote.recall(10, 400)
    assert abs(r_local - r_remote) <= 0.01, (r_local, r_remote)
    remote.save(tmp_path / "emb.index")
    loaded = EmbeddingIndex.load(tmp_path / "emb.index")
    assert np.array_equal(loaded.vectors(["v5", "v3999"]), local.vectors(["v5", "v3999"]))
    ids, _ = loaded.neighbors(["v17"], k=5)[0]
    assert "v17" not in ids and len(ids) == 5


def test_index_refuses_what_does_not_merge(client, tmp_path):
    pytest.importorskip("faiss")
    from graphembed.distributed.index import build_index

    write_embedding_parts(tmp_path / "emb", n=300)
    with pytest.raises(InputError, match="IVF indexes"):
        build_index(tmp_path / "emb", client, index="HNSW32")
    assert build_index(tmp_path / "emb", client).meta["factory"].startswith("IVF")  # auto: IVF


# ---------------------------------------------------------------------------- the commands
def test_cli_walks_orbits_index_grf_on_a_running_cluster(client, tmp_path):
    address = client.scheduler.address
    proc = invoke("walks", KARATE, "-o", tmp_path / "local.txt", "--walk-length", "12", "--p", "0.5", "--seed", "3")
    assert proc.returncode == 0, proc.stderr
    proc = invoke("walks", KARATE, "-o", f"{tmp_path}/walks/", "--walk-length", "12", "--p", "0.5", "--seed", "3",
                  "--scheduler", address, "--json")
    assert proc.returncode == 0, proc.stderr
    shards = sorted((tmp_path / "walks").iterdir())
    assert len(shards) >= 2 and b"".join(p.read_bytes() for p in shards) == (tmp_path / "local.txt").read_bytes()
    proc = invoke("walks", KARATE, "-o", f"{tmp_path}/walks2/")  # a directory output needs --scheduler
    assert proc.returncode == 2 and "--scheduler" in proc.stderr
    proc = invoke("orbits", KARATE, "-o", tmp_path / "o.parquet", "--scheduler", address)
    assert proc.returncode == 0, proc.stderr
    proc = invoke("orbits", KARATE, "-o", tmp_path / "o-local.parquet")
    assert proc.returncode == 0, proc.stderr
    import pandas as pd

    assert pd.read_parquet(tmp_path / "o.parquet").equals(pd.read_parquet(tmp_path / "o-local.parquet"))
    proc = invoke("orbits", KARATE, "-o", tmp_path / "e.parquet", "--edges", "--scheduler", address)
    assert proc.returncode == 2 and "--edges" in proc.stderr
    if importlib.util.find_spec("gensim") is not None:
        proc = invoke("node2vec", KARATE, "-o", tmp_path / "n.parquet", "--dim", "8", "--walk-length", "6",
                      "--walks-per-node", "2", "--p", "0.5", "--seed", "4", "--threads", "1", "--scheduler", address)
        assert proc.returncode == 0, proc.stderr
        est = ge.Node2Vec(dim=8, walk_length=6, walks_per_node=2, p=0.5, random_state=4, n_jobs=1)
        est._corpus_route = "file"
        assert np.array_equal(ge.Embedding.load(tmp_path / "n.parquet").vectors,
                              est.fit_transform(ge.read_graph(KARATE)).vectors)
    proc = invoke("grf", KARATE, "-o", tmp_path / "g.parquet", "--dim", "8", "--seed", "2", "--scheduler", address)
    assert proc.returncode == 0, proc.stderr
    local = ge.GraphRandomFeatures(dim=8, random_state=2).fit_transform(ge.read_graph(KARATE))
    assert np.array_equal(ge.Embedding.load(tmp_path / "g.parquet").vectors, local.vectors)


def test_cli_with_a_local_cluster(tmp_path):
    """``--scheduler local:2`` end to end: walk shards, orbits, embedding parts -> index build."""
    pytest.importorskip("faiss")
    proc = invoke("walks", KARATE, "-o", f"{tmp_path}/walks/", "--walk-length", "8", "--seed", "1",
                  "--scheduler", "local:2")
    assert proc.returncode == 0, proc.stderr
    assert "shards" in proc.stderr
    local = ge.Node2Vec(walk_length=8, random_state=1).walks(ge.read_graph(KARATE))
    lines = b"".join(p.read_bytes() for p in sorted((tmp_path / "walks").iterdir())).decode().splitlines()
    ids = ge.read_graph(KARATE).node_ids
    assert lines == [" ".join(str(ids[v]) for v in row if v >= 0) for row in local]
    proc = invoke("orbits", KARATE, "-o", tmp_path / "o.csv", "--scheduler", "local:2", "--json")
    assert proc.returncode == 0, proc.stderr
    import pandas as pd

    table = pd.read_csv(tmp_path / "o.csv")
    assert np.array_equal(table[[f"o{i}" for i in range(15)]].to_numpy(), ge.orbit_counts(ge.read_graph(KARATE)))
    write_embedding_parts(tmp_path / "emb", n=2000, dim=8)  # as fastrp -o emb/ --scheduler writes them
    proc = invoke("index", "build", f"{tmp_path}/emb/", "-o", tmp_path / "emb.index", "--index", "IVF16,Flat",
                  "--scheduler", "local:2", "--json")
    assert proc.returncode == 0, proc.stderr
    proc = invoke("index", "build", f"{tmp_path}/emb/", "-o", tmp_path / "local.index", "--index", "IVF16,Flat")
    assert proc.returncode == 0, proc.stderr
    from graphembed.index import EmbeddingIndex

    remote, here = EmbeddingIndex.load(tmp_path / "emb.index"), EmbeddingIndex.load(tmp_path / "local.index")
    assert abs(remote.recall(10, 300) - here.recall(10, 300)) <= 0.01
    proc = invoke("index", "build", tmp_path / "emb" / "part-00000.parquet", "-o", tmp_path / "x.index",
                  "--scheduler", "local:2")
    assert proc.returncode == 2 and "directory of Parquet parts" in proc.stderr


def test_help_imports_no_dask():
    code = ("import sys\nimport graphembed as ge\nfrom graphembed.cli.main import cli\n"
            "for args in (['walks', '--help'], ['orbits', '--help'], ['index', 'build', '--help'], ['grf', '--help'],\n"
            "             ['node2vec', '--help'], ['deepwalk', '--help']):\n"
            "    try:\n        cli(args)\n    except SystemExit:\n        pass\n"
            "print('LOADED', sorted(m for m in sys.modules if m.split('.')[0] in ('dask', 'distributed')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.stdout.count("--scheduler") >= 6
    assert "LOADED []" in out.stdout, out.stdout[-500:]


def test_a_killed_worker_changes_no_walk(client, monkeypatch):
    import threading
    import time

    from graphembed.distributed import walks as dwalks

    monkeypatch.setattr(dwalks, "RANGE_NODES", 1000)
    g = graph(n=10000, m=60000, seed=21, weighted=True)
    make = lambda: ge.Node2Vec(p=0.5, q=2.0, walk_length=60, walks_per_node=6, random_state=6)  # noqa: E731
    local = make().walks(g)
    result, errors = {}, []

    def job():
        try:
            result["walks"] = make().walks(g, scheduler=client)
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    thread = threading.Thread(target=job)
    thread.start()
    deadline = time.time() + 60
    while time.time() < deadline:  # wait until walk tasks run, then restart the busiest worker
        if any(any("_walk_array" in str(k) for k in keys) for keys in client.processing().values()):
            break
        time.sleep(0.01)
    victim = max(client.has_what(), key=lambda a: len(client.has_what()[a]))
    was_running = thread.is_alive()
    client.restart_workers([victim], timeout=60)
    thread.join(120)
    assert not errors, errors
    assert was_running
    assert np.array_equal(result["walks"], local)
    client.wait_for_workers(2, timeout=60)
