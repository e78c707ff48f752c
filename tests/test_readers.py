"""Graph file readers: every format, delimiter, comment style; bad input -> InputError with file and line."""
import gzip
import subprocess
import sys

import networkx as nx
import numpy as np
import pytest
import scipy.sparse as sp
from click.testing import CliRunner

from graphembed import read_graph
from graphembed.cli.main import cli
from graphembed.graph import Graph
from graphembed.io.errors import InputError

EDGES = [("ann", "bob", 1.5), ("bob", "cat", 2.0), ("cat", "ann", 0.5), ("cat", "dan", 4.0),
         ("ann", "bob", 9.0)]


def write(path, text):
    path.write_text(text)
    return path


def edge_set(g):
    """Set of (id, id, weight-or-None) over stored entries, in original ids."""
    rows = g.node_ids[np.repeat(np.arange(g.n_nodes), g.out_degree())].tolist()
    cols = g.node_ids[g.indices].tolist()
    ws = g.weights.tolist() if g.weights is not None else [None] * len(cols)
    return set(zip(rows, cols, ws))


def expected(edges, weighted=True):
    """Undirected, duplicates 'first', as (u, v, w) in both directions."""
    out, seen = set(), set()
    for u, v, w in edges:
        key = frozenset((u, v))
        if u == v or key in seen:
            continue
        seen.add(key)
        out |= {(u, v, w if weighted else None), (v, u, w if weighted else None)}
    return out


def text(edges, sep=",", header=None):
    lines = [sep.join(header)] if header else []
    lines += [sep.join(map(str, e)) for e in edges]
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------------- delimited text

@pytest.mark.parametrize("name, sep", [("e.csv", ","), ("e.tsv", "\t"), ("e.txt", " "), ("e.edges", "\t")])
def test_delimiters(tmp_path, name, sep):
    p = write(tmp_path / name, text(EDGES, sep))
    g = read_graph(p, weighted=True)
    assert edge_set(g) == expected(EDGES)
    assert g.node_ids.tolist() == ["ann", "bob", "cat", "dan"]
    assert g.stats["duplicates_merged"] == 1 and g.stats["source"] == str(p)
    unweighted = read_graph(p)
    assert unweighted.weights is None and edge_set(unweighted) == expected(EDGES, weighted=False)


def test_header_detected_and_columns_by_name(tmp_path):
    p = write(tmp_path / "h.csv", text([(w, u, v) for u, v, w in EDGES], header=("weight", "from", "to")))
    g = read_graph(p, source_col="from", target_col="to", weight_col="weight")
    assert edge_set(g) == expected(EDGES)
    # header detected without names: first row 'weight,from,to' is not data
    g2 = read_graph(p, source_col=1, target_col=2, weight_col=0)
    assert edge_set(g2) == expected(EDGES)
    g3 = read_graph(p, source_col="1", target_col="2", weight_col="0")  # CLI passes strings
    assert edge_set(g3) == expected(EDGES)


def test_numeric_header_row_detected(tmp_path):
    p = write(tmp_path / "h.csv", "node_a,node_b\n1,2\n2,3\n")
    g = read_graph(p)
    assert g.node_ids.tolist() == [1, 2, 3] and g.n_edges == 2


def test_header_forced_off_and_on(tmp_path):
    p = write(tmp_path / "s.csv", "x,y\ny,z\n")
    assert read_graph(p, header=False).node_ids.tolist() == ["x", "y", "z"]
    assert read_graph(p, header=True).node_ids.tolist() == ["y", "z"]


def test_without_header_integer_ids_sorted(tmp_path):
    p = write(tmp_path / "i.csv", "30,10\n10,20\n20,30\n5,30\n")
    g = read_graph(p)
    assert g.node_ids.dtype == np.int64 and g.node_ids.tolist() == [5, 10, 20, 30]
    ref = nx.read_edgelist(p, delimiter=",", nodetype=int)
    want = nx.to_scipy_sparse_array(ref, nodelist=[5, 10, 20, 30], format="csr")
    assert (g.to_scipy() != want).nnz == 0


@pytest.mark.parametrize("prefix", ["#", "%"])
def test_comments_top_and_mid_file(tmp_path, prefix):
    body = (f"{prefix} a comment\n{prefix}another\n\n1 2\n{prefix} mid comment 1\n"
            f"2 3\n   {prefix} indented\n\n3 4\n{prefix} x y\n")
    g = read_graph(write(tmp_path / "c.txt", body))
    assert g.node_ids.tolist() == [1, 2, 3, 4] and g.n_edges == 3
    strings = (f"{prefix} top\nuu vv\n{prefix} vv ww\nvv ww\n{prefix}ww,xx\n")
    g = read_graph(write(tmp_path / "s.txt", strings))
    assert g.node_ids.tolist() == ["uu", "vv", "ww"] and g.n_edges == 2


def test_csv_comment_with_right_column_count(tmp_path):
    p = write(tmp_path / "c.csv", "a1,b1,1\n# x,y,z\nb1,c1,2\n% p,q,3\n")
    g = read_graph(p, weighted=True)
    assert edge_set(g) == expected([("a1", "b1", 1.0), ("b1", "c1", 2.0)])


def test_runs_of_blanks_and_trailing_spaces(tmp_path):
    p = write(tmp_path / "ws.txt", "1 2 \n2   3\n\t3 4 0\n".replace(" 0", ""))
    g = read_graph(p)
    assert g.node_ids.tolist() == [1, 2, 3, 4] and g.n_edges == 3


def test_spaces_around_string_ids_trimmed(tmp_path):
    g = read_graph(write(tmp_path / "s.csv", "x, y\n y ,z\n"), header=False)
    assert g.node_ids.tolist() == ["x", "y", "z"]


def test_gzip(tmp_path):
    p = tmp_path / "e.csv.gz"
    with gzip.open(p, "wt") as f:
        f.write("# gz\n" + text(EDGES))
    g = read_graph(p, weighted=True)
    assert edge_set(g) == expected(EDGES)
    t = tmp_path / "e.tsv.gz"
    with gzip.open(t, "wt") as f:
        f.write(text(EDGES, "\t"))
    assert edge_set(read_graph(t, weighted=True)) == expected(EDGES)


def test_duplicate_rules_and_directed_from_file(tmp_path):
    p = write(tmp_path / "d.csv", "1,2,1\n2,1,5\n1,2,3\n")
    assert read_graph(p, weighted=True).to_scipy()[0, 1] == 1.0
    assert read_graph(p, weighted=True, duplicates="sum").to_scipy()[1, 0] == 9.0
    assert read_graph(p, weighted=True, duplicates="max").to_scipy()[0, 1] == 5.0
    d = read_graph(p, weighted=True, directed=True, duplicates="sum")
    assert d.directed and d.to_scipy()[0, 1] == 4.0 and d.to_scipy()[1, 0] == 5.0


def test_self_loops_from_file(tmp_path):
    p = write(tmp_path / "l.csv", "1,1\n1,2\n2,2\n")
    g = read_graph(p)
    assert g.stats["self_loops_dropped"] == 2 and g.n_self_loops == 0
    k = read_graph(p, self_loops=True)
    assert k.n_self_loops == 2 and k.stats["self_loops_dropped"] == 0


def test_node_file_adds_isolated_nodes(tmp_path):
    p = write(tmp_path / "e.csv", "1,2\n2,3\n")
    nodes = write(tmp_path / "nodes.txt", "# ids\n9\n1\n\n0\n")
    g = read_graph(p, nodes=nodes)
    assert g.node_ids.tolist() == [0, 1, 2, 3, 9]
    assert g.out_degree().tolist() == [0, 1, 2, 1, 0]
    s = write(tmp_path / "s.csv", "bb,cc\n")
    g = read_graph(s, nodes=write(tmp_path / "sn.txt", "zz\nbb\n"))
    assert g.node_ids.tolist() == ["zz", "bb", "cc"]
    assert read_graph(s, nodes=["q"]).node_ids.tolist() == ["q", "bb", "cc"]


def test_weight_column_positions(tmp_path):
    p = write(tmp_path / "w.csv", "1,x,2,0.25\n2,y,3,0.5\n")
    g = read_graph(p, source_col=0, target_col=2, weight_col=3)
    assert edge_set(g) == expected([(1, 2, 0.25), (2, 3, 0.5)])


# ---------------------------------------------------------------------------- other formats

def test_parquet(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    p = tmp_path / "e.parquet"
    pq.write_table(pa.table({"src": [u for u, _, _ in EDGES], "dst": [v for _, v, _ in EDGES],
                             "w": [w for _, _, w in EDGES]}), p)
    g = read_graph(p, weight_col="w")
    assert edge_set(g) == expected(EDGES)
    assert read_graph(p, source_col="src", target_col="dst").weights is None
    assert edge_set(read_graph(p, weighted=True)) == expected(EDGES)
    ints = tmp_path / "i.pq"
    pq.write_table(pa.table({"a": pa.array([3, 1], pa.int32()), "b": [1, 2]}), ints)
    assert read_graph(ints).node_ids.tolist() == [1, 2, 3]


def test_mat(tmp_path):
    import scipy.io

    a = sp.csr_matrix(np.array([[0, 1, 1, 0], [1, 0, 0, 0], [1, 0, 0, 2], [0, 0, 2, 1]], dtype=float))
    labels = sp.csr_matrix(np.eye(4, 3))
    p = tmp_path / "blog.mat"
    scipy.io.savemat(p, {"network": a, "group": labels})
    g = read_graph(p)
    assert not g.directed and g.is_weighted and g.stats["self_loops_dropped"] == 1
    a.setdiag(0)
    a.eliminate_zeros()
    assert (g.to_scipy() != a).nnz == 0
    from graphembed.io.matfile import read_mat

    m, lab = read_mat(p)
    assert (lab != labels).nnz == 0 and m.shape == (4, 4)


def test_gml(tmp_path):
    ref = nx.Graph()
    ref.add_edge("x", "y", weight=2.0)
    ref.add_edge("y", "z", weight=3.0)
    ref.add_node("iso")
    p = tmp_path / "g.gml"
    nx.write_gml(ref, p)
    g = read_graph(p)
    assert g.node_ids.tolist() == ["x", "y", "z", "iso"] and g.is_weighted
    assert edge_set(g) == expected([("x", "y", 2.0), ("y", "z", 3.0)])
    d = nx.DiGraph([(1, 2), (2, 3)])
    pd_ = tmp_path / "d.gml"
    nx.write_gml(d, pd_)
    gd = read_graph(pd_)
    assert gd.directed and gd.n_edges == 2


def test_npz(tmp_path):
    a = sp.random(20, 20, density=0.2, random_state=1, format="csr")
    a = (a + a.T).tocsr()
    a.setdiag(0)
    a.eliminate_zeros()
    p = tmp_path / "a.npz"
    sp.save_npz(p, a)
    g = read_graph(p)
    assert not g.directed and g.is_weighted
    np.testing.assert_allclose(g.to_scipy().toarray(), a.toarray().astype(np.float32))
    d = sp.csr_matrix(np.triu(np.ones((4, 4)), 1))
    sp.save_npz(tmp_path / "d.npz", d)
    gd = read_graph(tmp_path / "d.npz")
    assert gd.directed and not gd.is_weighted and gd.n_edges == 6


def test_larger_file_matches_scipy(tmp_path, rng):
    n, m = 500, 20000
    src, dst = rng.integers(0, n, m) * 3, rng.integers(0, n, m) * 3
    w = rng.integers(1, 100, m) / 8
    p = tmp_path / "big.csv"
    np.savetxt(p, np.column_stack([src, dst, w]), fmt=["%d", "%d", "%.3f"], delimiter=",",
               header="source,target,weight", comments="")
    g = read_graph(p, weighted=True, directed=True, duplicates="sum")
    ids = np.unique(np.concatenate([src, dst]))
    want = sp.coo_matrix((w, (np.searchsorted(ids, src), np.searchsorted(ids, dst))),
                         shape=(ids.size, ids.size)).tocsr()
    want.setdiag(0)
    want.eliminate_zeros()
    assert np.array_equal(g.node_ids, ids)
    np.testing.assert_allclose(g.to_scipy().toarray(), want.toarray(), rtol=1e-6)


# ---------------------------------------------------------------------------- bad input

def bad_files(tmp_path):
    """name -> (path, read_graph kwargs, CLI args, pieces the message must hold)."""
    import scipy.io

    mat = tmp_path / "net.mat"
    scipy.io.savemat(mat, {"network": sp.csr_matrix(np.array([[0, 1.0], [1.0, 0]]))})
    cases = {
        "missing": (tmp_path / "nope.csv", {}, [], ["nope.csv", "not found"]),
        "empty": (write(tmp_path / "empty.csv", ""), {}, [], ["empty.csv", "empty"]),
        "comment_only": (write(tmp_path / "c.csv", "# just\n% comments\n\n"), {}, [],
                         ["c.csv", "no edges"]),
        "one_column": (write(tmp_path / "one.csv", "1,2\n2,3\n# fine\n4\n5,6\n"), {}, [],
                       ["one.csv", "line 4", "expected 2 columns, found 1", "'4'"]),
        "one_column_first": (write(tmp_path / "first.csv", "# c\n7\n8\n"), {}, [],
                             ["first.csv", "line 2", "found 1"]),
        "non_numeric_weight": (write(tmp_path / "w.csv", "1,2,0.5\n2,3,1\n3,4,heavy\n"),
                               {"weighted": True}, ["--weighted"],
                               ["w.csv", "line 3", "'heavy'", "not a number"]),
        "nan_weight": (write(tmp_path / "nan.csv", "# w\n1,2,0.5\n2,3,nan\n"), {"weighted": True},
                       ["--weighted"], ["nan.csv", "line 3", "not finite"]),
        "negative_weight": (write(tmp_path / "neg.csv", "a,b,c\n1,2,0.5\n2,3,-2\n"),
                            {"weight_col": "c"}, ["--weight-col", "c"],
                            ["neg.csv", "line 3", "negative"]),
        "missing_weight": (write(tmp_path / "mw.csv", "1,2,0.5\n2,3,\n"), {"weighted": True},
                           ["--weighted"], ["mw.csv", "line 2", "missing"]),
        "missing_id": (write(tmp_path / "mid.csv", "1,2\n\n2,\n"), {}, [],
                       ["mid.csv", "line 3", "target id is missing"]),
        "unknown_column": (write(tmp_path / "h.csv", "src,dst\n1,2\n"), {"source_col": "from"},
                           ["--source-col", "from"], ["h.csv", "'from' not found", "src, dst"]),
        "column_out_of_range": (write(tmp_path / "r.csv", "1,2\n"), {"weight_col": 4},
                                ["--weight-col", "4"], ["r.csv", "position 4", "2 columns"]),
        "directed_mat": (mat, {"directed": True}, ["--directed"], ["net.mat", "undirected"]),
        "not_gzip": (write(tmp_path / "bad.csv.gz", "1,2\n"), {}, [], ["bad.csv.gz", "cannot read"]),
        "bad_parquet": (write(tmp_path / "bad.parquet", "1,2\n"), {}, [], ["bad.parquet", "Parquet"]),
        "bad_mat": (write(tmp_path / "bad.mat", "1,2\n"), {}, [], ["bad.mat", "Matlab"]),
        "bad_npz": (write(tmp_path / "bad.npz", "1,2\n"), {}, [], ["bad.npz", ".npz"]),
        "bad_gml": (write(tmp_path / "bad.gml", "graph [ node [ id 1 \n"), {}, [], ["bad.gml", "GML"]),
        "weighted_two_columns": (write(tmp_path / "two.csv", "1,2\n"), {"weighted": True},
                                 ["--weighted"], ["two.csv", "no third"]),
    }
    return cases


CASES = sorted([
    "missing", "empty", "comment_only", "one_column", "one_column_first", "non_numeric_weight",
    "nan_weight", "negative_weight", "missing_weight", "missing_id", "unknown_column",
    "column_out_of_range", "directed_mat", "not_gzip", "bad_parquet", "bad_mat", "bad_npz",
    "bad_gml", "weighted_two_columns"])


@pytest.mark.parametrize("case", CASES)
def test_bad_input_raises_input_error(tmp_path, case):
    path, kwargs, _, pieces = bad_files(tmp_path)[case]
    with pytest.raises(InputError) as info:
        read_graph(path, **kwargs)
    message = str(info.value)
    assert message.startswith(str(path)), message
    for piece in pieces:
        assert piece in message, (piece, message)


@pytest.mark.parametrize("case", CASES)
def test_cli_bad_input_is_one_line_exit_2(tmp_path, case):
    path, _, args, pieces = bad_files(tmp_path)[case]
    result = CliRunner().invoke(cli, ["info", str(path), *args])
    assert result.exit_code == 2, (result.output, result.exception)
    err = result.stderr if hasattr(result, "stderr") else result.output
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("graphembed: error: "), err
    assert "Traceback" not in result.output
    for piece in pieces:
        assert piece in lines[0], (piece, lines[0])


@pytest.mark.parametrize("case", ["one_column", "non_numeric_weight", "missing"])
def test_cli_subprocess_bad_input(tmp_path, case):
    path, _, args, pieces = bad_files(tmp_path)[case]
    proc = subprocess.run([sys.executable, "-m", "graphembed.cli.main", "info", str(path), *args],
                          capture_output=True, text=True)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr and proc.stdout == ""
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("graphembed: error: "), proc.stderr
    assert all(piece in lines[0] for piece in pieces), lines[0]


def test_unknown_format_and_directory(tmp_path):
    with pytest.raises(InputError, match="unknown format"):
        read_graph(write(tmp_path / "e.csv", "1,2\n"), format="xlsx")
    with pytest.raises(InputError, match="directory"):
        read_graph(tmp_path, format="csv")
    with pytest.raises(InputError, match="does not apply"):
        read_graph(write(tmp_path / "x.gml", "graph [ ]\n"), source_col=1)


def test_mixed_ids_late_in_a_big_file_are_strings(tmp_path):
    # more than one 16 MB block of integers, then string ids: read as strings, not an error
    n = 1_700_000
    p = tmp_path / "mixed.csv"
    with open(p, "w") as f:
        f.write("\n".join(f"{i},{i + 1}" for i in range(n)))
        f.write("\nfoo,bar\n")
    g = read_graph(p)
    assert g.node_ids.dtype == object and g.n_nodes == n + 3
    assert g.node_ids[:3].tolist() == ["0", "1", "2"] and g.index_of("bar") == n + 2


def test_graph_from_edges_is_what_reader_uses(tmp_path):
    p = write(tmp_path / "e.csv", text(EDGES))
    g = read_graph(p, weighted=True, duplicates="max")
    h = Graph.from_edges([u for u, _, _ in EDGES], [v for _, v, _ in EDGES],
                         [w for _, _, w in EDGES], duplicates="max")
    assert np.array_equal(g.indptr, h.indptr) and np.array_equal(g.indices, h.indices)
    assert np.array_equal(g.weights, h.weights) and g.node_ids.tolist() == h.node_ids.tolist()


def test_comment_in_integer_column_keeps_integer_ids(tmp_path):
    g = read_graph(write(tmp_path / "c.csv", "10,2\n# x,y\n2,3\n%z,1\n"))
    assert g.node_ids.dtype == np.int64 and g.node_ids.tolist() == [2, 3, 10]


def test_single_letter_string_ids_on_the_first_line_are_an_edge(tmp_path):
    path = tmp_path / "letters.txt"
    path.write_text("a b\nb c\nc a\n")
    g = read_graph(path)
    assert g.n_nodes == 3 and g.n_edges == 3
    assert sorted(g.node_ids.tolist()) == ["a", "b", "c"]


# ---------------------------------------------------------------------------- node,value tables
def test_read_node_rows_separators_comments_and_line_numbers(tmp_path):
    from graphembed.io.nodes import read_node_rows

    cases = {"t.tsv": "# c\n\na\t1\n%x\nb\t 2\n", "c.csv": "a, 1\n# c\n\nb,2\n",
             "s.txt": "a;1\n\n\nb;2\n", "w.txt": "a   1\n#\nb 2\n"}
    lines = {"t.tsv": [3, 5], "c.csv": [1, 4], "s.txt": [1, 4], "w.txt": [1, 3]}
    for name, text in cases.items():
        (tmp_path / name).write_text(text)
        rows = read_node_rows(tmp_path / name)
        assert rows == [(lines[name][0], ["a", "1"]), (lines[name][1], ["b", "2"])], name
    (tmp_path / "empty.csv").write_text("# nothing\n\n")
    assert read_node_rows(tmp_path / "empty.csv") == []
    with pytest.raises(InputError, match="labels file not found"):
        read_node_rows(tmp_path / "missing.csv", "labels")
    (tmp_path / "latin.csv").write_bytes(b"a,1\n\xe9,2\n")
    with pytest.raises(InputError, match="not UTF-8"):
        read_node_rows(tmp_path / "latin.csv")


def test_node_table_errors_name_the_file_line(tmp_path):
    from graphembed.io.nodes import read_labels, read_node_weights

    f = tmp_path / "w.csv"
    f.write_text("node,weight\n# comment\n1,0.5\n\n2,heavy\n")
    with pytest.raises(InputError, match=r"w.csv: line 5: weight 'heavy' is not a number"):
        read_node_weights(f)
    f.write_text("# weights\nnode\tweight\n1\t0.5\n2\t2\n")
    assert read_node_weights(f) == {1: 0.5, 2: 2.0}
    f.write_text("1,0.5\n\n1,2\n")
    with pytest.raises(InputError, match="line 3: node '1' listed twice"):
        read_node_weights(f)
    lab = tmp_path / "l.csv"
    lab.write_text("# labels\nnode,label\n1,a\n\n2\n")
    with pytest.raises(InputError, match=r"l.csv: line 5: expected 2 columns"):
        read_labels(lab, np.array([1, 2]))
