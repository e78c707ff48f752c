"""One id policy: the same lookups through every entry point give the same answer."""
import numpy as np
import pytest

import graphembed as ge
from graphembed._ids import IdIndex, UnknownIdError
from graphembed.io.errors import InputError

BIG = 2**64 - 1

# (ids of the graph, query, expected position or an exception type)
CASES = [
    ([1, 2, 3], 2, 1),
    ([1, 2, 3], np.int64(2), 1),
    ([1, 2, 3], "2", 1),                      # decimal text matches an integer id
    ([1, 2, 3], 2.0, 1),                      # a whole float is its integer (Python's 2.0 == 2)
    ([1, 2, 3], 2.5, UnknownIdError),
    ([1, 2, 3], " 2", UnknownIdError),        # blanks are not stripped
    ([1, 2, 3], "0x2", UnknownIdError),
    ([1, 2, 3], 99, UnknownIdError),
    ([1, 2, 3], True, InputError),            # a boolean is never a node id
    ([1, 2, 3], np.bool_(True), InputError),
    ([5, 2**63, BIG], BIG, 2),                # uint64 ids beyond int64
    ([5, 2**63, BIG], str(BIG), 2),
    ([5, 2**63, BIG], np.uint64(2**63), 1),
    ([5, 2**63, BIG], 2**63 + 1, UnknownIdError),   # not rounded onto 2**63
    ([5, 2**63, BIG], float(2**63), InputError),     # a float this large may be a rounded id
    (["a", "7", "b"], 7, 1),                  # an int matches the string of its digits
    (["a", "7", "b"], "7", 1),
    (["a", "7", "b"], "a", 0),
    (["a", "7", "b"], 7.0, UnknownIdError),
    (["a", "7", "b"], "c", UnknownIdError),
]


def _graph(ids):
    ids = list(ids)
    return ge.Graph.from_edges(ids, ids[1:] + ids[:1], nodes=ids)


def _entry_points(ids):
    """name -> function(query) -> position, for every place that matches ids."""
    g = _graph(ids)
    emb = ge.Embedding(g.node_ids, np.eye(len(ids)))

    def in_ids(position_of):
        return lambda q: ids.index(position_of(q))

    points = {
        "IdIndex": lambda q: IdIndex(ids).position(q),
        "Graph.index_of": in_ids(lambda q: _plain(g.node_ids[g.index_of(q)])),
        "Embedding.index_of": in_ids(lambda q: _plain(emb.node_ids[emb.index_of(q)])),
        "Embedding[]": in_ids(lambda q: _plain(emb.node_ids[int(np.argmax(emb[q]))])),
    }
    try:
        import faiss  # noqa: F401

        from graphembed.index import EmbeddingIndex

        idx = EmbeddingIndex.build(emb, index="Flat")
        points["EmbeddingIndex.positions"] = in_ids(lambda q: _plain(idx.node_ids[idx.positions([q])[0]]))
    except ImportError:
        pass
    return points


def _plain(v):
    return v.item() if isinstance(v, np.generic) else v


def _one(q):
    out = np.empty(1, dtype=object)
    out[0] = q
    return out


def _loose_entry_points(ids):
    """Entry points that report any mismatch as an InputError (not only UnknownIdError)."""
    from graphembed.tasks.cluster import graph_labels
    from graphembed.tasks.linkpred import _vectors_for

    g = _graph(ids)
    emb = ge.Embedding(g.node_ids, np.eye(len(ids)))
    est = ge.FastRP(dim=8, random_state=0).fit(g)
    ref = {i: est.transform_new(["new-node"], [v]).vectors for i, v in enumerate(ids)}

    def labelled(q):
        labels, _ = graph_labels(g, _one(q), [1])
        return ids.index(_plain(g.node_ids[int(np.flatnonzero(labels == 1)[0])]))

    def new_node(q):
        vec = est.transform_new(["new-node"], [q]).vectors
        return next(i for i, r in ref.items() if np.array_equal(r, vec))

    return {
        "cluster.graph_labels": labelled,
        "linkpred._vectors_for":
            lambda q: ids.index(_plain(g.node_ids[int(np.argmax(_vectors_for(emb, _one(q))))])),
        "FastRP.transform_new": new_node,
    }


@pytest.mark.parametrize("ids, query, expected", CASES)
def test_every_entry_point_agrees(ids, query, expected):
    for name, position in _entry_points(ids).items():
        if isinstance(expected, type):
            with pytest.raises(expected):
                position(query)
        else:
            assert position(query) == expected, name


@pytest.mark.parametrize("ids, query, expected", CASES)
def test_task_and_transform_entry_points_agree(ids, query, expected):
    for name, position in _loose_entry_points(ids).items():
        if isinstance(expected, type):
            with pytest.raises(InputError):
                position(query)
        else:
            assert position(query) == expected, name


def test_plugin_label_reader_uses_the_same_rule(tmp_path):
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).parents[1] / "plugins" / "graphembed-gnn"))
    try:
        from graphembed_gnn.data import read_labels  # numpy only at import; torch inside functions
    finally:
        sys.path.pop(0)
    g = ge.Graph.from_edges([1, 2, 3], [2, 3, 1])
    (tmp_path / "l.csv").write_text("node,label\n2,a\n3,b\n")
    labels, _ = read_labels(tmp_path / "l.csv", g)
    assert labels.tolist() == [-1, 0, 1]
    (tmp_path / "bad.csv").write_text("2,a\n99,b\n")
    with pytest.raises(InputError, match="99"):
        read_labels(tmp_path / "bad.csv", g)


@pytest.mark.parametrize("ids, query, expected", CASES)
def test_membership_agrees(ids, query, expected):
    g = _graph(ids)
    emb = ge.Embedding(g.node_ids, np.eye(len(ids)))
    found = not isinstance(expected, type)
    assert (query in emb) is found and (query in g.ids) is found


def test_unknown_ids_are_named_and_both_error_kinds():
    index = IdIndex([1, 2, 3])
    with pytest.raises(KeyError):
        index.position(9)
    with pytest.raises(InputError, match=r"2 unknown node ids: 8, 9"):
        index.positions([1, 8, 9])
    assert str(UnknownIdError("unknown node id 9")) == "unknown node id 9"  # no KeyError quotes


def test_positions_skip_count_and_align():
    index = IdIndex(np.array([10, 20, 30]))
    assert index.positions([30, 5, "10"], missing="skip").tolist() == [2, -1, 0]
    pos, n_unknown = index.positions([30, 5, 7], missing="count")
    assert pos.tolist() == [2, -1, -1] and n_unknown == 2
    assert index.align(np.array([20, 40, 10])).tolist() == [1, -1, 0]   # vectorised path
    assert index.align(np.array(["20", "x"], dtype=object)).tolist() == [1, -1]
    assert IdIndex(np.array([], dtype=np.int64)).align(np.array([1])).tolist() == [-1]
    big = IdIndex(np.array([5, 2**63], dtype=np.uint64))
    assert big.align([2**63 + 1, 5]).tolist() == [-1, 0]  # a list numpy would turn into float64


def test_cluster_labels_from_a_list_of_big_ids_stay_exact():
    from graphembed.tasks.cluster import graph_labels

    g = ge.Graph.from_edges(np.array([5, 2**63], dtype=np.uint64), np.array([2**63, 5], dtype=np.uint64))
    labels, missing = graph_labels(g, [2**63 + 1, 5], [7, 8])
    assert labels[1] != 7 and labels[0] == 8 and missing == 1


def test_transform_new_matches_text_ids_and_names_strays():
    g = ge.Graph.from_edges([1, 2, 3, 4, 5], [2, 3, 4, 5, 1])
    est = ge.FastRP(dim=8, random_state=0).fit(g)
    by_int = est.transform_new(["new-node"], [5])
    by_text = est.transform_new(["new-node"], ["5"])  # was: "no edge joins a new node"
    assert np.array_equal(by_int.vectors, by_text.vectors) and np.linalg.norm(by_text.vectors) > 0
    with pytest.raises(InputError, match="99"):
        est.transform_new(["new-node", "new-node"], ["5", "99"], new=["new-node"])
    typed = est.transform_new(["n", "99"], ["5", "n"])
    assert typed.node_ids.tolist() == ["n", "99"]  # new ids in order of first appearance


def test_python_int_lists_beyond_int64_are_exact():
    """numpy makes a list of ints beyond int64 float64; the graph must not."""
    g = ge.Graph.from_edges([5, 2**63], [2**63, BIG])
    assert g.node_ids.dtype == np.uint64 and g.node_ids.tolist() == [5, 2**63, BIG]
    assert IdIndex([5, BIG]).position(BIG) == 1


def test_task_helpers_use_the_same_rule():
    from graphembed.tasks.cluster import graph_labels
    from graphembed.tasks.linkpred import _vectors_for

    g = ge.Graph.from_edges([1, 2, 3], [2, 3, 1])
    labels, missing = graph_labels(g, np.array(["1", "2", "3"], dtype=object), [0, 1, 1])
    assert labels.tolist() == [0, 1, 1] and missing == 0
    emb = ge.Embedding(np.array(["3", "1", "2"], dtype=object), np.array([[3.0], [1.0], [2.0]]))
    assert _vectors_for(emb, g.node_ids).ravel().tolist() == [1.0, 2.0, 3.0]
