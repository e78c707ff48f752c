"""The malformed-and-awkward input corpus: every case is made here, from nothing but code.

``cases(root)`` writes each case's files into its own directory under ``root`` and returns the
list of :class:`Case`. A *bad* case must make every command it is given fail with exit 2, one
line on stderr that names ``names`` (the file, or the option), no traceback and no file left
behind; a *valid* case is awkward but correct input, and ``info --json`` must report exactly
``nodes`` and ``edges``. ``python tests/corpus/generate.py DIR`` writes the corpus for a look.
"""
import gzip
import io
import json
import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import scipy.io as sio
import scipy.sparse as sp

# The commands a graph file goes through; {F} is the input, outputs land in the case directory.
GRAPH_COMMANDS = {
    "info": ["info", "{F}"],
    "fastrp": ["fastrp", "{F}", "-o", "out.parquet"],
    "line": ["line", "{F}", "-o", "out.parquet", "--samples", "1000"],
    "deepwalk": ["deepwalk", "{F}", "-o", "out.parquet", "--walks-per-node", "1", "--walk-length", "5"],
    "walks": ["walks", "{F}", "-o", "walks.txt"],
    "grf": ["grf", "{F}", "-o", "out.parquet"],
    "orbits": ["orbits", "{F}", "-o", "orbits.csv"],
    "homs": ["homs", "{F}", "--motif", "path:3"],
    "linkpred": ["linkpred", "evaluate", "{F}", "--method", "fastrp"],
}
EMBEDDING_COMMANDS = {
    "index-build": ["index", "build", "{F}", "-o", "idx"],
    "cluster": ["cluster", "{F}", "--k", "2"],
    "classify": ["classify", "{F}", "--labels", "labels.csv"],
}
INDEX_COMMANDS = {
    "query": ["index", "query", "{F}", "--node", "0"],
}


@dataclass
class Case:
    name: str
    kind: str                     # "bad" or "valid"
    commands: dict                # label -> argv (with the input already filled in)
    names: str = None             # what the error line must contain (default: the input file name)
    nodes: int = None             # valid cases: exact counts from ``info --json``
    edges: int = None
    keep: dict = field(default_factory=dict)   # relative path -> bytes that must survive untouched


def _fill(commands, filename, extra=()):
    return {k: [filename if a == "{F}" else a for a in argv] + list(extra) for k, argv in commands.items()}


# Cases whose problem is in the weights: read with weights.
WEIGHTED = ("weight", "npz-", "mat-nan", "gml-")


def _parquet_bytes(table):
    sink = io.BytesIO()
    pq.write_table(table, sink)
    return sink.getvalue()


def _npz_bytes(**arrays):
    sink = io.BytesIO()
    np.savez(sink, **arrays)
    return sink.getvalue()


def _csr_npz(indptr, indices, data, shape):
    return _npz_bytes(format=np.array("csr"), shape=np.array(shape), indptr=np.asarray(indptr),
                      indices=np.asarray(indices), data=np.asarray(data))


def _mat_bytes(**variables):
    sink = io.BytesIO()
    sio.savemat(sink, variables)
    return sink.getvalue()


def _gzip(data):
    return gzip.compress(data, mtime=0)


RING = b"0,1\n1,2\n2,3\n3,0\n0,2\n"           # 4 nodes, 5 edges: a valid graph to damage


def _good_parquet():
    return _parquet_bytes(pa.table({"source": np.arange(50), "target": (np.arange(50) + 1) % 50}))


def _bad_graph_files():
    """(name, filename, bytes or None for a directory) of graph inputs every reader must refuse."""
    good_pq = _good_parquet()
    torn = bytearray(good_pq)
    for k in range(40, len(torn) - 40, 5):
        torn[k] ^= 0x5A
    gz_torn = bytearray(_gzip(RING * 200))
    gz_torn[30:40] = b"\x00" * 10
    s, t = np.arange(5), np.arange(1, 6)
    emb_parquet = _parquet_bytes(pa.table({"node": np.arange(4),
                                           "embedding": pa.array([[0.1, 0.2]] * 4, pa.list_(pa.float32(), 2))}))
    return [
        # delimited text
        ("empty", "edges.csv", b""),
        ("only-comments", "edges.csv", b"# a comment\n% another\n\n"),
        ("only-header", "edges.csv", b"source,target\n"),
        ("one-column", "edges.csv", b"0\n1\n2\n"),
        ("ragged-rows", "edges.csv", b"0,1\n1,2\n2\n3,4\n"),
        ("nan-weight", "edges.csv", b"0,1,1.0\n1,2,nan\n2,0,1\n"),
        ("inf-weight", "edges.csv", b"0,1,1.0\n1,2,inf\n2,0,1\n"),
        ("weight-beyond-float32", "edges.csv", b"0,1,1.0\n1,2,1e300\n2,0,1\n"),
        ("negative-weight", "edges.csv", b"0,1,1.0\n1,2,-3\n2,0,1\n"),
        ("word-weight-mid-file", "edges.csv", b"0,1,1.0\n1,2,heavy\n2,0,1\n"),
        ("empty-weight-field", "edges.csv", b"0,1,1.0\n1,2,\n2,0,1\n"),
        ("invalid-utf8", "edges.csv", b"a,b\nb,c\n\xff\xfe\xfa,d\n"),
        ("nul-bytes", "edges.csv", b"0,1\n1,\x00\x002\n"),
        ("unterminated-quote", "edges.csv", b'0,1\n"1,2\n2,3\n'),
        ("huge-single-line", "edges.csv", b"0,1\n" + b"9" * 3_000_000 + b"\n1,2\n"),
        ("binary-garbage", "edges.csv", bytes(np.random.default_rng(7).integers(0, 256, 4096, np.uint8))),
        ("gzip-truncated", "edges.csv.gz", _gzip(RING * 200)[:-30]),
        ("gzip-damaged", "edges.csv.gz", bytes(gz_torn)),
        ("gzip-not-gzip", "edges.csv.gz", RING),
        ("tsv-ragged", "edges.tsv", b"a\tb\nb\tc\td\te\n"),
        ("directory", "edges.csv", None),
        ("parquet-named-csv", "edges.csv", good_pq),
        # Parquet
        ("parquet-truncated", "edges.parquet", good_pq[: len(good_pq) // 2]),
        ("parquet-torn-pages", "edges.parquet", bytes(torn)),
        ("parquet-is-text", "edges.parquet", RING),
        ("parquet-list-ids", "edges.parquet", _parquet_bytes(pa.table({"s": pa.array([[1], [2]]), "t": [2, 3]}))),
        ("parquet-struct-ids", "edges.parquet",
         _parquet_bytes(pa.table({"s": pa.array([{"a": 1}, {"a": 2}]), "t": [2, 3]}))),
        ("parquet-null-ids", "edges.parquet", _parquet_bytes(pa.table({"s": pa.array([1, None, 3]), "t": [2, 3, 4]}))),
        ("parquet-nan-ids", "edges.parquet", _parquet_bytes(pa.table({"s": [1.0, float("nan")], "t": [2.0, 3.0]}))),
        ("parquet-fractional-ids", "edges.parquet", _parquet_bytes(pa.table({"s": [1.5, 2.0], "t": [2.0, 3.0]}))),
        ("parquet-one-column", "edges.parquet", _parquet_bytes(pa.table({"s": s}))),
        ("parquet-string-weights", "edges.parquet",
         _parquet_bytes(pa.table({"s": s, "t": t, "weight": ["a", "b", "c", "d", "e"]}))),
        ("parquet-nan-weight", "edges.parquet",
         _parquet_bytes(pa.table({"s": s, "t": t, "weight": [1.0, np.nan, 1.0, 1.0, 1.0]}))),
        ("parquet-weight-beyond-float32", "edges.parquet",
         _parquet_bytes(pa.table({"s": s, "t": t, "weight": [1.0, 1e300, 1.0, 1.0, 1.0]}))),
        ("parquet-negative-weight", "edges.parquet",
         _parquet_bytes(pa.table({"s": s, "t": t, "weight": [1.0, -1.0, 1.0, 1.0, 1.0]}))),
        ("parquet-no-rows", "edges.parquet", _parquet_bytes(pa.table({"s": pa.array([], pa.int64()),
                                                                     "t": pa.array([], pa.int64())}))),
        ("parquet-bool-ids", "edges.parquet", _parquet_bytes(pa.table({"s": [True, False], "t": [False, True]}))),
        ("embedding-given-as-graph", "emb.parquet", emb_parquet),
        # scipy .npz
        ("npz-index-out-of-range", "graph.npz", _csr_npz([0, 1, 2, 2], [1, 7], [1.0, 1.0], (3, 3))),
        ("npz-negative-index", "graph.npz", _csr_npz([0, 1, 2, 2], [1, -1], [1.0, 1.0], (3, 3))),
        ("npz-indptr-decreasing", "graph.npz", _csr_npz([0, 2, 1, 2], [1, 2], [1.0, 1.0], (3, 3))),
        ("npz-indptr-too-short", "graph.npz", _csr_npz([0, 1], [1, 2], [1.0, 1.0], (3, 3))),
        ("npz-indptr-past-end", "graph.npz", _csr_npz([0, 1, 2, 9], [1, 2], [1.0, 1.0], (3, 3))),
        ("npz-nan-value", "graph.npz", _csr_npz([0, 1, 2, 2], [1, 2], [1.0, np.nan], (3, 3))),
        ("npz-inf-value", "graph.npz", _csr_npz([0, 1, 2, 2], [1, 2], [1.0, np.inf], (3, 3))),
        ("npz-not-square", "graph.npz", _csr_npz([0, 1, 2], [1, 2], [1.0, 1.0], (2, 3))),
        ("npz-plain-arrays", "graph.npz", _npz_bytes(a=np.arange(3))),
        ("npz-truncated", "graph.npz", _csr_npz([0, 1, 2, 2], [1, 2], [1.0, 1.0], (3, 3))[:60]),
        ("npz-not-zip", "graph.npz", RING),
        ("npz-string-values", "graph.npz", _csr_npz([0, 1, 2, 2], [1, 2], np.array(["a", "b"]), (3, 3))),
        # Matlab .mat
        ("mat-no-network", "graph.mat", _mat_bytes(group=np.eye(3, 5), labels=np.eye(4, 2))),
        ("mat-not-square", "graph.mat", _mat_bytes(network=sp.csc_matrix(np.ones((2, 3))))),
        ("mat-string-network", "graph.mat", _mat_bytes(network="not a matrix")),
        ("mat-nan-network", "graph.mat", _mat_bytes(network=sp.csc_matrix(np.array([[0, np.nan], [np.nan, 0]])))),
        ("mat-truncated", "graph.mat", _mat_bytes(network=sp.csc_matrix(np.ones((30, 30))))[:200]),
        ("mat-is-text", "graph.mat", RING),
        # GML
        ("gml-string-weight", "graph.gml",
         b'graph [\n node [ id 0 ]\n node [ id 1 ]\n edge [ source 0 target 1 weight "heavy" ]\n]\n'),
        ("gml-syntax-error", "graph.gml", b"graph [\n node [ id 0 \n edge [ source 0 target\n"),
        ("gml-unknown-node", "graph.gml", b"graph [\n node [ id 0 ]\n edge [ source 0 target 5 ]\n]\n"),
        ("gml-nan-weight", "graph.gml",
         b"graph [\n node [ id 0 ]\n node [ id 1 ]\n edge [ source 0 target 1 weight NAN ]\n]\n"),
    ]


def _bad_embedding_files():
    ids = np.arange(6)
    vec = np.random.default_rng(0).standard_normal((6, 4)).astype(np.float32)

    def emb_table(ids_column, rows):
        return pa.table({"node": ids_column, "embedding": pa.array(rows, pa.list_(pa.float32()))})

    good = _parquet_bytes(emb_table(ids, vec.tolist()))
    return [
        ("emb-variable-length", "emb.parquet", _parquet_bytes(emb_table(ids, [[1.0, 2.0]] * 5 + [[1.0]]))),
        ("emb-duplicate-ids", "emb.parquet", _parquet_bytes(emb_table([0, 1, 2, 2, 4, 5], vec.tolist()))),
        ("emb-nan-value", "emb.parquet",
         _parquet_bytes(emb_table(ids, [[float("nan")] * 4] + vec[1:].tolist()))),
        ("emb-inf-value", "emb.csv", b"node,x0,x1\n0,1.0,inf\n1,0.5,0.5\n2,0,1\n"),
        ("emb-csv-ragged", "emb.csv", b"node,x0,x1\n0,1.0,2.0\n1,0.5\n2,0,1\n"),
        ("emb-csv-words", "emb.csv", b"node,x0,x1\n0,1.0,high\n1,0.5,0.5\n"),
        ("emb-w2v-wrong-count", "emb.w2v", b"5 2\na 0.1 0.2\nb 0.3 0.4\n"),
        ("emb-w2v-wrong-dim", "emb.w2v", b"2 3\na 0.1 0.2\nb 0.3 0.4\n"),
        ("emb-npz-missing-arrays", "emb.npz", _npz_bytes(ids=ids)),
        ("emb-empty", "emb.csv", b""),
        ("emb-parquet-truncated", "emb.parquet", good[: len(good) // 3]),
        ("emb-null-ids", "emb.parquet", _parquet_bytes(emb_table(pa.array([0, 1, None, 3, 4, 5]), vec.tolist()))),
    ]


def _valid_graph_files():
    """(name, filename, bytes, nodes, edges): awkward input that must be read exactly."""
    big = 2**64 - 1
    return [
        ("bom-no-header", "edges.csv", b"\xef\xbb\xbf1,2\n2,3\n3,1\n", 3, 3),
        ("bom-header", "edges.csv", b"\xef\xbb\xbfsource,target\n1,2\n2,3\n", 3, 2),
        ("rfc4180-quotes", "edges.csv", b'"a,b",c\nc,"d ""e"""\n"d ""e""","a,b"\n', 3, 3),
        ("crlf", "edges.csv", b"0,1\r\n1,2\r\n2,0\r\n", 3, 3),
        ("uint64-ids", "edges.csv", f"{big},{big - 1}\n{big - 1},{2**63}\n{2**63},{2**63 - 1}\n".encode(), 4, 3),
        ("beyond-uint64-ids", "edges.csv", f"{2**64},{2**64 + 1}\n{2**64 + 1},{2**64 + 2}\n".encode(), 3, 2),
        ("negative-and-huge-ids", "edges.csv", f"-1,{2**64 - 1}\n{2**64 - 1},5\n".encode(), 3, 2),
        ("comments-blank-lines", "edges.csv", b"# c\n0,1\n\n% d\n1,2\n   \n2,3\n", 4, 3),
        ("duplicates-self-loops", "edges.csv", b"0,1\n1,0\n0,1\n1,1\n1,2\n", 3, 2),
        ("tabs-trailing-space", "edges.tsv", b"a\tb  \nb\tc\t\nc\ta\n", 3, 3),
        ("spaces", "edges.txt", b"a  b\nb   c\n", 3, 2),
        ("no-final-newline", "edges.csv", b"0,1\n1,2", 3, 2),
        ("unicode-ids", "edges.csv", "Zürich,東京\n東京,São Paulo\n".encode(), 3, 2),
        ("decimal-looking-ids", "edges.csv", b"1.0,2.0\n2.0,3.5\n", 3, 2),
        ("zero-weights", "edges.csv", b"0,1,0\n1,2,1.5\n", 3, 2),
        ("gzip-csv", "edges.csv.gz", _gzip(b"0,1\n1,2\n2,0\n"), 3, 3),
        ("parquet-uint64", "edges.parquet",
         _parquet_bytes(pa.table({"s": pa.array([big, 2**63], pa.uint64()),
                                  "t": pa.array([2**63, 1], pa.uint64())})), 3, 2),
        ("parquet-strings-with-quotes", "edges.parquet",
         _parquet_bytes(pa.table({"s": ['a,"b"', "c d"], "t": ["c d", "e\tf"]})), 3, 2),
        ("npz-unsorted-indices", "graph.npz", _csr_npz([0, 2, 3, 4], [2, 1, 0, 0], [1.0, 1.0, 1.0, 1.0], (3, 3)),
         3, 2),
    ]


def _index_dir_cases(root):
    """Damaged index directories for ``index query`` (built from a valid embedding)."""
    from graphembed import Embedding
    from graphembed.index import build_and_save

    vectors = np.random.default_rng(1).standard_normal((40, 8)).astype(np.float32)
    emb = Embedding(np.arange(40), vectors, "test", {})
    template = root / "_index_template"
    build_and_save(emb, template, index="Flat")
    files = {p.name: p.read_bytes() for p in template.iterdir()}

    def damaged(**changes):
        out = dict(files)
        for name, data in changes.items():
            if data is None:
                out.pop(name, None)
            else:
                out[name] = data
        return out

    faiss_bytes = bytearray(files["index.faiss"])
    faiss_bytes[len(faiss_bytes) // 2] ^= 0xFF
    meta = json.loads(files["index.json"])
    return [
        ("index-json-malformed", damaged(**{"index.json": b"{not json"})),
        ("index-json-not-graphembed", damaged(**{"index.json": b'{"name": "my app config"}'})),
        ("index-faiss-flipped-byte", damaged(**{"index.faiss": bytes(faiss_bytes)})),
        ("index-faiss-missing", damaged(**{"index.faiss": None})),
        ("index-nodes-missing", damaged(**{"nodes.parquet": None})),
        ("index-nodes-truncated", damaged(**{"nodes.parquet": files["nodes.parquet"][:50]})),
        ("index-empty-dir", {}),
        ("index-future-version", damaged(**{"index.json": json.dumps(dict(meta, version=99)).encode()})),
    ]


def _write(directory, filename, data):
    path = directory / filename
    if data is None:
        path.mkdir(parents=True)
    else:
        path.write_bytes(data)


def cases(root):
    root = Path(root)
    out = []
    labels = b"0,a\n1,b\n2,a\n3,b\n4,a\n5,b\n"
    for name, filename, data in _bad_graph_files():
        d = root / name
        d.mkdir(parents=True)
        _write(d, filename, data)
        extra = ["--weighted"] if any(w in name for w in WEIGHTED) and filename.endswith(
            (".csv", ".parquet", ".tsv")) else []
        out.append(Case(name, "bad", _fill(GRAPH_COMMANDS, filename, extra), filename))
    for name, filename, data in _bad_embedding_files():
        d = root / name
        d.mkdir(parents=True)
        _write(d, filename, data)
        (d / "labels.csv").write_bytes(labels)
        out.append(Case(name, "bad", _fill(EMBEDDING_COMMANDS, filename), filename))
    for name, files in _index_dir_cases(root):
        d = root / name / "idx"
        d.mkdir(parents=True)
        for filename, data in files.items():
            (d / filename).write_bytes(data)
        out.append(Case(name, "bad", _fill(INDEX_COMMANDS, "idx"), "idx",
                        keep={f"idx/{k}": v for k, v in files.items()}))
    out.extend(_destination_and_option_cases(root))
    for name, filename, data, nodes, edges in _valid_graph_files():
        d = root / name
        d.mkdir(parents=True)
        _write(d, filename, data)
        out.append(Case(name, "valid", {"info": ["info", filename, "--json"]}, nodes=nodes, edges=edges))
    return out


def _destination_and_option_cases(root):
    """Outputs that must not be written (and a user's files that must survive), bad options."""
    from graphembed import Embedding

    emb = Embedding(np.arange(6), np.eye(6, 4, dtype=np.float32) + 0.1, "test", {})
    cases_ = []

    def case(name, commands, names, files=None, keep=None):
        d = root / name
        d.mkdir(parents=True)
        (d / "edges.csv").write_bytes(RING)
        emb.save(d / "emb.parquet")
        for rel, data in (files or {}).items():
            (d / rel).parent.mkdir(parents=True, exist_ok=True)
            (d / rel).write_bytes(data)
        cases_.append(Case(name, "bad", commands, names, keep=dict(keep or files or {})))

    user_config = {"mydir/index.json": b'{"theme": "dark"}', "mydir/notes.txt": b"my notes\n"}
    case("index-build-over-user-dir", {"index-build": ["index", "build", "emb.parquet", "-o", "mydir"]},
         "mydir", user_config)
    case("index-build-dot", {"index-build": ["index", "build", "emb.parquet", "-o", "."]}, ".: ")
    case("index-build-over-file", {"index-build": ["index", "build", "emb.parquet", "-o", "afile"]},
         "afile", {"afile": b"precious\n"})
    case("index-build-hnsw0", {"index-build": ["index", "build", "emb.parquet", "-o", "idx",
                                               "--index", "HNSW0"]}, "HNSW0")
    case("fastrp-index-no-parent", {"fastrp": ["fastrp", "edges.csv", "-o", "out.parquet",
                                               "--index", "nodir/x"]}, "nodir")
    case("fastrp-output-no-parent", {"fastrp": ["fastrp", "edges.csv", "-o", "nodir/out.parquet"]}, "nodir")
    case("fastrp-unknown-output-format", {"fastrp": ["fastrp", "edges.csv", "-o", "out.xyz"]}, "out.xyz")
    case("fastrp-dim-zero", {"fastrp": ["fastrp", "edges.csv", "-o", "out.parquet", "--dim", "0"]}, "--dim")
    case("fastrp-dim-exhausts-memory", {"fastrp": ["fastrp", "edges.csv", "-o", "out.parquet",
                                                   "--dim", "100000000000"]}, "memory")
    case("line-samples-1e30", {"line": ["line", "edges.csv", "-o", "out.parquet", "--samples", "1e30"]},
         "--samples")
    case("line-samples-fraction", {"line": ["line", "edges.csv", "-o", "out.parquet", "--samples", "0.5"]},
         "--samples")
    case("query-nodes-file-invalid-utf8",
         {"query": ["index", "query", "idx", "--nodes-file", "q.txt"]}, "q.txt",
         {"q.txt": b"0\n\xff\xfe\n"})
    case("query-unknown-node", {"query": ["index", "query", "idx", "--node", "no-such-node"]}, "no-such-node")
    case("query-vector-wrong-dim", {"query": ["index", "query", "idx", "--vector", "1,2"]}, "--vector")
    case("query-vector-nan", {"query": ["index", "query", "idx", "--vector", "nan,1,1,1"]}, "--vector")
    case("classify-labels-invalid-utf8", {"classify": ["classify", "emb.parquet", "--labels", "lab.csv"]},
         "lab.csv", {"lab.csv": b"0,a\n1,\xff\n"})
    case("classify-labels-unknown-ids", {"classify": ["classify", "emb.parquet", "--labels", "lab.csv"]},
         "lab.csv", {"lab.csv": b"x,a\ny,b\nz,a\n"})
    case("nodes-file-invalid-utf8", {"fastrp": ["fastrp", "edges.csv", "-o", "out.parquet", "--nodes", "n.txt"]},
         "n.txt", {"n.txt": b"0\n\xff\n"})
    # The index the query cases ask: built here, kept intact.
    for c in cases_:
        if any(argv[:2] == ["index", "query"] for argv in c.commands.values()):
            from graphembed.index import build_and_save

            build_and_save(emb, root / c.name / "idx", index="Flat")
            c.keep.update({f"idx/{p.name}": p.read_bytes() for p in (root / c.name / "idx").iterdir()})
    return cases_


if __name__ == "__main__":
    built = cases(Path(sys.argv[1]))
    bad = [c for c in built if c.kind == "bad"]
    print(f"{len(bad)} bad cases ({sum(len(c.commands) for c in bad)} runs), "
          f"{len(built) - len(bad)} valid cases in {sys.argv[1]}")
