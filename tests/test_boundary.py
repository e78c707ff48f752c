"""Validation at the boundary: ids keep their exact values, headers are told from data, weights
and CSR structure are checked before any kernel, embedding files are well-formed, or one error."""
import gzip
import subprocess
import sys
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import scipy.sparse as sp

import graphembed as ge
from graphembed.io.errors import InputError

SCRIPT = Path(sys.executable).parent / "graphembed"
CLI = [str(SCRIPT)] if SCRIPT.exists() else [sys.executable, "-m", "graphembed.cli.main"]


def _cli(*args, cwd):
    return subprocess.run([*CLI, *map(str, args)], capture_output=True, text=True, cwd=cwd, timeout=120)


def _edges(g):
    """The graph's edges as a set of (id, id) pairs (both directions when undirected)."""
    rows = np.repeat(np.arange(g.n_nodes), np.diff(g.indptr))
    ids = g.node_ids.tolist()
    return {(ids[i], ids[j]) for i, j in zip(rows.tolist(), g.indices.tolist())}


# ---------------------------------------------------------------------------- exact ids
def test_text_ids_beyond_int64_stay_exact(tmp_path):
    p = tmp_path / "big.csv"
    p.write_text(f"{2**64 - 1},{2**64 - 2}\n{2**64 - 2},{2**63}\n{2**63},1\n")
    g = ge.read_graph(p)
    assert g.node_ids.dtype == np.uint64
    assert g.node_ids.tolist() == [1, 2**63, 2**64 - 2, 2**64 - 1]
    assert (2**64 - 1, 2**64 - 2) in _edges(g) and g.n_edges == 3


def test_text_ids_beyond_uint64_become_exact_strings(tmp_path):
    p = tmp_path / "huge.csv"
    p.write_text(f"{2**64},{2**64 + 1}\n{2**64 + 1},7\n")
    g = ge.read_graph(p)
    assert set(g.node_ids.tolist()) == {str(2**64), str(2**64 + 1), "7"}  # never merged
    assert g.n_nodes == 3 and g.n_edges == 2


def test_parquet_uint64_and_mixed_columns_are_one_node_space(tmp_path):
    p = tmp_path / "u.parquet"
    pq.write_table(pa.table({"s": pa.array([2**64 - 1, 5], pa.uint64()),
                             "t": pa.array([5, 2**63], pa.int64() if False else pa.uint64())}), p)
    g = ge.read_graph(p)
    assert g.node_ids.tolist() == [5, 2**63, 2**64 - 1] and g.n_edges == 2
    q = tmp_path / "mixed.parquet"  # a uint64 source column and an int64 target column
    pq.write_table(pa.table({"s": pa.array([2**64 - 1, 3], pa.uint64()), "t": pa.array([3, 4], pa.int64())}), q)
    g = ge.read_graph(q)
    assert g.node_ids.tolist() == [3, 4, 2**64 - 1] and g.n_nodes == 3


def test_negative_and_huge_ids_together_are_strings(tmp_path):
    p = tmp_path / "neg.parquet"
    pq.write_table(pa.table({"s": pa.array([2**64 - 1], pa.uint64()), "t": pa.array([-1], pa.int64())}), p)
    assert sorted(ge.read_graph(p).node_ids.tolist()) == sorted([str(2**64 - 1), "-1"])


def test_networkx_ids_beyond_int64():
    import networkx as nx

    G = nx.Graph([(2**64 - 1, 5), (2**63, 5)])
    g = ge.Graph.from_networkx(G)
    assert g.node_ids.dtype == np.uint64 and sorted(g.node_ids.tolist()) == [5, 2**63, 2**64 - 1]


@pytest.mark.parametrize("values, message", [
    ([1.0, float("nan")], "row 2: s id is missing"),
    ([1.0, 2.5], "not a whole number"),
])
def test_parquet_float_ids_must_be_exact(tmp_path, values, message):
    p = tmp_path / "f.parquet"
    pq.write_table(pa.table({"s": values, "t": [3.0, 4.0]}), p)
    with pytest.raises(InputError, match=message):
        ge.read_graph(p)


def test_parquet_whole_float_ids_are_integers(tmp_path):
    p = tmp_path / "f.parquet"
    pq.write_table(pa.table({"s": [1.0, 2.0], "t": [2.0, 3.0]}), p)
    g = ge.read_graph(p)
    assert g.node_ids.dtype == np.int64 and g.node_ids.tolist() == [1, 2, 3]


@pytest.mark.parametrize("table, message", [
    (pa.table({"s": [[1], [2]], "t": [2, 3]}), "must be integers or strings"),
    (pa.table({"s": pa.array([1, None]), "t": [2, 3]}), "row 2: s id is missing"),
    (pa.table({"node": [1, 2], "embedding": [[1.0, 2.0], [3.0, 4.0]]}), "looks like an embedding"),
    (pa.table({"only": [1, 2]}), "needs a source and a target"),
])
def test_parquet_edge_list_errors_name_the_file(tmp_path, table, message):
    p = tmp_path / "bad.parquet"
    pq.write_table(table, p)
    with pytest.raises(InputError, match=message) as info:
        ge.read_graph(p)
    assert "bad.parquet" in str(info.value)


def test_corrupt_parquet_pages_are_one_error(tmp_path):
    p = tmp_path / "edges.parquet"
    pq.write_table(pa.table({"s": np.arange(5000), "t": np.arange(1, 5001)}), p)
    data = bytearray(p.read_bytes())
    for k in range(200, 4000, 7):
        data[k] ^= 0x5A
    p.write_bytes(bytes(data))
    with pytest.raises(InputError, match="edges.parquet"):
        ge.read_graph(p)


# ---------------------------------------------------------------------------- text: header, BOM, quotes
@pytest.mark.parametrize("text, nodes, edges, header", [
    ("person1,person2\nalice,bob\nbob,carol\n", 3, 2, "detected"),
    ("source,target\nalice,bob\n", 2, 1, "detected"),
    ("alice,bob\nbob,carol\n", 3, 2, "none"),           # the first row's ids recur: data
    ("1,2\n2,3\n", 3, 2, "none"),
    ("from,to\n1,2\n2,3\n", 3, 2, "detected"),
    ("\ufeff1,2\n2,3\n", 3, 2, "none"),                  # a BOM does not make the first edge a header
    ('"a,b",c\nc,d\n', 3, 2, "none"),                    # RFC 4180 quoted field
    ('"x ""q""",y\ny,x ""q""\n', None, None, None),       # quotes inside quotes: checked below
])
def test_header_bom_and_quotes(tmp_path, text, nodes, edges, header):
    p = tmp_path / "e.csv"
    p.write_text(text, encoding="utf-8")
    if nodes is None:
        g = ge.read_graph(p)
        assert 'x "q"' in g.node_ids.tolist()
        return
    g = ge.read_graph(p)
    assert (g.n_nodes, g.n_edges, g.stats["header"]) == (nodes, edges, header)


def test_weighted_header_with_a_word_weight(tmp_path):
    p = tmp_path / "w.csv"
    p.write_text("user_a,user_b,strength\nalice,bob,1.5\nbob,carol,2\n")
    g = ge.read_graph(p, weighted=True)
    assert (g.n_nodes, g.n_edges, g.stats["header"]) == (3, 2, "detected")
    assert sorted(g.weights.tolist()) == [1.5, 1.5, 2.0, 2.0]


def test_header_flags_override(tmp_path):
    p = tmp_path / "e.csv"
    p.write_text("person1,person2\nalice,bob\n")
    g = ge.read_graph(p, header=False)
    assert g.n_nodes == 4 and g.stats["header"] == "given"


def test_info_prints_the_header_decision(tmp_path):
    (tmp_path / "e.csv").write_text("person1,person2\nalice,bob\nbob,carol\n")
    r = _cli("info", "e.csv", cwd=tmp_path)
    assert r.returncode == 0 and any(line.split() == ["header", "detected"] for line in r.stdout.splitlines())


def test_invalid_utf8_names_file_and_line(tmp_path):
    p = tmp_path / "u.csv"
    p.write_bytes(b"a,b\nb,c\n\xff\xfe,c\n")
    with pytest.raises(InputError, match=r"u.csv: line 3: not UTF-8"):
        ge.read_graph(p)


def test_corrupt_gzip_names_the_file(tmp_path):
    data = gzip.compress(b"".join(b"%d %d\n" % (i, i + 1) for i in range(20000)))
    bad = bytearray(data)
    bad[len(bad) // 3] ^= 0xFF
    p = tmp_path / "e.txt.gz"
    p.write_bytes(bytes(bad))
    with pytest.raises(InputError, match="e.txt.gz"):
        ge.read_graph(p)


def test_long_lines_are_quoted_short(tmp_path):
    p = tmp_path / "long.csv"
    p.write_text("0,1\n" + "7," * 100_000 + "8\n")
    with pytest.raises(InputError) as info:
        ge.read_graph(p)
    assert "long.csv" in str(info.value) and len(str(info.value)) < 300


# ---------------------------------------------------------------------------- weights
@pytest.mark.parametrize("weight, message", [("1e300", "too large for float32"), ("nan", "not finite"),
                                             ("-1", "negative"), ("inf", "not finite")])
def test_weights_checked_after_the_float32_cast(tmp_path, weight, message):
    p = tmp_path / "w.txt"
    p.write_text(f"0 1 1\n1 2 {weight}\n")
    with pytest.raises(InputError, match=f"w.txt: line 2: .*{message}"):
        ge.read_graph(p, weighted=True)


def test_from_edges_weights_name_source_and_edge():
    with pytest.raises(InputError, match=r"my edges: edge 2: weight 1e\+300 is too large"):
        ge.Graph.from_edges([0, 1], [1, 2], [1.0, 1e300], source="my edges")


def test_parquet_weights_checked_after_the_float32_cast(tmp_path):
    p = tmp_path / "w.parquet"
    pq.write_table(pa.table({"s": [0, 1], "t": [1, 2], "w": [1.0, 1e300]}), p)
    with pytest.raises(InputError, match="w.parquet: row 2: weight 1e\\+300 is too large"):
        ge.read_graph(p, weighted=True)


def test_gml_string_weight(tmp_path):
    p = tmp_path / "g.gml"
    p.write_text('graph [ node [ id 0 ] node [ id 1 ] edge [ source 0 target 1 weight "heavy" ] ]')
    with pytest.raises(InputError, match="g.gml: edge .*'heavy' is not a number"):
        ge.read_graph(p, weighted=True)


# ---------------------------------------------------------------------------- CSR input
def _save_raw_csr(path, indptr, indices, data, shape):
    np.savez(path, indices=np.asarray(indices, np.int32), indptr=np.asarray(indptr, np.int32),
             format=b"csr", shape=np.asarray(shape), data=np.asarray(data, np.float64))


@pytest.mark.parametrize("indptr, indices, message", [
    ([0, 1, 2, 2], [1, 99], "column index 99"),
    ([0, 1, 2, 2], [1, -3], "column index -3"),
    ([0, 2, 1, 2], [1, 0], "indptr decreases"),
])
def test_bad_csr_never_reaches_a_kernel(tmp_path, indptr, indices, message):
    """A malformed .npz once crashed six commands with SIGSEGV: now one line, exit 2."""
    _save_raw_csr(tmp_path / "bad.npz", indptr, indices, np.ones(len(indices)), (3, 3))
    with pytest.raises(InputError, match=message):
        ge.read_graph(tmp_path / "bad.npz")
    for command in (["fastrp", "bad.npz", "-o", "x.parquet", "--dim", "4"], ["orbits", "bad.npz", "-o", "o.csv"]):
        r = _cli(*command, cwd=tmp_path)
        assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1 and "bad.npz" in r.stderr
        assert "Traceback" not in r.stderr


def test_from_scipy_checks_structure_and_values():
    bad = sp.csr_matrix((np.ones(2), np.array([0, 5]), np.array([0, 1, 2])), shape=(2, 2))
    with pytest.raises(InputError, match="column index 5"):
        ge.Graph.from_scipy(bad)
    with pytest.raises(InputError, match="real numbers"):
        ge.Graph.from_scipy(sp.csr_matrix(np.array([[0, 1j], [1j, 0]])))
    with pytest.raises(InputError, match="too large for float32"):
        ge.Graph.from_scipy(sp.csr_matrix(np.array([[0, 1e300], [1e300, 0]])))


@pytest.mark.parametrize("content, message", [
    ({"network": np.array(["ab", "cd"])}, "2-D"),
    ({"network": sp.csc_matrix(np.array([[0, 1j], [1j, 0]]))}, "real numbers"),
    ({"other": np.zeros((2, 3))}, "no 'network' matrix"),
])
def test_odd_mat_contents(tmp_path, content, message):
    import scipy.io

    scipy.io.savemat(tmp_path / "g.mat", content)
    with pytest.raises(InputError, match=message):
        ge.read_graph(tmp_path / "g.mat")


# ---------------------------------------------------------------------------- embedding files
@pytest.mark.parametrize("fmt", ["parquet", "csv", "tsv", "npz", "w2v"])
def test_uint64_ids_round_trip_every_embedding_format(tmp_path, fmt):
    ids = np.array([2**64 - 1, 2**63, 5], dtype=np.uint64)
    emb = ge.Embedding(ids, np.arange(6, dtype=np.float32).reshape(3, 2))
    emb.save(tmp_path / f"e.{fmt}")
    back = ge.Embedding.load(tmp_path / f"e.{fmt}")
    assert back.node_ids.dtype == np.uint64 and back.node_ids.tolist() == ids.tolist()
    assert np.array_equal(back.vectors, emb.vectors)


@pytest.mark.parametrize("table, message", [
    (pa.table({"node": [1, 2, 3], "embedding": [[1.0, 2.0], [3.0], [4.0, 5.0]]}), "row 2: a vector of 1 values"),
    (pa.table({"node": [1, 1], "embedding": [[1.0, 2.0], [3.0, 4.0]]}), "row 2: node id 1 appears twice"),
    (pa.table({"node": [1.0, float("nan")], "embedding": [[1.0, 2.0], [3.0, 4.0]]}), "row 2: node id nan"),
    (pa.table({"node": pa.array([1, None]), "embedding": [[1.0, 2.0], [3.0, 4.0]]}), "row 2: node id is missing"),
    (pa.table({"node": [1, 2], "embedding": [[1.0, float("nan")], [3.0, 4.0]]}), "row 1: the vector has NaN"),
])
def test_malformed_embedding_files(tmp_path, table, message):
    p = tmp_path / "e.parquet"
    pq.write_table(table, p)
    with pytest.raises(InputError, match=message) as info:
        ge.Embedding.load(p)
    assert "e.parquet" in str(info.value)


def test_duplicate_ids_are_not_indexed(tmp_path):
    pytest.importorskip("faiss")
    from graphembed.index import EmbeddingIndex

    with pytest.raises(InputError, match="twice"):
        EmbeddingIndex.build(ge.Embedding(np.array([1, 1]), np.eye(2)), index="Flat")


# ---------------------------------------------------------------------------- parameters that exhaust memory
def test_a_dimension_beyond_the_memory_is_refused_before_allocating(monkeypatch):
    import graphembed._limits as limits

    g = ge.Graph.from_edges([0, 1, 2], [1, 2, 0])
    monkeypatch.setattr(limits, "available_memory", lambda: 10_000)
    with pytest.raises(InputError, match=r"FastRP with dim=1000 on 3 nodes needs about 35\.2 KiB"):
        ge.FastRP(dim=1000, random_state=0).fit(g)
    with pytest.raises(InputError, match="LINE with dim=1000"):
        ge.LINE(dim=1000, n_samples=10).fit(g)
    with pytest.raises(InputError, match="300 walks of length 10 held in memory"):
        ge.DeepWalk(walks_per_node=100, walk_length=10).walks(g)
    monkeypatch.setattr(limits, "available_memory", lambda: None)  # unknown: no check
    assert ge.FastRP(dim=1000, random_state=0).fit(g).embedding_.dim == 1000


def test_line_samples_are_bounded():
    from graphembed._limits import MAX_SAMPLES

    g = ge.Graph.from_edges([0, 1, 2], [1, 2, 0])
    with pytest.raises(InputError, match=r"n_samples must be an integer >= 1 and <= 1e\+14 \(or None\)"):
        ge.LINE(dim=4, n_samples=MAX_SAMPLES + 1).fit(g)
    with pytest.raises(InputError, match="n_samples"):
        ge.LINE(dim=4, n_samples=10**30).fit(g)


def test_the_walk_corpus_file_needs_free_space(monkeypatch, tmp_path):
    import shutil
    from collections import namedtuple

    pytest.importorskip("gensim")
    usage = namedtuple("usage", "total used free")
    monkeypatch.setattr(shutil, "disk_usage", lambda p: usage(10**6, 10**6 - 10, 10))
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    g = ge.Graph.from_edges([0, 1, 2], [1, 2, 0])
    model = ge.DeepWalk(walks_per_node=2, walk_length=5, dim=4, random_state=0)
    model._corpus_route = "file"
    with pytest.raises(InputError, match="temporary corpus of 6 walks .* needs about 60 B"):
        model.fit(g)


# ---------------------------------------------------------------------------- node tables, column hints, summaries
def test_node_files_keep_ids_exact_and_lines_whole(tmp_path):
    from graphembed.io.nodes import read_node_file, read_node_ids

    p = tmp_path / "nodes.txt"
    p.write_bytes(f"\ufeff# ids\n5\n{2**64 - 1}\n\n{2**63}\n".encode())
    ids = read_node_file(p)
    assert ids.dtype == np.uint64 and ids.tolist() == [5, 2**64 - 1, 2**63]
    q = tmp_path / "queries.txt"
    q.write_text("New York\n% comment\nSão Paulo\n", encoding="utf-8")
    assert read_node_ids(q) == ["New York", "São Paulo"]
    g = ge.read_graph(_write(tmp_path / "e.csv", "5,7\n"), nodes=p)
    assert g.n_nodes == 4 and g.node_ids.dtype == np.uint64


def _write(path, text):
    path.write_text(text)
    return path


def test_parquet_positional_columns_are_explained(tmp_path):
    p = tmp_path / "p.parquet"
    pq.write_table(pa.table({"user": ["a", "b"], "when": [1.5, 2.5], "item": ["b", "c"]}), p)
    with pytest.raises(InputError, match=r"the first two columns are read; choose with "
                                         r"--source-col/--target-col: user, when, item"):
        ge.read_graph(p)
    g = ge.read_graph(p, source_col="user", target_col="item")
    assert g.n_nodes == 3
    with pytest.raises(InputError, match=r"columns are: user, when, item \(choose with --source-col"):
        ge.read_graph(p, source_col="nope", target_col="item")


def test_summary_lines_say_whether_a_header_was_found(tmp_path):
    _write(tmp_path / "e.csv", "from,to\n1,2\n2,3\n")
    r = _cli("fastrp", "e.csv", "-o", "e.parquet", "--dim", "8", cwd=tmp_path)
    assert r.returncode == 0 and "header: detected" in r.stderr
    r = _cli("walks", "e.csv", "-o", "w.txt", "--no-header", "--walk-length", "3", cwd=tmp_path)
    assert r.returncode == 0 and "header: given" in r.stderr


# ---------------------------------------------------------------------------- found by benchmarks/fuzz.py
# A damaged sparse array that crashed scipy.io.loadmat (SIGSEGV) before the structural check.
CRASHING_MAT = (b"MATLAB 5.0 MAT-file, graphembed fuzz seed" + b" " * 75 + b"\x00" * 9 + b"\x01IM"
                b"\x0e\x00\x00\x00\x88\x00\x00\x00\x06\x00\x00\x00\x08\x00\x00\x00\x05\x00\x00\x00"
                b"\x04\x00\x00\x00\x05\x00\x00\x00\x08\x00\x00\x00\x03\x00\x00\x00\x03\x00\x00\x00"
                b"\x01\x00\x00\x00\x07\x00\x00\x00netw\x00\x00\x03\x00\x00\x00\x01\x00\x00\x00\x05\x00")


def test_a_mat_file_that_crashed_scipy_is_refused_in_a_child(tmp_path):
    p = tmp_path / "crash.mat"
    p.write_bytes(CRASHING_MAT)
    code = f"import graphembed as ge\ntry:\n ge.read_graph({str(p)!r}, weighted=True)\nexcept ge.InputError as e:\n print(e)"
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0 and "crash.mat: not a readable Matlab file" in r.stdout, (r.returncode, r.stderr)


def test_real_mat_layouts_pass_the_structural_check(tmp_path):
    import scipy.io as sio

    from graphembed.io.matfile import check_mat5

    a = sp.random(30, 30, density=0.2, format="csc", random_state=0)
    for compress in (False, True):
        sio.savemat(tmp_path / "m.mat", {"network": a, "info": {"name": "x"}, "z": np.array([1 + 2j]),
                                         "c": np.array([np.arange(2), "abc"], dtype=object)},
                    do_compression=compress)
        check_mat5(tmp_path / "m.mat")
        assert ge.read_graph(tmp_path / "m.mat").n_nodes == 30


def test_word2vec_header_is_checked_against_the_data(tmp_path):
    p = tmp_path / "e.w2v"
    p.write_bytes(b"1 100000000\na 1 2\n")  # trusted, it sized 10^8 columns (5.7 GB and rising)
    with pytest.raises(InputError, match=r"e.w2v: line 2: 2 values where the header says 100000000"):
        ge.Embedding.load(p)


def test_malformed_embedding_metadata_is_an_input_error(tmp_path):
    p = tmp_path / "m.npz"
    np.savez(p, nodes=np.array([1]), vectors=np.zeros((1, 2)), meta=np.array('{"params": "x"}'))
    with pytest.raises(InputError, match="m.npz: its graphembed metadata is malformed"):
        ge.Embedding.load(p)


def test_parquet_column_names_repeated_or_not_utf8(tmp_path):
    p = tmp_path / "dup.parquet"
    pq.write_table(pa.Table.from_arrays([pa.array([1, 2]), pa.array([2, 3]), pa.array([3, 4])],
                                        names=["", "t", ""]), p)
    with pytest.raises(InputError, match="dup.parquet: column names repeat"):
        ge.read_graph(p)
    q = tmp_path / "name.parquet"
    pq.write_table(pa.table({"sxc": [1, 2], "dst": [2, 3]}), q, compression="none")
    q.write_bytes(q.read_bytes().replace(b"sxc", b"s\xa7c"))
    with pytest.raises(InputError, match="name.parquet: not a readable Parquet file"):
        ge.read_graph(q)


def test_a_matrix_too_large_for_graphembed(tmp_path):
    p = tmp_path / "huge.npz"
    sp.save_npz(p, sp.coo_matrix((np.zeros(0), (np.zeros(0, int), np.zeros(0, int))), shape=(2**40, 2**40)))
    with pytest.raises(InputError, match="more nodes than graphembed holds"):
        ge.read_graph(p)


def test_messages_stay_one_bounded_line(tmp_path):
    for name, data in (("long.csv", b"9" * 400), ("tok.gml", b"$\r"), ("long.gml", b"9" * 400)):
        p = tmp_path / name
        p.write_bytes(data)
        with pytest.raises(InputError) as info:
            ge.read_graph(p)
        message = str(info.value)
        assert "\n" not in message and "\r" not in message and len(message) < 300 and name in message
    assert len(str(InputError("x" * 5000))) == InputError.MAX_LENGTH


def test_index_descriptions_with_impossible_numbers(tmp_path):
    import json

    pytest.importorskip("faiss")
    from graphembed.index import build_and_save

    build_and_save(ge.Embedding(np.arange(8), np.eye(8, 4, dtype=np.float32) + 0.1), tmp_path / "idx",
                   index="Flat")
    meta_path = tmp_path / "idx" / "index.json"
    meta = json.loads(meta_path.read_text())
    for field, value in (("dim", "Infinity"), ("version", "1" + "0" * 300), ("count", "-1")):
        meta_path.write_text(json.dumps(meta).replace(f'"{field}": {json.dumps(meta[field])}',
                                                      f'"{field}": {value}'))
        with pytest.raises(InputError, match="index.json") as info:
            ge.EmbeddingIndex.load(tmp_path / "idx", verify=False)
        assert len(str(info.value)) < 300
