"""EmbeddingIndex against a brute-force numpy oracle; save/load; filters; the index CLI."""
import json
import os

import numpy as np
import pytest

faiss = pytest.importorskip("faiss")

from click.testing import CliRunner  # noqa: E402

from graphembed.embedding import Embedding  # noqa: E402
from graphembed.index import (  # noqa: E402
    EmbeddingIndex,
    build_and_save,
    choose_factory,
    core,  # noqa: E402
)
from graphembed.io.errors import InputError  # noqa: E402

N, DIM = 2000, 32


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    before = faiss.omp_get_max_threads()
    faiss.omp_set_num_threads(1)  # steady timings on a shared machine; results do not depend on it
    yield
    faiss.omp_set_num_threads(before)


@pytest.fixture(scope="module")
def emb():
    rng = np.random.default_rng(7)
    centres = rng.standard_normal((20, DIM))  # clustered, like real embeddings
    x = centres[rng.integers(0, 20, N)] + 0.6 * rng.standard_normal((N, DIM))
    return Embedding([f"n{i}" for i in range(N)], x.astype(np.float32), method="random",
                     params={"seed": 7})


@pytest.fixture(scope="module")
def int_emb(emb):
    return Embedding(np.arange(100, 100 + N, dtype=np.int64), emb.vectors, method="random")


def oracle(x, q, metric, k, exclude=None, subset=None):
    """Brute-force (positions, scores) of the k best rows of x for each query row of q."""
    x = np.asarray(x, dtype=np.float64)
    q = np.asarray(q, dtype=np.float64)
    if metric == "cosine":
        x = x / np.linalg.norm(x, axis=1, keepdims=True)
        q = q / np.linalg.norm(q, axis=1, keepdims=True)
    if metric == "l2":
        score = np.sqrt(((q[:, None, :] - x[None, :, :]) ** 2).sum(-1))
        key = score.copy()
    else:
        score = q @ x.T
        key = -score
    if subset is not None:
        mask = np.ones(x.shape[0], bool)
        mask[subset] = False
        key[:, mask] = np.inf
    if exclude is not None:
        key[np.arange(len(q)), exclude] = np.inf
    order = np.argsort(key, axis=1, kind="stable")[:, :k]
    return order, np.take_along_axis(score, order, 1)


def recall_vs(oracle_pos, result):
    hits = sum(len(set(o.tolist()) & set(p[p >= 0].tolist())) for o, p in zip(oracle_pos, result.positions))
    return hits / oracle_pos.size


# ---------------------------------------------------------------------------- exact search
@pytest.mark.parametrize("metric", ["cosine", "ip", "l2"])
def test_flat_equals_brute_force(emb, metric):
    idx = EmbeddingIndex.build(emb, "Flat", metric)
    queries = [0, 5, 999, 1999]
    res = idx.neighbors([f"n{i}" for i in queries], k=10)
    pos, scores = oracle(emb.vectors, emb.vectors[queries], metric, 10, exclude=queries)
    np.testing.assert_array_equal(res.positions, pos)
    np.testing.assert_allclose(res.scores, scores, rtol=1e-4, atol=1e-4)
    ids, sc = res[0]
    assert ids.tolist() == [f"n{p}" for p in pos[0]] and "n0" not in ids.tolist()
    # by vector: the node itself comes first
    q = np.random.default_rng(1).standard_normal((3, DIM)).astype(np.float32)
    res = idx.search(q, k=7)
    pos, scores = oracle(emb.vectors, q, metric, 7)
    np.testing.assert_array_equal(res.positions, pos)
    np.testing.assert_allclose(res.scores, scores, rtol=1e-4, atol=1e-4)
    assert idx.search(emb.vectors[42], k=1)[0][0].tolist() == ["n42"]


def test_similarity_matches_numpy(emb):
    for metric in ("cosine", "ip", "l2"):
        idx = EmbeddingIndex.build(emb, "Flat", metric)
        a, b = emb.vectors[3].astype(np.float64), emb.vectors[77].astype(np.float64)
        expected = {"cosine": a @ b / np.linalg.norm(a) / np.linalg.norm(b), "ip": a @ b,
                    "l2": np.linalg.norm(a - b)}[metric]
        got = idx.similarity([("n3", "n77"), ("n77", "n3")])
        np.testing.assert_allclose(got, [expected, expected], rtol=1e-4)


# ---------------------------------------------------------------------------- approximate search
@pytest.mark.parametrize("factory,threshold", [("HNSW32", 0.95), ("IVF32,Flat", 0.8),
                                               ("IVF16,PQ8x4", 0.8)])
def test_approximate_recall_against_oracle(emb, factory, threshold):
    idx = EmbeddingIndex.build(emb, factory, "cosine")
    rows = np.arange(0, N, 10)
    res = idx.neighbors([f"n{i}" for i in rows], k=10)
    pos, _ = oracle(emb.vectors, emb.vectors[rows], "cosine", 10, exclude=rows)
    measured = recall_vs(pos, res)
    assert measured >= threshold, (factory, measured)
    assert not (res.positions == rows[:, None]).any()  # never itself
    assert abs(idx.recall(10, sample=200) - measured) < 0.1  # the helper agrees with the oracle


def test_pq_always_gets_reranking(emb):
    idx = EmbeddingIndex.build(emb, "IVF8,PQ8x4", "l2")
    assert idx.factory == "IVF8,PQ8x4,RFlat" and idx.meta["faiss_class"] == "IndexRefineFlat"
    # exact re-ranking: returned distances are true distances
    res = idx.search(emb.vectors[:5], k=5)
    for q, (p, d) in enumerate(zip(res.positions, res.scores)):
        np.testing.assert_allclose(d, np.linalg.norm(emb.vectors[p] - emb.vectors[q], axis=1), rtol=1e-4)


def test_search_parameters_change_results(emb):
    idx = EmbeddingIndex.build(emb, "IVF64,Flat", "ip", nprobe=1)
    rows = np.arange(0, N, 20)
    pos, _ = oracle(emb.vectors, emb.vectors[rows], "ip", 10, exclude=rows)
    low = recall_vs(pos, idx.neighbors([f"n{i}" for i in rows], k=10))
    full = recall_vs(pos, idx.neighbors([f"n{i}" for i in rows], k=10, nprobe=64))
    assert full == 1.0 and low < full
    assert idx.meta["search_defaults"] == {"nprobe": 1}
    hnsw = EmbeddingIndex.build(emb, "HNSW8", "l2", ef_search=16)
    assert hnsw.recall(10, 200, ef_search=200) >= hnsw.recall(10, 200, ef_search=10)
    with pytest.raises(InputError):
        hnsw.neighbors(["n1"], k=5, ef_search=0)


# ---------------------------------------------------------------------------- filters
@pytest.mark.parametrize("force_selector", [False, True])
@pytest.mark.parametrize("factory", ["Flat", "HNSW32", "IVF16,Flat"])
def test_filter_restricts_to_subset(emb, monkeypatch, force_selector, factory):
    if force_selector:
        monkeypatch.setattr(core, "EXACT_FILTER_MAX", 0)  # faiss IDSelectorBatch path
    idx = EmbeddingIndex.build(emb, factory, "cosine", nprobe=16)
    subset = np.arange(0, N, 3)
    allowed = {f"n{i}" for i in subset}
    res = idx.neighbors(["n1", "n3"], k=10, filter=sorted(allowed))
    pos, _ = oracle(emb.vectors, emb.vectors[[1, 3]], "cosine", 10, exclude=[1, 3], subset=subset)
    for ids, _ in res:
        assert set(ids.tolist()) <= allowed and "n3" not in ids.tolist()
    assert recall_vs(pos, res) >= (1.0 if factory == "Flat" or not force_selector else 0.8)


def test_filter_smaller_than_k(emb):
    idx = EmbeddingIndex.build(emb, "Flat", "cosine")
    res = idx.neighbors(["n0"], k=10, filter=["n0", "n5", "n9"])
    ids, scores = res[0]
    assert sorted(ids.tolist()) == ["n5", "n9"] and len(scores) == 2
    assert (res.positions[0, 2:] == -1).all() and np.isnan(res.scores[0, 2:]).all()


# ---------------------------------------------------------------------------- ids and errors
def test_unknown_ids_are_named(emb, int_emb):
    idx = EmbeddingIndex.build(emb, "Flat", "cosine")
    with pytest.raises(InputError, match="unknown node id 'zz'"):
        idx.neighbors(["n1", "zz"])
    with pytest.raises(InputError, match="2 unknown node ids: 'a', 'b'"):
        idx.similarity([("a", "b")])
    with pytest.raises(InputError, match="unknown node id 'q'"):
        idx.neighbors(["n1"], filter=["q"])
    with pytest.raises(InputError, match="dimension 32"):
        idx.search(np.zeros((2, 5)))
    with pytest.raises(InputError, match="NaN"):
        idx.search(np.full(DIM, np.nan))
    with pytest.raises(InputError, match="k must be"):
        idx.neighbors(["n1"], k=0)
    iidx = EmbeddingIndex.build(int_emb, "Flat", "l2")
    assert iidx.neighbors(["100"], k=3).positions.tolist() == iidx.neighbors([100], k=3).positions.tolist()
    assert iidx.neighbors([np.int64(100)], k=3)[0][0].dtype == np.int64
    with pytest.raises(InputError, match="unknown node id 5"):
        iidx.neighbors([5])


def test_bad_build_arguments(emb):
    with pytest.raises(InputError, match="unknown metric"):
        EmbeddingIndex.build(emb, "Flat", "hamming")
    with pytest.raises(InputError, match="invalid faiss index string"):
        EmbeddingIndex.build(emb, "NoSuchIndex12", "l2")
    with pytest.raises(InputError, match="at least 4096 vectors"):
        EmbeddingIndex.build(emb, "IVF4096,Flat", "l2")
    with pytest.raises(InputError, match="empty"):
        EmbeddingIndex.build(Embedding([], np.zeros((0, 4))), "Flat")


def test_k_larger_than_index():
    small = Embedding(["a", "b", "c"], np.eye(3))
    idx = EmbeddingIndex.build(small, "Flat", "ip")
    res = idx.neighbors(["a"], k=5)
    assert len(res[0][0]) == 2 and res.positions.shape == (1, 5)


def test_auto_choice():
    big = 64 << 30
    assert choose_factory(2000, 32, big) == "Flat"
    assert choose_factory(80_000, 128, big) == "HNSW32"
    assert choose_factory(1_000_000, 128, big) == "HNSW48"
    # 1M x 128: 512 MB of vectors + about 438 MB of HNSW48 graph must fit in half the memory
    assert choose_factory(1_000_000, 128, 2 * (512e6 + 1e6 * (48 * 8 * 1.1 + 16)) + 1) == "HNSW48"
    assert choose_factory(1_000_000, 128, 1_000_000 * 128 * 4 * 1.6) == "IVF4000,Flat"
    assert choose_factory(1_000_000, 128, 200 << 20) == "IVF4000,PQ32x8,RFlat"
    assert 4 <= int(choose_factory(10**7, 64, 1 << 30)[3:].split(",")[0]) / 10**3.5 <= 16


def test_default_ef_search_grows_with_size(emb):
    from graphembed.index.policy import default_ef_search

    assert default_ef_search(100_000) == 64 and default_ef_search(100_001) == 128
    assert EmbeddingIndex.build(emb, "HNSW8", "cosine").meta["search_defaults"]["efSearch"] == 64
    assert EmbeddingIndex.build(emb, "HNSW8", "cosine", ef_search=20).meta["search_defaults"]["efSearch"] == 20


# ---------------------------------------------------------------------------- files
@pytest.mark.parametrize("factory", ["Flat", "HNSW16", "IVF16,Flat", "IVF8,PQ8x4"])
def test_save_load_round_trip(emb, tmp_path, factory):
    idx = EmbeddingIndex.build(emb, factory, "cosine")
    path = tmp_path / "emb.index"
    idx.save(path)
    assert sorted(os.listdir(path)) == ["index.faiss", "index.json", "nodes.parquet"]
    meta = json.loads((path / "index.json").read_text())
    assert meta["metric"] == "cosine" and meta["normalized"] and meta["dim"] == DIM
    assert meta["count"] == N and meta["factory"] == idx.factory
    assert meta["embedding"] == {"method": "random", "params": {"seed": 7}}
    assert meta["checksum"] == core.vectors_checksum(emb.vectors)
    for mmap in (True, False):
        loaded = EmbeddingIndex.load(path, mmap=mmap)
        queries = ["n0", "n10", "n1500"]
        a, b = idx.neighbors(queries, k=10), loaded.neighbors(queries, k=10)
        np.testing.assert_array_equal(a.positions, b.positions)
        np.testing.assert_allclose(a.scores, b.scores, rtol=1e-6)
        np.testing.assert_allclose(loaded.vector("n3"), emb.vectors[3] / np.linalg.norm(emb.vectors[3]),
                                   rtol=1e-5, atol=1e-6)
        assert loaded.node_ids.tolist() == emb.node_ids.tolist()


def test_save_is_atomic(emb, tmp_path, monkeypatch):
    path = tmp_path / "emb.index"
    build_and_save(emb, path, index="Flat", metric="l2")
    before = (path / "index.json").read_text()

    def broken(*args):
        raise RuntimeError("disk full")

    monkeypatch.setattr(faiss, "write_index", broken)
    with pytest.raises(RuntimeError):
        build_and_save(emb, path, index="Flat", metric="ip")
    assert (path / "index.json").read_text() == before  # the old index is intact
    assert sorted(os.listdir(tmp_path)) == ["emb.index"]  # no temporary directory left
    monkeypatch.undo()
    build_and_save(emb, path, index="Flat", metric="ip")  # replaces the old one
    assert EmbeddingIndex.load(path).metric == "ip"


def test_load_errors(tmp_path, emb):
    with pytest.raises(InputError, match="not found"):
        EmbeddingIndex.load(tmp_path / "missing.index")
    (tmp_path / "plain").mkdir()
    with pytest.raises(InputError, match="not an index directory"):
        EmbeddingIndex.load(tmp_path / "plain")
    path = build_and_save(emb, tmp_path / "e.index", index="Flat").path
    os.remove(os.path.join(path, "nodes.parquet"))
    with pytest.raises(InputError, match="nodes.parquet is missing"):
        EmbeddingIndex.load(path)
    (tmp_path / "plain" / "x").write_text("keep me")
    with pytest.raises(InputError, match="not an index"):
        EmbeddingIndex.build(emb, "Flat").save(tmp_path / "plain")
    assert (tmp_path / "plain" / "x").read_text() == "keep me"


# ---------------------------------------------------------------------------- CLI
def test_cli_build_query_info(emb, tmp_path):
    from graphembed.cli.index import index

    emb.save(tmp_path / "emb.parquet")
    runner = CliRunner()
    out = tmp_path / "emb.index"
    r = runner.invoke(index, ["build", str(tmp_path / "emb.parquet"), "-o", str(out), "--index", "auto",
                              "--metric", "cosine", "--json"])
    assert r.exit_code == 0, r.output
    summary = json.loads(r.stdout)
    assert summary["factory"] == "Flat" and summary["nodes"] == N
    lib = EmbeddingIndex.load(out)
    expected = lib.neighbors(["n4"], k=3)[0][0].tolist()

    r = runner.invoke(index, ["query", str(out), "--node", "n4", "--k", "3"])
    assert r.exit_code == 0, r.output
    lines = r.stdout.strip().splitlines()
    assert lines[0].split() == ["query", "rank", "neighbor", "cosine"]
    assert [line.split()[2] for line in lines[1:]] == expected

    r = runner.invoke(index, ["query", str(out), "--node", "n4", "--k", "3", "--json"])
    doc = json.loads(r.stdout)
    assert [n["id"] for n in doc["results"][0]["neighbors"]] == expected

    qfile = tmp_path / "queries.txt"
    qfile.write_text("n4\n# comment\nn9\n\n")
    r = runner.invoke(index, ["query", str(out), "--nodes-file", str(qfile), "--k", "3",
                              "-o", str(tmp_path / "nb.parquet"), "--quiet"])
    assert r.exit_code == 0, r.output
    import pyarrow.parquet as pq

    table = pq.read_table(tmp_path / "nb.parquet").to_pydict()
    assert table["query"] == ["n4"] * 3 + ["n9"] * 3 and table["rank"] == [1, 2, 3] * 2
    assert table["neighbor"][:3] == expected

    r = runner.invoke(index, ["query", str(out), "--vector", ",".join(["1"] * DIM), "--k", "2", "--json"])
    assert r.exit_code == 0 and len(json.loads(r.stdout)["results"][0]["neighbors"]) == 2

    r = runner.invoke(index, ["query", str(out), "--vector", ",".join(["1"] * DIM), "--k", "2",
                              "-o", str(tmp_path / "v.csv"), "--quiet"])
    assert r.exit_code == 0, r.output
    assert (tmp_path / "v.csv").read_text().splitlines()[1].startswith('0,1,"n')

    r = runner.invoke(index, ["info", str(out), "--json", "--recall-sample", "50"])
    info = json.loads(r.stdout)
    assert info["count"] == N and info["metric"] == "cosine" and info["recall@10"] == 1.0
    r = runner.invoke(index, ["info", str(out)])
    assert "checksum" in r.stdout and "Flat" in r.stdout


def test_cli_errors_exit_2(emb, tmp_path):
    from graphembed.cli.index import index

    out = tmp_path / "emb.index"
    build_and_save(emb, out, index="Flat")
    runner = CliRunner()
    r = runner.invoke(index, ["query", str(out), "--node", "nope"])
    assert r.exit_code == 2 and "unknown node id 'nope'" in r.output
    r = runner.invoke(index, ["query", str(out), "--vector", "1,2"])
    assert r.exit_code == 2 and "dimension 32" in r.output
    r = runner.invoke(index, ["query", str(out)])
    assert r.exit_code == 2 and "give query nodes" in r.output
    r = runner.invoke(index, ["info", str(tmp_path / "missing.index")])
    assert r.exit_code == 2 and "not found" in r.output
    r = runner.invoke(index, ["build", str(tmp_path / "none.parquet"), "-o", str(out)])
    assert r.exit_code == 2
    r = runner.invoke(index, ["build", str(tmp_path / "none.parquet"), "-o", str(out), "--metric", "x"])
    assert r.exit_code == 2


def test_recall_counts_a_tied_neighbour_as_found(monkeypatch):
    """Identical vectors tie: returning another member of the tied group is not a miss."""
    groups = np.repeat(np.eye(3, 8, dtype=np.float32), 20, axis=0)  # 3 groups of 20 copies
    tied = Embedding(np.array([f"g{i}" for i in range(60)]), groups, "test", {})
    idx = EmbeddingIndex.build(tied, "Flat", "cosine")
    real_search = idx._search

    def shifted(q, k, *, exact=False, **kw):  # the "approximate" search lists other tied members
        scores, pos = real_search(q, k, exact=exact, **kw)
        if not exact:
            group_start = (pos // 20) * 20
            pos = group_start + (pos - group_start + 7) % 20
        return scores, pos

    monkeypatch.setattr(idx, "_search", shifted)
    assert idx.recall(5, sample=30) == 1.0
    # A neighbour from another group (score 0 instead of 1) is a miss.
    monkeypatch.setattr(idx, "_search", lambda q, k, *, exact=False, **kw: (
        real_search(q, k, exact=exact, **kw) if exact else
        (lambda s, p: (s, (p + 20) % 60))(*real_search(q, k, exact=exact, **kw))))
    assert idx.recall(5, sample=30) == 0.0
