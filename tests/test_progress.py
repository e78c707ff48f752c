"""Progress bars of the long steps: skip-gram epochs, plot, orbit counts, index build.

Each bar is forced on (stderr made to look like a terminal) and recorded: it must reach its
total, print nothing with verbose=False / -q, and leave the results unchanged.
"""
import io

import numpy as np
import pytest
import tqdm
from click.testing import CliRunner

import graphembed as ge
from graphembed.cli.main import cli
from graphembed.datasets import karate_path


class _TTY(io.StringIO):
    def isatty(self):
        return True


class _Recorder(tqdm.tqdm):
    """tqdm that remembers every bar made (and the ``disable`` it was asked for), writing to a
    fake terminal in place of stderr (pytest's capture owns ``sys.stderr`` during the test)."""

    bars = []
    stream = None

    def __init__(self, *args, **kwargs):
        self.requested_disable = kwargs.get("disable", False)
        self.label = kwargs.get("desc") or ""
        if kwargs.get("file") is None:
            kwargs["file"] = _Recorder.stream
        super().__init__(*args, **kwargs)
        self.shown = not self.disable  # close() sets disable
        _Recorder.bars.append(self)


@pytest.fixture
def bars(monkeypatch):
    """(recorded bars, the fake terminal they write to). ``graphembed.base.progress`` imports
    tqdm at call time, so patching the module attribute reaches every bar."""
    _Recorder.bars = []
    _Recorder.stream = _TTY()
    monkeypatch.setattr(tqdm, "tqdm", _Recorder)
    return _Recorder.bars, _Recorder.stream


def _bar(recorded, desc, shown=True):
    """The recorded bars whose description starts with ``desc`` (the shown ones by default)."""
    found = [b for b in recorded if b.label.startswith(desc) and (not shown or b.shown)]
    assert found, [b.label for b in recorded]
    return found


def _done(bar):
    assert bar.shown
    assert bar.total and bar.n == bar.total, (bar.label, bar.n, bar.total)


def _karate():
    return ge.read_graph(karate_path())


# ---------------------------------------------------------------------------- node2vec / DeepWalk
@pytest.mark.parametrize("route", ["iterable", "file"])
def test_skipgram_epochs_bar(bars, route):
    recorded, err = bars
    g = _karate()
    kw = dict(dim=8, walks_per_node=2, walk_length=10, window=3, epochs=3, random_state=3, n_jobs=1)
    quiet = ge.DeepWalk(**kw)
    quiet._corpus_route = route
    quiet.fit(g)
    assert err.getvalue() == "" and not any(b.shown for b in recorded)
    shown = ge.DeepWalk(verbose=True, **kw)
    shown._corpus_route = route
    shown.fit(g)
    (bar,) = _bar(recorded, "deepwalk skip-gram epochs")
    _done(bar)
    assert bar.total == 3 and "skip-gram" in err.getvalue()
    assert shown.corpus_route_ == quiet.corpus_route_ == route
    np.testing.assert_array_equal(shown.embedding_.vectors, quiet.embedding_.vectors)


# ---------------------------------------------------------------------------- orbits
def test_orbit_count_bars(bars):
    from graphembed.structure import orbits as orb

    recorded, err = bars
    g = _karate()
    counts = orb.orbit_counts(g)
    src, dst, e = orb.edge_orbit_counts(g)
    adj = orb.orbit_adjacency(g, ["1,5,5", "2,1,1"], block_rows=10)
    assert err.getvalue() == "" and not any(b.shown for b in recorded)
    np.testing.assert_array_equal(orb.orbit_counts(g, verbose=True), counts)
    _done(_bar(recorded, "orbit counts")[-1])
    assert _bar(recorded, "orbit counts")[-1].total == len(orb.COUNT_STAGES)
    s2, d2, e2 = orb.edge_orbit_counts(g, verbose=True)
    assert np.array_equal(s2, src) and np.array_equal(d2, dst) and np.array_equal(e2, e)
    _done(_bar(recorded, "edge orbit counts")[-1])
    adj2 = orb.orbit_adjacency(g, ["1,5,5", "2,1,1"], block_rows=10, verbose=True)
    rows = _bar(recorded, "orbit adjacency rows")[-1]
    _done(rows)
    assert rows.total == g.n_nodes
    for key in adj:
        assert (adj[key] != adj2[key]).nnz == 0
    assert "orbit" in err.getvalue()


def test_orbit_estimators_bars(bars):
    recorded, err = bars
    a = ge.OrbitFeatures().fit_transform(_karate()).vectors
    assert err.getvalue() == ""
    b = ge.OrbitFeatures(verbose=True).fit_transform(_karate()).vectors
    np.testing.assert_array_equal(a, b)
    _done(_bar(recorded, "orbit counts")[-1])
    kw = dict(adjacency=(1, 5, 5), dim=4, random_state=0, n_jobs=1)
    c = ge.OrbitAdjacencyEmbedding(**kw).fit_transform(_karate()).vectors
    d = ge.OrbitAdjacencyEmbedding(verbose=True, **kw).fit_transform(_karate()).vectors
    np.testing.assert_array_equal(c, d)
    _done(_bar(recorded, "edge orbit counts")[-1])  # a one-hop adjacency: per-edge counts


# ---------------------------------------------------------------------------- plot
@pytest.mark.parametrize("reducer", ["tsne", "pca"])
def test_plot_bar(bars, tmp_path, reducer):
    from graphembed.tasks.plot import PLOT_STAGES, plot_embedding

    recorded, err = bars
    rng = np.random.default_rng(0)
    emb = ge.Embedding(np.arange(40), rng.standard_normal((40, 6)).astype(np.float32), "test", {})
    labels = [i % 3 for i in range(40)]
    a = plot_embedding(emb, tmp_path / "a.png", labels, reducer=reducer, max_points=30)
    assert err.getvalue() == "" and not any(b.shown for b in recorded)
    b = plot_embedding(emb, tmp_path / "b.png", labels, reducer=reducer, max_points=30, verbose=True)
    (bar,) = _bar(recorded, "plot")
    _done(bar)
    assert bar.total == len(PLOT_STAGES) and "plot" in err.getvalue()
    assert {k: v for k, v in a.items() if k != "path"} == {k: v for k, v in b.items() if k != "path"}
    assert (tmp_path / "a.png").read_bytes() == (tmp_path / "b.png").read_bytes()


# ---------------------------------------------------------------------------- index
@pytest.mark.parametrize("factory,steps", [("Flat", 4), ("IVF4,Flat", 1 + 4 + 1), ("HNSW8", 1),
                                           ("IVF4,PQ2x4", 1 + 4)])
def test_index_build_bar(bars, monkeypatch, factory, steps):
    pytest.importorskip("faiss")
    import faiss

    from graphembed.index import core

    recorded, err = bars
    rng = np.random.default_rng(1)
    emb = ge.Embedding(np.arange(200), rng.standard_normal((200, 8)).astype(np.float32), "test", {})
    whole = core.EmbeddingIndex.build(emb, index=factory, threads=1)  # one add call (200 < 2**16)
    assert err.getvalue() == "" and not any(b.shown for b in recorded)
    monkeypatch.setattr(core, "ADD_BATCH", 50)
    batched = core.EmbeddingIndex.build(emb, index=factory, threads=1, verbose=True)
    (bar,) = _bar(recorded, "index build")
    _done(bar)
    assert bar.total == steps
    assert (faiss.serialize_index(whole.index).tobytes()
            == faiss.serialize_index(batched.index).tobytes())


# ---------------------------------------------------------------------------- the CLI's -q
def test_cli_quiet_turns_bars_off(bars, tmp_path):
    pytest.importorskip("faiss")
    recorded, _ = bars
    runner = CliRunner()
    emb = tmp_path / "k.parquet"
    ge.FastRP(dim=8, random_state=0).fit_transform(_karate()).save(emb)
    commands = {
        "deepwalk skip-gram": ["deepwalk", str(karate_path()), "-o", str(tmp_path / "d.parquet"),
                               "--dim", "4", "--walks-per-node", "1", "--walk-length", "5", "--threads", "1"],
        "plot": ["plot", str(emb), "-o", str(tmp_path / "p.png"), "--reducer", "pca"],
        "orbit counts": ["orbits", str(karate_path()), "-o", str(tmp_path / "o.csv")],
        "edge orbit counts": ["orbits", str(karate_path()), "-o", str(tmp_path / "e.csv"), "--edges"],
        "orbit adjacency rows": ["orbit-adjacency", str(karate_path()), "--orbits", "2-hop",
                                 "-o", str(tmp_path / "a.npz")],
        "index build": ["index", "build", str(emb), "-o", str(tmp_path / "k.index"), "--index", "Flat"],
    }
    for desc, args in commands.items():
        for flags, want in (([], None), (["-q"], True)):
            recorded.clear()
            r = runner.invoke(cli, args + flags)
            assert r.exit_code == 0, (args, r.output)
            found = _bar(recorded, desc, shown=False)
            # without -q the bar is asked for (tqdm then shows it only on a terminal)
            assert all(b.requested_disable is want for b in found), (desc, flags)
