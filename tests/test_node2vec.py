"""node2vec / DeepWalk walks against exact transition probabilities; embeddings; CLI commands.

The oracles (transition probabilities from a dense adjacency, Python string joins) live here,
independent of the kernels under test.
"""
import numpy as np
import pytest
from scipy import stats

import graphembed as ge
from graphembed.embed.node2vec import DeepWalk, Node2Vec
from graphembed.io.errors import InputError


def small_weighted_graph(directed=False):
    """8 nodes, a mix of triangles and longer cycles, weights in [0.5, 3).

    The directed version also has some reverse arcs, so both one-way and two-way arcs occur.
    """
    src = [0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 5, 5, 6, 6, 7, 1]
    dst = [1, 2, 3, 2, 4, 3, 5, 4, 6, 5, 6, 7, 7, 0, 0, 7]
    if directed:
        src, dst = src + [1, 3, 5, 7, 4, 6, 2], dst + [0, 2, 4, 6, 1, 3, 0]
    w = np.random.default_rng(7).uniform(0.5, 3.0, len(src))
    return ge.Graph.from_edges(src, dst, w, directed=directed, nodes=np.arange(8))


def dense(graph):
    return graph.to_scipy().toarray().astype(np.float64)


def exact_step(a, p, q, t, v):
    """node2vec: P(x | previous t, current v) over v's out-neighbours (edge t->x: a[t, x] > 0)."""
    xs = np.flatnonzero(a[v])
    bias = np.where(xs == t, 1.0 / p, np.where(a[t, xs] > 0, 1.0, 1.0 / q))
    pr = a[v, xs] * bias
    return xs, pr / pr.sum()


def chi_square(observed, expected_prob):
    """Summed Pearson statistic and degrees of freedom over contexts.

    Inside a context, cells expecting fewer than 5 counts are pooled into one cell (and that
    with the next smallest cell while it still expects fewer than 5).
    """
    stat, dof = 0.0, 0
    for obs, prob in zip(observed, expected_prob):
        exp = obs.sum() * np.asarray(prob, dtype=np.float64)
        order = np.argsort(exp)
        obs, exp = np.asarray(obs, dtype=np.float64)[order], exp[order]
        k = int(np.searchsorted(np.cumsum(exp), 5.0, side="right")) + 1 if exp[0] < 5 else 0
        if k:
            obs = np.concatenate([[obs[:k].sum()], obs[k:]])
            exp = np.concatenate([[exp[:k].sum()], exp[k:]])
        if len(exp) < 2 or exp.min() < 5:
            continue
        stat += float(((obs - exp) ** 2 / exp).sum())
        dof += len(exp) - 1
    return stat, dof


def transition_counts(walks, n):
    """counts[t, v, x] of second-order steps and first[v, x] of first steps."""
    counts = np.zeros((n, n, n), dtype=np.int64)
    first = np.zeros((n, n), dtype=np.int64)
    valid = walks[:, 1] >= 0
    np.add.at(first, (walks[valid, 0], walks[valid, 1]), 1)
    for j in range(2, walks.shape[1]):
        ok = walks[:, j] >= 0
        np.add.at(counts, (walks[ok, j - 2], walks[ok, j - 1], walks[ok, j]), 1)
    return counts, first


@pytest.mark.parametrize("directed", [False, True])
@pytest.mark.parametrize("p,q,trial_cap", [(0.25, 4.0, 8), (4.0, 0.5, 8), (0.5, 0.25, 8),
                                           (1.0, 1.0, 8), (2.0, 2.0, 8), (100.0, 0.02, 8),
                                           (0.02, 100.0, 8), (0.1, 2.0, 10**6),
                                           (0.25, 4.0, 10**6), (0.25, 4.0, -1)])
def test_second_order_steps_match_exact_probabilities(p, q, trial_cap, directed):
    """trial_cap 10**6: rejection sampling only; -1: exact sampling over the row only.
    p < min(1, q) folds the return edge out of the rejection envelope."""
    g = small_weighted_graph(directed)
    a = dense(g)
    est = Node2Vec(p=p, q=q, walks_per_node=1500, walk_length=12, random_state=1)
    est._trial_cap = trial_cap
    walks = est.walks(g)
    counts, first = transition_counts(walks, g.n_nodes)
    observed, expected = [], []
    for t in range(g.n_nodes):
        for v in np.flatnonzero(a[t]):
            xs, prob = exact_step(a, p, q, t, v)
            observed.append(counts[t, v, xs])
            expected.append(prob)
            assert counts[t, v].sum() == counts[t, v, xs].sum()  # only real edges are taken
    stat, dof = chi_square(observed, expected)
    assert dof >= 10
    assert stats.chi2.sf(stat, dof) > 1e-3, (stat, dof)
    # The first step follows the edge weights alone.
    obs1 = [first[v, np.flatnonzero(a[v])] for v in range(g.n_nodes)]
    exp1 = [a[v, np.flatnonzero(a[v])] / a[v].sum() for v in range(g.n_nodes)]
    stat, dof = chi_square(obs1, exp1)
    assert stats.chi2.sf(stat, dof) > 1e-3, (stat, dof)


@pytest.mark.parametrize("weighted", [False, True])
def test_first_order_matches_weight_distribution(weighted):
    g = small_weighted_graph()
    if not weighted:
        g = ge.Graph(g.indptr, g.indices, None, g.node_ids)
    a = dense(g)
    walks = DeepWalk(walks_per_node=1000, walk_length=10, random_state=3).walks(g)
    pairs = np.zeros_like(a)
    for j in range(1, walks.shape[1]):
        np.add.at(pairs, (walks[:, j - 1], walks[:, j]), 1)
    obs = [pairs[v, np.flatnonzero(a[v])] for v in range(g.n_nodes)]
    exp = [a[v, np.flatnonzero(a[v])] / a[v].sum() for v in range(g.n_nodes)]
    stat, dof = chi_square(obs, exp)
    assert stats.chi2.sf(stat, dof) > 1e-3
    # p = q = 1 through Node2Vec gives the very same walks (same first-order sampler).
    same = Node2Vec(p=1, q=1, walks_per_node=1000, walk_length=10, random_state=3).walks(g)
    np.testing.assert_array_equal(walks, same)


def test_alias_tables_encode_the_weights():
    from graphembed._kernels.alias import alias_tables

    rng = np.random.default_rng(0)
    degrees = [1, 2, 5, 17, 64]
    indptr = np.concatenate([[0], np.cumsum(degrees)]).astype(np.int64)
    weights = rng.uniform(0.0, 5.0, indptr[-1]).astype(np.float32)
    weights[3] = 0.0  # a zero-weight edge is never drawn
    prob, alias = alias_tables(indptr, weights)
    for v, d in enumerate(degrees):
        s = indptr[v]
        implied = np.zeros(d)
        for k in range(d):
            implied[k] += prob[s + k] / d
            implied[alias[s + k]] += (1.0 - prob[s + k]) / d
        np.testing.assert_allclose(implied, weights[s:s + d] / weights[s:s + d].sum(), atol=1e-6)


def test_walk_layout_and_validity():
    g = small_weighted_graph()
    walks = Node2Vec(p=0.5, q=2, walks_per_node=3, walk_length=7, random_state=0).walks(g)
    assert walks.dtype == np.int32 and walks.shape == (24, 7)
    np.testing.assert_array_equal(walks[:, 0], np.arange(24) % 8)
    a = dense(g)
    assert np.all(a[walks[:, :-1], walks[:, 1:]] > 0)


def test_seeds_reproduce_and_differ():
    g = small_weighted_graph()
    make = lambda seed: Node2Vec(p=0.25, q=4, walks_per_node=4, walk_length=20,  # noqa: E731
                                 random_state=seed).walks(g)
    np.testing.assert_array_equal(make(5), make(5))
    assert not np.array_equal(make(5), make(6))


@pytest.mark.parametrize("p,q", [(1.0, 1.0), (0.25, 4.0)])
def test_thread_count_and_chunking_do_not_change_walks(p, q, rng):
    src, dst = rng.integers(0, 300, 3000), rng.integers(0, 300, 3000)
    g = ge.Graph.from_edges(src, dst, rng.uniform(0.1, 2, 3000), nodes=np.arange(300))
    est = Node2Vec(p=p, q=q, walks_per_node=5, walk_length=30, random_state=11)
    one = est.set_params(n_jobs=1).walks(g)
    two = est.set_params(n_jobs=2).walks(g)
    np.testing.assert_array_equal(one, two)
    chunks = np.concatenate([c for _, c in est._iter_walk_chunks(g, 11, chunk=333)])
    np.testing.assert_array_equal(one, chunks)


def test_directed_graph_with_sinks_terminates():
    # 0 -> 1 -> 2 -> 3 (sink), 2 -> 0, 4 isolated; 5 -> 3.
    g = ge.Graph.from_edges([0, 1, 2, 2, 5], [1, 2, 3, 0, 3], directed=True, nodes=np.arange(6))
    walks = Node2Vec(p=0.5, q=2.0, walks_per_node=50, walk_length=25, random_state=0).walks(g)
    a = dense(g)
    for row in walks:
        n_valid = int(np.argmax(row < 0)) if (row < 0).any() else row.size
        assert np.all(row[n_valid:] == -1)
        assert np.all(a[row[:n_valid - 1], row[1:n_valid]] > 0)
        if n_valid < row.size:
            assert a[row[n_valid - 1]].sum() == 0  # stopped at a node without out-edges
    sinks = walks[walks[:, 0] == 3]
    assert np.all(sinks[:, 1:] == -1)
    assert np.all(walks[walks[:, 0] == 4][:, 1:] == -1)


def test_invalid_parameters_raise_input_error():
    g = small_weighted_graph()
    for kwargs in [dict(p=0), dict(q=-1), dict(walk_length=0), dict(walks_per_node=1.5),
                   dict(p=float("nan"))]:
        with pytest.raises(InputError):
            Node2Vec(**kwargs).walks(g)
    with pytest.raises(InputError):
        Node2Vec(dim=0).fit(g)


def test_format_walks_matches_python_join():
    from graphembed._kernels.walks import format_walks, token_table

    walks = np.array([[0, 2, 1], [3, -1, -1], [1, 1, -1]], dtype=np.int32)
    ids = ["a", "bé", "c c", "42"]
    text = bytes(format_walks(walks, token_table(ids))).decode("utf-8")
    expected = "".join(" ".join(ids[v] for v in row if v >= 0) + "\n" for row in walks)
    assert text == expected


def planted_partition(n_blocks=3, size=40, p_in=0.25, p_out=0.005, seed=0):
    rng = np.random.default_rng(seed)
    n = n_blocks * size
    block = np.repeat(np.arange(n_blocks), size)
    iu, ju = np.triu_indices(n, 1)
    prob = np.where(block[iu] == block[ju], p_in, p_out)
    keep = rng.random(iu.size) < prob
    return ge.Graph.from_edges(iu[keep], ju[keep], nodes=np.arange(n)), block


@pytest.mark.parametrize("cls,kwargs", [(Node2Vec, dict(p=0.5, q=2.0)), (DeepWalk, {})])
def test_embedding_separates_planted_blocks(cls, kwargs):
    pytest.importorskip("gensim")
    g, block = planted_partition()
    est = cls(dim=16, walks_per_node=10, walk_length=20, window=5, random_state=0, n_jobs=1, **kwargs)
    emb = est.fit_transform(g)
    assert isinstance(emb, ge.Embedding) and emb.vectors.shape == (g.n_nodes, 16)
    assert emb.method == cls.name and emb.params["random_state"] == 0
    np.testing.assert_array_equal(emb.node_ids, g.node_ids)
    x = emb.vectors - emb.vectors.mean(axis=0)  # skip-gram vectors share a common direction
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    sim = x @ x.T
    np.fill_diagonal(sim, np.nan)
    same = block[:, None] == block[None, :]
    assert np.nanmean(sim[same]) > np.nanmean(sim[~same]) + 0.3
    # nearest neighbour (cosine) lies in the same block for almost every node
    nearest = np.nanargmax(sim, axis=1)
    assert np.mean(block[nearest] == block) > 0.9
    # One gensim worker and a seed: reproducible.
    again = cls(dim=16, walks_per_node=10, walk_length=20, window=5, random_state=0, n_jobs=1,
                **kwargs).fit_transform(g)
    np.testing.assert_array_equal(emb.vectors, again.vectors)


@pytest.mark.parametrize("route", ["file", "iterable"])
def test_corpus_routes_and_min_count(route):
    pytest.importorskip("gensim")
    g, _ = planted_partition(n_blocks=2, size=20, p_in=0.4)
    est = Node2Vec(dim=8, walks_per_node=2, walk_length=10, window=3, random_state=0, n_jobs=1)
    est._corpus_route = route
    emb = est.fit_transform(g)
    assert emb.vectors.shape == (40, 8) and np.all(np.linalg.norm(emb.vectors, axis=1) > 0)
    assert est.walk_seconds_ >= 0 and est.train_seconds_ >= 0 and est.corpus_route_ == route
    again = Node2Vec(dim=8, walks_per_node=2, walk_length=10, window=3, random_state=0, n_jobs=1)
    again._corpus_route = route
    np.testing.assert_array_equal(again.fit_transform(g).vectors, emb.vectors)
    # A node seen fewer than min_count times (isolated 3: twice) gets a zero vector.
    g2 = ge.Graph.from_edges([0, 1, 2], [1, 2, 0], nodes=[0, 1, 2, 3])
    est2 = DeepWalk(dim=4, walks_per_node=2, walk_length=5, min_count=3, random_state=0, n_jobs=1)
    est2._corpus_route = route
    emb2 = est2.fit_transform(g2)
    assert np.all(emb2.vectors[3] == 0) and np.all(np.linalg.norm(emb2.vectors[:3], axis=1) > 0)


@pytest.fixture
def recording_word2vec(monkeypatch):
    """gensim's Word2Vec, recording each model's constructor arguments and the learning rate
    of every job it trains on the iterable route."""
    models = pytest.importorskip("gensim.models")
    made = type("Made", (list,), {})()

    class Recording(models.Word2Vec):
        force_workers = None  # gensim threads whatever numba's thread count

        def __init__(self, *args, **kwargs):
            self.init_kwargs = dict(kwargs)
            if Recording.force_workers:
                kwargs["workers"] = Recording.force_workers
            self.job_alphas = []
            self.file_epochs = []
            made.append(self)
            super().__init__(*args, **kwargs)

        def _do_train_job(self, sentences, alpha, inits):
            self.job_alphas.append(alpha)
            return super()._do_train_job(sentences, alpha, inits)

        def _train_epoch_corpusfile(self, corpus_file, cur_epoch=0, **kwargs):
            self.file_epochs.append((self.alpha, self.min_alpha, self.epochs, cur_epoch, self.workers))
            return super()._train_epoch_corpusfile(corpus_file, cur_epoch=cur_epoch, **kwargs)

    monkeypatch.setattr(models, "Word2Vec", Recording)
    made.cls = Recording
    return made


@pytest.mark.parametrize("cls", [Node2Vec, DeepWalk])
def test_skipgram_defaults_reach_gensim(cls, recording_word2vec):
    # The defaults kept after benchmarks/node2vec_quality.py (see the Node2Vec docstring):
    # gensim's learning rate 0.025 decayed linearly to 1e-4 and down-sampling threshold 1e-3.
    params = cls().get_params()
    assert (params["alpha"], params["min_alpha"], params["sample"]) == (0.025, 1e-4, 1e-3)
    assert (params["negative"], params["epochs"], params["min_count"]) == (5, 1, 0)
    cls(dim=8, walks_per_node=2, walk_length=6, window=3, random_state=0, n_jobs=1).fit(
        small_weighted_graph())
    kw = recording_word2vec[-1].init_kwargs
    assert kw["sg"] == 1 and kw["hs"] == 0 and kw["workers"] == 1
    assert (kw["alpha"], kw["min_alpha"], kw["sample"], kw["negative"]) == (0.025, 1e-4, 1e-3, 5)
    assert (kw["vector_size"], kw["window"], kw["epochs"], kw["min_count"]) == (8, 3, 1, 0)


@pytest.mark.parametrize("route", ["file", "iterable"])
def test_skipgram_parameters_reach_gensim(route, recording_word2vec):
    g, _ = planted_partition(n_blocks=2, size=20, p_in=0.4)
    est = Node2Vec(dim=8, walks_per_node=2, walk_length=10, window=4, p=2.0, q=0.5, epochs=3,
                   negative=7, sample=0.0, alpha=0.03, min_alpha=0.002, random_state=5, n_jobs=1)
    est._corpus_route = route
    est.fit(g)
    kw = recording_word2vec[-1].init_kwargs
    assert (kw["alpha"], kw["min_alpha"], kw["sample"], kw["negative"]) == (0.03, 0.002, 0.0, 7)
    assert (kw["vector_size"], kw["window"], kw["epochs"], kw["seed"]) == (8, 4, 3, 5)


def test_learning_rate_decays_linearly_from_alpha_to_min_alpha(recording_word2vec):
    # Iterable route: gensim trains jobs of up to 10,000 tokens, each at the rate the linear
    # schedule gives for the tokens pushed before it (oracle: the token counts of the walks).
    g, _ = planted_partition(n_blocks=3, size=40, p_in=0.3)
    alpha, min_alpha, epochs = 0.05, 0.01, 2
    est = DeepWalk(dim=8, walks_per_node=10, walk_length=40, window=3, epochs=epochs,
                   alpha=alpha, min_alpha=min_alpha, random_state=0, n_jobs=1)
    est.fit(g)
    alphas = np.array(recording_word2vec[-1].job_alphas)
    total = int((est.walks(g) >= 0).sum())
    per_epoch = -(-total // 10_000)  # every walk is 40 tokens: jobs of 250 walks, 10,000 tokens
    assert total == 120 * 10 * 40 and len(alphas) == epochs * per_epoch
    job, epoch = np.arange(epochs * per_epoch) % per_epoch, np.arange(epochs * per_epoch) // per_epoch
    pushed = job * 10_000 + epoch * total  # tokens trained before each job, all epochs counted
    expected = alpha - (alpha - min_alpha) * pushed / (epochs * total)
    np.testing.assert_allclose(alphas, expected, rtol=1e-9)
    assert alphas[0] == alpha and alphas[-1] >= min_alpha


@pytest.mark.parametrize("workers", [1, 2, 3])
def test_corpus_file_route_runs_the_same_linear_schedule(workers, recording_word2vec):
    # gensim's corpus_file workers each read 1/workers of the file but decay their rate as
    # alpha_start - (alpha_start - alpha_end) * (cur_epoch + words read / total) / epochs
    # (word2vec_corpusfile.pyx::get_next_alpha), stopping after total / workers words. Oracle:
    # that formula at the start and at the end of each worker's share must give the linear
    # schedule from alpha to min_alpha over the epochs, as on the iterable route.
    g, _ = planted_partition(n_blocks=2, size=20, p_in=0.4)
    alpha, min_alpha, epochs = 0.05, 0.002, 3
    recording_word2vec.cls.force_workers = workers
    est = Node2Vec(dim=8, walks_per_node=2, walk_length=10, window=3, epochs=epochs, alpha=alpha,
                   min_alpha=min_alpha, random_state=0, n_jobs=1)
    est._corpus_route = "file"
    est.fit(g)
    model = recording_word2vec[-1]
    calls = model.file_epochs
    assert len(calls) == epochs
    for e, (start, end, n_epochs, cur_epoch, w) in enumerate(calls):
        assert w == workers and (n_epochs, cur_epoch) == (1, 0)  # one epoch per train() call

        def rate(progress):
            return start - (start - end) * (cur_epoch + progress) / n_epochs

        assert rate(0.0) == pytest.approx(alpha - (alpha - min_alpha) * e / epochs, rel=1e-12)
        assert rate(1.0 / w) == pytest.approx(alpha - (alpha - min_alpha) * (e + 1) / epochs, rel=1e-12)
    # the model's own settings are restored
    assert (model.alpha, model.min_alpha, model.epochs) == (alpha, min_alpha, epochs)


def test_missing_gensim_gives_clear_error(monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "gensim", None)
    monkeypatch.setitem(sys.modules, "gensim.models", None)
    with pytest.raises(ImportError, match=r"graphembed\[gensim\]"):
        DeepWalk(walks_per_node=1, walk_length=3).fit(small_weighted_graph())


def test_deepwalk_has_no_p_q_parameters():
    assert "p" not in DeepWalk().get_params() and "q" not in DeepWalk().get_params()
    with pytest.raises(InputError):
        DeepWalk().set_params(p=2)
    assert Node2Vec(p=2).get_params()["p"] == 2


# ---------------------------------------------------------------------------- CLI
@pytest.fixture
def edge_file(tmp_path):
    path = tmp_path / "edges.csv"
    path.write_text("src,dst\n" + "".join(f"n{u},n{v}\n" for u, v in
                                          [(0, 1), (1, 2), (2, 0), (2, 3), (3, 4), (4, 5), (5, 3)]))
    return path


def test_walks_command_writes_original_ids(edge_file, tmp_path):
    from click.testing import CliRunner

    from graphembed.cli.node2vec import walks

    out = tmp_path / "walks.txt"
    args = [str(edge_file), "-o", str(out), "--walks-per-node", "3", "--walk-length", "6",
            "--p", "0.5", "--q", "2", "--seed", "4", "--json"]
    result = CliRunner().invoke(walks, args)
    assert result.exit_code == 0, result.output
    lines = out.read_text().splitlines()
    assert len(lines) == 18 and all(len(line.split()) == 6 for line in lines)
    assert {tok for line in lines for tok in line.split()} <= {f"n{i}" for i in range(6)}
    assert '"walks": 18' in result.output
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # atomic write
    # same seed and a different thread count: the same file
    again = tmp_path / "again.txt"
    result = CliRunner().invoke(walks, args[:2] + [str(again)] + args[3:] + ["--threads", "1"])
    assert result.exit_code == 0 and again.read_text() == out.read_text()


@pytest.mark.parametrize("command,extra,suffix", [
    ("node2vec", ["--p", "0.25", "--q", "0.25"], "parquet"), ("deepwalk", [], "w2v")])
def test_embedding_commands(command, extra, suffix, edge_file, tmp_path):
    pytest.importorskip("gensim")
    from click.testing import CliRunner

    import graphembed.cli.node2vec as mod

    out = tmp_path / f"emb.{suffix}"
    result = CliRunner().invoke(getattr(mod, command), [
        str(edge_file), "-o", str(out), "--dim", "8", "--walks-per-node", "2", "--walk-length", "10",
        "--window", "3", "--seed", "0", "--threads", "1", "--quiet", *extra])
    assert result.exit_code == 0, result.output
    emb = ge.Embedding.load(out)
    assert len(emb) == 6 and emb.dim == 8 and "n3" in emb
