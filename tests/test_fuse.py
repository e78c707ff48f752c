"""Fused embeddings (graphembed.embed.fuse.Concat) and ``graphembed fuse``.

Oracles: the scaling recomputed with numpy here; rows looked up id by id; the score table
unchanged when the vectors of nodes outside the labelled subset are replaced by garbage.
"""
import json
import subprocess
import sys

import numpy as np
import pytest
from click.testing import CliRunner

import graphembed as ge
from graphembed.cli.main import cli
from graphembed.datasets import karate_path
from graphembed.embed.fuse import AlignmentError, Concat
from graphembed.io.errors import InputError

LABELS = karate_path().parent / "karate_labels.csv"


def _blocks(rng, n=40):
    """Two blocks of very different scales; the second has a constant column."""
    a = rng.normal(5.0, 30.0, size=(n, 6))
    b = rng.normal(0.0, 0.01, size=(n, 3))
    b[:, 1] = 7.0
    return a, b


def _numpy_standard(x):
    """Expected block: z-scores (population std), constant columns 0, / sqrt(non-constant)."""
    x = np.asarray(x, dtype=np.float64)
    out = np.zeros_like(x)
    k = 0
    for j in range(x.shape[1]):
        col = x[:, j]
        if col.max() > col.min():
            out[:, j] = (col - col.mean()) / col.std()
            k += 1
    return out / np.sqrt(k) if k else out


def test_standard_scaling_matches_numpy(rng):
    a, b = _blocks(rng)
    ids = np.arange(len(a))
    weights = [1.0, 0.5]
    concat = Concat([ge.Embedding(ids, a), ge.Embedding(ids, b)], weights=weights)
    emb = concat.fit_transform()
    assert emb.vectors.dtype == np.float32 and emb.vectors.shape == (40, 9)
    assert concat.blocks_ == [slice(0, 6), slice(6, 9)] and concat.weights_ == weights
    a32, b32 = a.astype(np.float32), b.astype(np.float32)  # Embedding stores float32
    expected = np.hstack([_numpy_standard(a32) * 1.0, _numpy_standard(b32) * 0.5])
    np.testing.assert_allclose(emb.vectors, expected, rtol=1e-5, atol=1e-6)
    for block, w in zip(concat.blocks_, weights):
        x = emb.vectors[:, block].astype(np.float64)
        np.testing.assert_allclose(x.mean(axis=0), 0.0, atol=1e-6)
        assert x.var(axis=0).sum() == pytest.approx(w**2, rel=1e-5)
    assert np.all(emb.vectors[:, 7] == 0)  # the constant column


def test_scaling_none_keeps_blocks(rng):
    a, b = _blocks(rng)
    ids = np.arange(len(a))
    emb = Concat([ge.Embedding(ids, a), ge.Embedding(ids, b)], weights=[2.0, 1.0],
                 scaling="none").fit_transform()
    np.testing.assert_array_equal(emb.vectors, np.hstack([a.astype(np.float32) * 2, b.astype(np.float32)]))


def test_rows_are_matched_by_id_with_shuffled_rows_and_string_ids(rng):
    n = 25
    names = np.array([f"node-{i}" for i in range(n)], dtype=object)
    a, b = rng.normal(size=(n, 3)), rng.normal(size=(n, 2))
    perm = rng.permutation(n)
    first = ge.Embedding(names, a)
    second = ge.Embedding(names[perm], b[perm])  # same nodes, other row order
    emb = Concat([first, second], scaling="none").fit_transform()
    assert emb.node_ids.tolist() == names.tolist()  # the first input's order
    for i, name in enumerate(names):
        np.testing.assert_array_equal(emb[name], np.concatenate([a[i], b[i]]).astype(np.float32))
    # integer ids beside their decimal strings match, as everywhere else (IdIndex)
    digits = ge.Embedding(np.array([str(i) for i in perm], dtype=object), b[perm])
    emb = Concat([ge.Embedding(np.arange(n), a), digits], scaling="none").fit_transform()
    np.testing.assert_array_equal(emb.vectors[:, 3:], b.astype(np.float32))


def test_weight_zero_zeroes_exactly_that_block(rng):
    a, b = _blocks(rng)
    ids = np.arange(len(a))
    members = [ge.Embedding(ids, a), ge.Embedding(ids, b)]
    both = Concat(members, weights=[1.0, 1.0]).fit_transform()
    only_a = Concat(members, weights=[1.0, 0.0]).fit_transform()
    assert np.all(only_a.vectors[:, 6:] == 0)
    np.testing.assert_array_equal(only_a.vectors[:, :6], both.vectors[:, :6])


def test_estimators_give_what_their_embeddings_give():
    graph = ge.read_graph(karate_path())
    fitted = Concat([ge.FastRP(dim=8, random_state=3), ge.OrbitFeatures()], weights=[1.0, 0.5])
    emb = fitted.fit_transform(graph)
    pre = Concat([ge.FastRP(dim=8, random_state=3).fit_transform(graph),
                  ge.OrbitFeatures().fit_transform(graph)], weights=[1.0, 0.5]).fit_transform()
    assert emb.node_ids.tolist() == pre.node_ids.tolist() == graph.node_ids.tolist()
    np.testing.assert_array_equal(emb.vectors, pre.vectors)
    assert emb.dim == 8 + 15
    assert fitted.names_ == ["fastrp", "orbits"]
    assert emb.input is not None and emb.params["blocks"][1]["columns"] == [8, 23]


def test_alignment_errors_and_inner_join(rng):
    a = ge.Embedding(np.arange(10), rng.normal(size=(10, 2)))
    b = ge.Embedding(np.arange(3, 12), rng.normal(size=(9, 2)))  # lacks 0-2, adds 10-11
    with pytest.raises(AlignmentError) as err:
        Concat([("a.parquet", a), ("b.parquet", b)]).fit()
    assert err.value.block == "a.parquet" and err.value.missing == 2 and err.value.total == 12
    assert sorted(err.value.examples) == [10, 11]
    c = ge.Embedding(np.arange(9, 2, -1), rng.normal(size=(7, 2)))  # lacks 0-2 and nothing more
    with pytest.raises(AlignmentError) as err:
        Concat([("a.parquet", a), ("c.parquet", c)]).fit()
    assert err.value.block == "c.parquet" and "c.parquet: 3 of the 10" in str(err.value)
    twice = ge.Embedding([0, 1, 1], np.zeros((3, 1)))
    with pytest.raises(InputError, match="twice"):
        Concat([("twice", twice), ("a", a)], join="inner").fit()
    inner = Concat([a, b], join="inner", scaling="none")
    emb = inner.fit_transform()
    assert emb.node_ids.tolist() == list(range(3, 10)) and inner.dropped_ == 5
    np.testing.assert_array_equal(emb.vectors[:, 2:], b.vectors[:7])


def test_parameters_are_checked(rng):
    ids = np.arange(5)
    members = [ge.Embedding(ids, rng.normal(size=(5, 2))), ge.Embedding(ids, rng.normal(size=(5, 2)))]
    for bad in (dict(weights=[1.0]), dict(weights=[1.0, -1.0]), dict(weights=[1.0, float("nan")]),
                dict(scaling="minmax"), dict(join="outer")):
        with pytest.raises(InputError):
            Concat(members, **bad).fit()
    with pytest.raises(InputError, match="needs a graph"):
        Concat([ge.FastRP(dim=4)]).fit()
    with pytest.raises(InputError, match="not fitted"):
        Concat(members).select_weights({0: "x", 1: "y"})


def _synthetic(rng, n=90, classes=3):
    """Block 0: one-hot labels plus a little noise; block 1: pure noise."""
    y = np.arange(n) % classes
    rng.shuffle(y)
    signal = np.eye(classes)[y] * 2.0 + rng.normal(0, 0.3, size=(n, classes))
    noise = rng.normal(size=(n, 12))
    ids = np.array([f"v{i}" for i in range(n)], dtype=object)
    return ids, y, ge.Embedding(ids, signal), ge.Embedding(ids, noise)


def test_select_weights_finds_the_informative_block(rng):
    ids, y, signal, noise = _synthetic(rng)
    concat = Concat([signal, noise]).fit()
    labels = {node: f"class{c}" for node, c in zip(ids.tolist(), y.tolist())}
    weights, table = concat.select_weights(labels, grid=[0, 0.5, 1, 2], cv=3, random_state=0)
    assert len(table) == 4**2 - 1  # all zeros skipped
    assert weights[0] > 0 and weights[0] >= weights[1]
    best = max(row["score"] for row in table)
    noise_only = max(row["score"] for row in table if row["weights"][0] == 0)
    assert best > 0.9 and noise_only < 0.6
    assert concat.weights_ == weights and concat.embedding_.params["weights"] == weights
    np.testing.assert_array_equal(concat.embedding_.vectors, concat.with_weights(weights).vectors)


def test_select_weights_uses_only_the_given_nodes(rng):
    ids, y, signal, noise = _synthetic(rng)
    given = rng.choice(len(ids), size=45, replace=False)
    labels = {ids[i]: int(y[i]) for i in given}

    def run(sig, noi):
        concat = Concat([sig, noi], scaling="none").fit()
        return concat, concat.select_weights(labels, grid=[0, 1, 2], cv=3, random_state=5)

    concat, (weights, table) = run(signal, noise)
    assert concat.selection_["nodes"] == 45
    assert sorted(concat.selection_["node_ids"].tolist()) == sorted(ids[given].tolist())
    # garbage in every row outside the labelled subset changes nothing
    other = np.setdiff1d(np.arange(len(ids)), given)
    sig, noi = signal.vectors.copy(), noise.vectors.copy()
    sig[other] = rng.normal(0, 1e3, size=(len(other), sig.shape[1]))
    noi[other] = rng.normal(0, 1e3, size=(len(other), noi.shape[1]))
    _, (weights2, table2) = run(ge.Embedding(ids, sig), ge.Embedding(ids, noi))
    assert weights2 == weights and table2 == table


def test_same_seed_same_result(rng):
    ids, y, signal, noise = _synthetic(rng)
    labels = dict(zip(ids.tolist(), y.tolist()))
    runs = [Concat([signal, noise]).fit().select_weights(labels, grid=[0.25, 1], cv=4, random_state=11)
            for _ in range(2)]
    assert runs[0] == runs[1]
    graph = ge.read_graph(karate_path())
    a, b = (Concat([ge.FastRP(dim=8, random_state=1), ge.OrbitFeatures()]).fit_transform(graph)
            for _ in range(2))
    np.testing.assert_array_equal(a.vectors, b.vectors)


# ---------------------------------------------------------------------------- the command
@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    """a.parquet (FastRP, 16 dims), b.parquet (orbit counts, 15 columns), c.csv (a without 3 nodes)."""
    d = tmp_path_factory.mktemp("fuse")
    graph = ge.read_graph(karate_path())
    a = ge.FastRP(dim=16, random_state=0).fit_transform(graph)
    a.save(d / "a.parquet")
    ge.OrbitFeatures(log=False).fit_transform(graph).save(d / "b.parquet")
    ge.Embedding(a.node_ids[3:], a.vectors[3:]).save(d / "c.csv")
    return d


def _invoke(*args):
    return CliRunner().invoke(cli, ["fuse", *map(str, args)])


def test_cli_writes_the_fused_embedding(inputs):
    out = inputs / "fused.parquet"
    result = _invoke(inputs / "a.parquet", inputs / "b.parquet", "-o", out, "--weights", "1,0.5", "--json")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["weights"] == [1.0, 0.5] and summary["nodes"] == 34 and summary["dim"] == 31
    emb = ge.Embedding.load(out)
    assert emb.vectors.shape == (34, 31) and emb.method == "concat"
    block = emb.vectors[:, 16:].astype(np.float64)
    assert block.var(axis=0).sum() == pytest.approx(0.25, rel=1e-4)


def test_cli_missing_ids_is_one_line_exit_2(inputs):
    result = subprocess.run([sys.executable, "-m", "graphembed.cli.main", "fuse", str(inputs / "a.parquet"),
                             str(inputs / "c.csv"), "-o", str(inputs / "x.parquet")],
                            capture_output=True, text=True)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr
    assert "c.csv" in lines[0] and "3 of the 34" in lines[0] and "--join inner" in lines[0]
    assert not (inputs / "x.parquet").exists()


def test_cli_inner_join_says_how_many_were_dropped(inputs):
    out = inputs / "inner.csv"
    result = _invoke(inputs / "c.csv", inputs / "a.parquet", inputs / "b.parquet", "-o", out, "--join", "inner")
    assert result.exit_code == 0, result.output
    assert "dropped 3 node ids" in result.stderr
    emb = ge.Embedding.load(out)
    assert emb.vectors.shape == (31, 16 + 16 + 15)


def test_cli_bad_weights_count_exits_2(inputs):
    result = _invoke(inputs / "a.parquet", inputs / "b.parquet", "-o", inputs / "y.parquet", "--weights", "1,2,3")
    assert result.exit_code == 2 and "--weights has 3 values for 2 inputs" in result.stderr
    assert not (inputs / "y.parquet").exists()


def test_cli_select_weights_reports_the_choice(inputs):
    out = inputs / "chosen.parquet"
    result = _invoke(inputs / "a.parquet", inputs / "b.parquet", "-o", out, "--select-weights",
                     "--labels", LABELS, "--grid", "0,0.5,1", "--folds", "3", "--seed", "2", "--json")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    selection = summary["selection"]
    assert summary["weights"] == selection["weights"] and len(selection["table"]) == 8
    assert selection["nodes"] == 34 and selection["folds"] == 3 and selection["seed"] == 2
    assert max(row["score"] for row in selection["table"]) == selection["score"]
    assert ge.Embedding.load(out).params["weights"] == summary["weights"]
    again = _invoke(inputs / "a.parquet", inputs / "b.parquet", "-o", out, "--select-weights",
                    "--labels", LABELS, "--grid", "0,0.5,1", "--folds", "3", "--seed", "2", "--json")
    assert json.loads(again.stdout)["selection"]["table"] == selection["table"]
    missing = _invoke(inputs / "a.parquet", inputs / "b.parquet", "-o", out, "--select-weights")
    assert missing.exit_code == 2 and "--labels" in missing.stderr


def test_cli_choices_are_the_library_constants():
    from graphembed.cli import fuse as cli_fuse
    from graphembed.embed import fuse

    assert cli_fuse.SCORINGS == fuse.SCORINGS
    grid = next(p for p in cli_fuse.fuse.params if p.name == "grid").default
    assert [float(g) for g in grid.split(",")] == list(fuse.DEFAULT_GRID)


def test_columns_scaling_stops_after_the_columns(rng):
    a = rng.normal(3.0, 2.0, size=(40, 5))
    b = rng.normal(-1.0, 0.5, size=(40, 3))
    emb = Concat([ge.Embedding(np.arange(40), a), ge.Embedding(np.arange(40), b)], weights=[1.0, 2.0],
                 scaling="columns").fit_transform()
    expect_a = (a - a.mean(axis=0)) / a.std(axis=0)
    expect_b = 2.0 * (b - b.mean(axis=0)) / b.std(axis=0)
    np.testing.assert_allclose(emb.vectors, np.hstack([expect_a, expect_b]), rtol=1e-5, atol=1e-5)
