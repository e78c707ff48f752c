"""Bounded fuzz of every graphembed reader: bytes in, a value or one clean InputError out.

    python benchmarks/fuzz.py [--seconds 120] [--seed 0] [--target NAME] [--out DIR]
                              [--input-timeout 5] [--memory-mb 4096] [--json-out fuzz.json]

Not run in CI. ``hypothesis`` generates the inputs: files built from scratch (token soups of
numbers, quotes, delimiters, BOMs, NULs, invalid UTF-8; random Parquet tables, .npz archives and
.mat files of odd types and shapes) and mutations of valid seed files (bit flips, byte and int32
/ int64 overwrites, truncation, deleted or duplicated ranges, inserted delimiters, quotes, BOM,
NUL, invalid UTF-8, huge numbers, NaN, negative values, numbers beyond 2^64). Targets:

    edges-text      graphembed.read_graph on .csv / .tsv / .txt / .edges text
    edges-gz        the same on .csv.gz / .tsv.gz (mutated text, or mutated gzip bytes)
    edges-parquet   read_graph on Parquet edge lists
    edges-npz       read_graph on scipy sparse .npz
    edges-mat       read_graph on Matlab .mat (v4 and v5)
    edges-gml       read_graph on GML
    emb-parquet, emb-csv, emb-tsv, emb-npz, emb-w2v (.w2v/.txt/.vec/.emb), emb-w2v-bin (.bin)
                    graphembed.Embedding.load
    index           graphembed.index.EmbeddingIndex.load on an index directory built here
                    (index.json fields and bytes, index.faiss and nodes.parquet bytes mutated,
                    with the stored checksums fixed up or not, files swapped between indexes)

The property: the reader returns a value, or raises ``graphembed.io.errors.InputError`` whose
message is one line, names the input path, and is at most ``--max-message`` characters besides
that path. Anything else is a finding: another exception type (MemoryError included: the child
runs under an address-space limit of ``--memory-mb``), a bad message, a signal (segfault, abort)
or an input that runs past ``--input-timeout`` seconds.

Each target runs in a child process (``--child``), so a crash kills only the child: the parent
sees the signal, saves the input that was being read and starts a new child for the rest of the
target's share of ``--seconds`` (shrinking the first input of each kind of crash adds up to
``--shrink-crashes`` seconds). Findings go under ``--out`` (default
``benchmarks/results/fuzz-failures/``, created only when something is found): per target, the
input as found, a greedily shrunk copy (``*.min``) and ``findings.jsonl``. Prints a table of
target, inputs tried, returned, InputError, other exceptions, bad messages, signals, hangs and
seconds, then one line per distinct finding; exits 1 when anything was found.
"""
import gzip
import io
import json
import os
import random
import re
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _util import ROOT, benchmark_parser, serve_child, write_json

DEFAULT_OUT = ROOT / "benchmarks" / "results" / "fuzz-failures"
TARGETS = ("edges-text", "edges-gz", "edges-parquet", "edges-npz", "edges-mat", "edges-gml",
           "emb-parquet", "emb-csv", "emb-tsv", "emb-npz", "emb-w2v", "emb-w2v-bin", "index")
# the counters a child keeps in a shared file (float64 slots), readable after it crashed
SLOTS = ("tried", "returned", "input_error", "other", "bad_message", "busy_since", "shrinking", "done",
         "harness_errors")
MAX_INPUT = 1 << 16          # bytes; larger mutants are cut
SAVED_PER_SIGNATURE = 2      # inputs saved per distinct finding
SHRINK_SECONDS = 4.0

# ---------------------------------------------------------------------------- interesting pieces
NUMBERS = [b"0", b"-0", b"1", b"-1", b"2", b"-5", b"0.5", b"-0.5", b"1.0", b"1e3", b"+7", b"007",
           b"nan", b"NaN", b"-nan", b"inf", b"-inf", b"Infinity", b"1e309", b"-1e309", b"1e-320",
           b"3.5e38", b"3.4028236e38", b"2147483647", b"2147483648", b"4294967296",
           b"9007199254740993", b"9223372036854775807", b"9223372036854775808",
           b"-9223372036854775808", b"-9223372036854775809", b"18446744073709551615",
           b"18446744073709551616", b"-18446744073709551616", b"340282366920938463463374607431768211456",
           b"1" * 40, b"9" * 400, b"0x10", b"1_000", b"1,5", b"\xd9\xa1\xd9\xa2", b"\xef\xbc\x91",
           b"1e", b"--1", b".", b"e5"]
TOKENS = [b",", b"\t", b" ", b"  ", b";", b"|", b'"', b'""', b'"a,b"', b'"x""y"', b"'", b"\\",
          b"\n", b"\r\n", b"\r", b"\n\n", b"\x0b", b"\x0c", b"\x1c", b"\xc2\x85", b"\xe2\x80\xa8",
          b"\xef\xbb\xbf", b"\x00", b"\x00\x00\x00\x00", b"\xff", b"\xfe\xff", b"\xc3", b"\xc3\x28",
          b"\xed\xa0\x80", b"\xf4\x90\x80\x80", b"\xe2\x82", b"#", b"%", b"# c\n", b"%%\n",
          b"source", b"target", b"weight", b"node", b"embedding", b"x" * 600, b"\xe2\x82\xac" * 200,
          b"[", b"]", b"graph", b"node [", b"edge [", b"id", b"label", b"directed 1"] + NUMBERS
INT_VALUES = [0, 1, -1, 2, 7, 16, 255, 256, 1000, 65535, 1 << 20, 2**31 - 1, -2**31, 2**32 - 1,
              2**40, 2**62, 2**63 - 1, -2**63]


def _literal(data, limit=600):
    """A Python expression for ``data``: runs of 8 or more equal bytes written ``b"x" * n``."""
    parts = []
    for m in re.finditer(rb"(.)\1{7,}|(?:(.)(?!\2{7}))+", data, re.S):
        run = m.group(0)
        parts.append(f"{bytes(run[:1])!r} * {len(run)}" if m.group(1) is not None else repr(run))
    text = " + ".join(parts) or "b''"
    return text if len(text) <= limit else text[:limit] + f"... ({len(data)} bytes)"


# ---------------------------------------------------------------------------- mutations
def apply_ops(data, ops, seeds):
    """``data`` changed by each op of ``ops`` (tuples drawn by :func:`op_strategy`)."""
    buf = bytearray(data)
    for op in ops:
        kind, a, b = op
        n = len(buf)
        at = a % (n + 1)
        if kind == "flip" and n:
            buf[a % n] ^= 1 << (b % 8)
        elif kind == "byte" and n:
            buf[a % n] = b % 256
        elif kind == "delete" and n:
            del buf[at:at + 1 + b % 64]
        elif kind == "truncate":
            del buf[at:]
        elif kind == "dup" and n:
            piece = buf[at:at + 1 + b % 256]
            buf[at:at] = piece
        elif kind == "insert":
            buf[at:at] = TOKENS[b % len(TOKENS)]
        elif kind == "number":  # replace the b-th decimal number in the data
            found = list(re.finditer(rb"-?\d+(?:\.\d+)?(?:e-?\d+)?", bytes(buf)))
            if found:
                m = found[b % len(found)]
                buf[m.start():m.end()] = NUMBERS[a % len(NUMBERS)]
        elif kind in ("int32", "int64") and n >= 8:
            width = 4 if kind == "int32" else 8
            pos = (a % max(1, n - width + 1)) & ~(width - 1 if a & 1 else 0)
            value = INT_VALUES[b % len(INT_VALUES)]
            if kind == "int32":
                value = max(-2**31, min(2**31 - 1, value))
            buf[pos:pos + width] = struct.pack("<i" if width == 4 else "<q", value)
        elif kind == "splice" and seeds:
            other = seeds[b % len(seeds)]
            if isinstance(other, (bytes, bytearray)) and other:
                start = a % len(other)
                buf[at:] = other[start:]
        if len(buf) > MAX_INPUT:
            del buf[MAX_INPUT:]
    return bytes(buf)


def strategies():
    """The hypothesis strategies, built on first use in the child."""
    from hypothesis import strategies as st

    op_kind = st.sampled_from(["flip", "flip", "byte", "delete", "truncate", "dup", "insert", "insert",
                               "number", "number", "int32", "int64", "splice"])
    op = st.tuples(op_kind, st.integers(0, 2**31), st.integers(0, 2**31))
    ops = st.lists(op, min_size=1, max_size=8)

    field = st.one_of(
        st.sampled_from([t.decode("utf-8", "replace") for t in NUMBERS]),
        st.integers(-2**70, 2**70).map(str),
        st.floats(allow_nan=True, allow_infinity=True).map(repr),
        st.sampled_from(["a", "b", "source", "target", "weight", "node", "", " ", '"', '"a,b"', "#x",
                         "%", "\x00", "\ufeff", "é", "\u2028", "x" * 500]),
        st.text(max_size=12),
    )
    line = st.tuples(st.lists(field, min_size=0, max_size=5),
                     st.sampled_from([",", "\t", " ", "  ", ";", ", "]))
    text_file = st.tuples(
        st.lists(line, min_size=0, max_size=12),
        st.sampled_from(["\n", "\r\n", "\r", "\n\n"]),
        st.sampled_from(["", "\ufeff", "# comment\n", "% c\n"]),
    ).map(lambda t: (t[2] + t[1].join(d.join(fields) for fields, d in t[0])).encode("utf-8", "surrogatepass"))
    raw = st.binary(max_size=300)
    return st, ops, field, text_file, raw


# ---------------------------------------------------------------------------- seeds and targets
def _parquet_bytes(table, **kwargs):
    import pyarrow as pa
    import pyarrow.parquet as pq

    sink = pa.BufferOutputStream()
    pq.write_table(table, sink, **kwargs)
    return sink.getvalue().to_pybytes()


def _fixed_mat_header(data):
    """A v5 .mat file with its creation time replaced, so that the seeds do not change."""
    if data.startswith(b"MATLAB 5.0"):
        return b"MATLAB 5.0 MAT-file, graphembed fuzz seed".ljust(116, b" ") + data[116:]
    return data


def _npz_bytes(**arrays):
    import numpy as np

    bio = io.BytesIO()
    np.savez(bio, **arrays)
    return bio.getvalue()


def _embedding_seed_files(ext, work):
    import numpy as np

    import graphembed as ge

    rng = np.random.default_rng(0)
    out = []
    for ids in (np.arange(5, dtype=np.int64) * 3 - 4, np.array(["a", "b", "c é", "d"], dtype=object),
                np.array([2**63 + 5, 1, 2], dtype=np.uint64)):
        emb = ge.Embedding(ids, rng.normal(size=(len(ids), 3)).astype(np.float32))
        path = work / f"seed{len(out)}{ext}"
        try:
            emb.save(path)
        except Exception:  # noqa: BLE001 - a format that cannot hold these ids
            continue
        out.append(path.read_bytes())
        path.unlink()
    return out


def _arrow_column(draw, st, n, names):
    """A random arrow column of ``n`` rows (odd types, nulls, NaN, huge integers)."""
    import numpy as np
    import pyarrow as pa

    kind = draw(st.sampled_from(["int64", "uint64", "int8", "int32", "float64", "float32", "float16",
                                 "string", "large_string", "binary", "bool", "null", "dict",
                                 "list_float", "fsl_float", "large_list_float", "list_int",
                                 "list_string", "struct", "timestamp", "decimal"]))
    ints = st.one_of(st.sampled_from(INT_VALUES + [2**63, 2**64 - 1]), st.integers(-5, 30))
    floats = st.one_of(st.sampled_from([float("nan"), float("inf"), -float("inf"), -1.0, 0.5, 1e300,
                                        3.5e38, 2.0**53, 2.0**64, 1e-320]),
                       st.floats(allow_nan=True, allow_infinity=True))
    nulls = draw(st.booleans()) and draw(st.integers(0, 3)) == 0
    mask = [nulls and draw(st.booleans()) for _ in range(n)]

    def values(strategy):
        return [None if m else draw(strategy) for m in mask]

    try:
        if kind in ("int64", "int8", "int32"):
            lo, hi = {"int64": (-2**63, 2**63 - 1), "int8": (-128, 127), "int32": (-2**31, 2**31 - 1)}[kind]
            col = pa.array([None if v is None else min(hi, max(lo, v)) for v in values(ints)],
                           type=getattr(pa, kind)())
        elif kind == "uint64":
            col = pa.array([None if v is None else abs(v) % 2**64 for v in values(ints)], type=pa.uint64())
        elif kind in ("float64", "float32"):
            col = pa.array(values(floats), type=getattr(pa, kind)())
        elif kind == "float16":
            with np.errstate(all="ignore"):
                col = pa.array(np.array([draw(floats) for _ in range(n)], dtype=np.float16))
        elif kind in ("string", "large_string", "dict"):
            col = pa.array(values(st.text(max_size=6)), type=pa.large_string() if kind == "large_string"
                           else pa.string())
            if kind == "dict":
                col = col.dictionary_encode()
        elif kind == "binary":
            col = pa.array(values(st.binary(max_size=6)), type=pa.binary())
        elif kind == "bool":
            col = pa.array(values(st.booleans()), type=pa.bool_())
        elif kind == "null":
            col = pa.nulls(n)
        elif kind in ("list_float", "large_list_float", "list_int", "list_string"):
            inner = st.text(max_size=3) if kind == "list_string" else ints if kind == "list_int" else floats
            dim = draw(st.integers(0, 4))
            ragged = draw(st.booleans()) and draw(st.booleans())
            items = values(st.lists(st.one_of(inner, st.none()) if nulls else inner,
                                    min_size=0 if ragged else dim, max_size=4 if ragged else dim))
            typ = {"list_float": pa.list_(pa.float32()), "large_list_float": pa.large_list(pa.float64()),
                   "list_int": pa.list_(pa.int64()), "list_string": pa.list_(pa.string())}[kind]
            if kind == "list_int":
                items = [None if v is None else [None if x is None else min(2**63 - 1, max(-2**63, x))
                                                 for x in v] for v in items]
            col = pa.array(items, type=typ)
        elif kind == "fsl_float":
            dim = draw(st.integers(0, 4))
            flat = pa.array([draw(floats) for _ in range(n * dim)], type=pa.float32())
            col = pa.FixedSizeListArray.from_arrays(flat, dim)
        elif kind == "struct":
            col = pa.array([{"a": draw(ints) % 100, "b": draw(st.text(max_size=3))} for _ in range(n)])
        elif kind == "timestamp":
            col = pa.array([draw(st.integers(0, 2**40)) for _ in range(n)], type=pa.timestamp("s"))
        else:
            from decimal import Decimal

            col = pa.array([Decimal(draw(st.integers(-10**30, 10**30))) for _ in range(n)],
                           type=pa.decimal128(38, 0))
    except (pa.ArrowException, ValueError, TypeError, OverflowError):
        col = pa.array(list(range(n)), type=pa.int64())
    name = draw(st.one_of(st.sampled_from(names), st.text(max_size=5)))
    return name, col


def parquet_scratch(st, names, embedding=False):
    @st.composite
    def build(draw):
        import pyarrow as pa

        n = draw(st.integers(0, 6))
        columns = [_arrow_column(draw, st, n, names) for _ in range(draw(st.integers(0, 4)))]
        table = pa.Table.from_arrays([c for _, c in columns], names=[nm for nm, _ in columns]) \
            if columns else pa.table({})
        if embedding and draw(st.booleans()):
            meta = draw(st.one_of(st.binary(max_size=20), st.sampled_from(
                [b"[]", b"1", b'{"method": 3, "params": [1]}', b'{"params": "x"}', b'{"input": 5}',
                 b'{"method": "fastrp", "params": {"dim": 3}}', b"null", b"\xff"])))
            table = table.replace_schema_metadata({b"graphembed": meta})
        try:
            return _parquet_bytes(table, row_group_size=draw(st.sampled_from([None, 1, 2])),
                                  compression=draw(st.sampled_from(["snappy", "none", "zstd"])))
        except Exception:  # noqa: BLE001 - a table parquet cannot store
            return b"PAR1"
    return build()


def npz_scratch(st, embedding=False):
    """.npz archives: scipy sparse layouts with inconsistent arrays, or nodes/vectors/meta."""
    @st.composite
    def build(draw):
        import numpy as np

        small = st.one_of(st.sampled_from(INT_VALUES), st.integers(-3, 12))
        dtypes = st.sampled_from(["int32", "int64", "uint64", "int8", "float64", "float32", "bool",
                                  "complex64", "U3", "S2", "float16"])

        def arr(max_len=8, ndim=1):
            dtype = draw(dtypes)
            shape = tuple(draw(st.integers(0, max_len if ndim == 1 else 3)) for _ in range(ndim))
            flat = [draw(small) for _ in range(int(np.prod(shape)))] if shape else [draw(small)]
            try:
                with np.errstate(all="ignore"):
                    a = np.array(flat, dtype=object).astype(dtype) if "U" not in dtype and "S" not in dtype \
                        else np.array([str(v) for v in flat], dtype=dtype)
                return a.reshape(shape) if shape else a.reshape(())
            except (ValueError, OverflowError, TypeError):
                return np.zeros(shape, dtype=np.int64)

        arrays = {}
        if embedding:
            if draw(st.integers(0, 5)):
                arrays["nodes"] = arr(6, draw(st.sampled_from([1, 1, 1, 0, 2])))
            if draw(st.integers(0, 5)):
                arrays["vectors"] = arr(4, draw(st.sampled_from([2, 2, 2, 1, 3, 0])))
            if draw(st.booleans()):
                arrays["meta"] = np.array(draw(st.sampled_from(
                    ["{}", "[]", "1", "nope", '{"method": 1, "params": [2]}', '{"params": "ab"}',
                     '{"input": [1]}', '{"graphembed_version": {}}', "\x00", ""])))
        else:
            fmt = draw(st.sampled_from(["csr", "csc", "coo", "bsr", "dia", "lil", "dok", "xyz", "", "csr"]))
            arrays["format"] = np.array(fmt.encode() if draw(st.integers(0, 4)) else fmt)
            if draw(st.integers(0, 6)):
                shape_type = draw(st.sampled_from(["int64", "int32", "float64"]))
                try:
                    arrays["shape"] = arr(3) if draw(st.integers(0, 3)) == 0 else \
                        np.array([draw(small), draw(small)], dtype=shape_type)
                except OverflowError:
                    arrays["shape"] = np.array([2**31 - 1, 3], dtype=np.int32)
            for key in {"csr": ("indptr", "indices", "data"), "csc": ("indptr", "indices", "data"),
                        "bsr": ("indptr", "indices", "data"), "coo": ("row", "col", "data"),
                        "dia": ("offsets", "data")}.get(fmt, ("indptr", "indices", "data", "row", "col")):
                if draw(st.integers(0, 8)):
                    arrays[key] = arr(8, 3 if key == "data" and fmt == "bsr" else
                                      2 if key == "data" and fmt == "dia" else 1)
        return _npz_bytes(**arrays)
    return build()


def mat_scratch(st):
    @st.composite
    def build(draw):
        import numpy as np
        import scipy.io
        import scipy.sparse as sp

        def value():
            kind = draw(st.sampled_from(["dense", "sparse", "complex", "bool", "str", "cell", "struct",
                                         "int8", "empty", "3d", "uint64"]))
            n = draw(st.integers(0, 4))
            m = n if draw(st.integers(0, 3)) else draw(st.integers(0, 4))
            vals = st.one_of(st.sampled_from([float("nan"), float("inf"), -1.0, 1e300, 0.0, 1.0]),
                             st.floats(allow_nan=True, allow_infinity=True))
            grid = np.array([[draw(vals) for _ in range(m)] for _ in range(n)], dtype=np.float64).reshape(n, m)
            if kind == "sparse":
                return sp.csc_matrix(grid)
            if kind == "complex":
                return grid + 1j
            if kind == "bool":
                return grid > 0
            if kind == "str":
                return draw(st.text(max_size=5))
            if kind == "cell":
                cell = np.empty((1, 2), dtype=object)
                cell[0, 0], cell[0, 1] = grid, "x"
                return cell
            if kind == "struct":
                return {"a": grid, "b": 1}
            if kind == "int8":
                with np.errstate(all="ignore"):
                    return np.nan_to_num(grid).astype(np.int8)
            if kind == "empty":
                return np.zeros((0, 0))
            if kind == "3d":
                return np.zeros((2, 2, 2))
            if kind == "uint64":
                return np.full((n, n), 2**64 - 1, dtype=np.uint64)
            return grid

        data = {}
        for key in draw(st.lists(st.sampled_from(["network", "group", "other", "A"]), max_size=3, unique=True)):
            data[key] = value()
        bio = io.BytesIO()
        try:
            scipy.io.savemat(bio, data, format=draw(st.sampled_from(["5", "5", "4"])),
                             do_compression=draw(st.booleans()))
        except Exception:  # noqa: BLE001 - a value this format cannot hold
            bio = io.BytesIO()
            scipy.io.savemat(bio, {"network": np.eye(2)})
        return _fixed_mat_header(bio.getvalue())
    return build()


class Target:
    """A reader and how to make inputs for it. ``case``: dict(name, data, encode, kwargs, how)
    for one file; the index target uses dict(files={name: bytes}, kwargs, how) instead."""

    def __init__(self, name, work):
        self.name = name
        self.work = work

    # the input's path (a file, or the index directory) inside ``root``
    def path(self, root, case):
        return root / case["name"]

    def write(self, root, case):
        data = gzip.compress(case["data"], mtime=0) if case.get("encode") == "gzip" else case["data"]
        self.path(root, case).write_bytes(data)

    def call(self, path, kwargs):
        raise NotImplementedError


class EdgeTarget(Target):
    def call(self, path, kwargs):
        import graphembed as ge

        return ge.read_graph(path, **kwargs)


class EmbeddingTarget(Target):
    def call(self, path, kwargs):
        import graphembed as ge

        return ge.Embedding.load(path)


class IndexTarget(Target):
    def path(self, root, case):
        return root / "emb.index"

    def write(self, root, case):
        d = self.path(root, case)
        d.mkdir()
        for name, data in case["files"].items():
            (d / name).write_bytes(data)

    def call(self, path, kwargs):
        from graphembed.index import EmbeddingIndex

        return EmbeddingIndex.load(path, **kwargs)


def build_target(name, work):
    """(Target, hypothesis strategy of cases) for ``name``."""
    import numpy as np

    st, ops, field, text_file, raw = strategies()

    def mutated(seeds, names, kwargs_strategy, encode=None):
        @st.composite
        def build(draw):
            i = draw(st.integers(0, len(seeds) - 1))
            changes = draw(ops)
            return {"name": draw(st.sampled_from(names)), "data": apply_ops(seeds[i], changes, seeds),
                    "encode": encode, "kwargs": draw(kwargs_strategy),
                    "how": f"seed {i} mutated by {changes}"}
        return build()

    def scratch(strategy, names, kwargs_strategy, what, encode=None):
        return st.builds(lambda data, nm, kw: {"name": nm, "data": data[:MAX_INPUT], "encode": encode,
                                               "kwargs": kw, "how": what},
                         strategy, st.sampled_from(names), kwargs_strategy)

    edge_kwargs = st.fixed_dictionaries({}, optional={
        "weighted": st.sampled_from([True, False]), "directed": st.sampled_from([True, False]),
        "header": st.sampled_from([True, False])})
    graph_kwargs = st.fixed_dictionaries({}, optional={
        "weighted": st.sampled_from([True, False]), "directed": st.sampled_from([True, False])})
    none = st.just({})

    if name in ("edges-text", "edges-gz"):
        seeds = [b"1,2\n2,3\n3,1\n", b"source,target,weight\n1,2,0.5\n2,3,1.5\n3,1,2\n",
                 b"# comment\nalice\tbob\nbob\tcarol\n", b"1 2\n2  3\n% c\n3 4 \n",
                 b'"x,y",b\nb,"c""d"\n', b"\xef\xbb\xbfsrc;dst\r\n1;2\r\n", b"18446744073709551615 1 2.5\n1 2 1\n",
                 b"-3,4\n9223372036854775807,-9223372036854775808\n", "é,ü\n€,é\n".encode()]
        if name == "edges-text":
            names = ["edges.csv", "edges.tsv", "edges.txt", "edges.edges"]
            strategy = st.one_of(mutated(seeds, names, edge_kwargs), mutated(seeds, names, edge_kwargs),
                                 scratch(text_file, names, edge_kwargs, "text from scratch"),
                                 scratch(raw, names, edge_kwargs, "bytes from scratch"))
        else:
            names = ["edges.csv.gz", "edges.tsv.gz"]
            gz_seeds = [gzip.compress(s, mtime=0) for s in seeds]
            strategy = st.one_of(mutated(seeds, names, edge_kwargs, encode="gzip"),
                                 scratch(text_file, names, edge_kwargs, "text from scratch", encode="gzip"),
                                 mutated(gz_seeds, names, edge_kwargs),
                                 scratch(raw, names, edge_kwargs, "bytes from scratch"))
        return EdgeTarget(name, work), strategy

    if name == "edges-parquet":
        import pyarrow as pa

        tables = [pa.table({"source": [1, 2, 3], "target": [2, 3, 1]}),
                  pa.table({"src": ["a", "b"], "dst": ["b", "c"], "weight": [0.5, 2.0]}),
                  pa.table({"s": pa.array([2**63 + 1, 5], pa.uint64()), "t": pa.array([1, 2], pa.uint64())}),
                  pa.table({"s": [1.0, 2.0], "t": [3.0, 4.0], "w": pa.array([1, 2], pa.int32())}),
                  pa.table({"s": pa.array(["x", "y"]).dictionary_encode(), "t": ["y", "z"]})]
        seeds = [_parquet_bytes(t) for t in tables] + [_parquet_bytes(tables[0], compression="none")]
        names = ["edges.parquet"]
        strategy = st.one_of(mutated(seeds, names, edge_kwargs), mutated(seeds, names, edge_kwargs),
                             scratch(parquet_scratch(st, ["source", "target", "weight", "embedding", "a"]),
                                     names, edge_kwargs, "table from scratch"),
                             scratch(raw, names, edge_kwargs, "bytes from scratch"))
        return EdgeTarget(name, work), strategy

    if name == "edges-npz":
        import scipy.sparse as sp

        a = sp.csr_matrix(np.array([[0, 1, 2], [1, 0, 0], [2, 0, 0.5]]))
        seeds = []
        for m in (a, a.tocsc(), a.tocoo(), sp.bsr_matrix(a), a.todia(), sp.csr_matrix(np.array([[0, 1], [0, 0]]))):
            bio = io.BytesIO()
            sp.save_npz(bio, m, compressed=bool(len(seeds) % 2))
            seeds.append(bio.getvalue())
        names = ["graph.npz"]
        strategy = st.one_of(mutated(seeds, names, graph_kwargs),
                             scratch(npz_scratch(st), names, graph_kwargs, "npz from scratch"),
                             scratch(npz_scratch(st), names, graph_kwargs, "npz from scratch"),
                             scratch(raw, names, graph_kwargs, "bytes from scratch"))
        return EdgeTarget(name, work), strategy

    if name == "edges-mat":
        import scipy.io
        import scipy.sparse as sp

        a = np.array([[0, 1, 1], [1, 0, 0], [1, 0, 0]], dtype=np.float64)
        seeds = []
        for data, fmt, comp in (({"network": sp.csc_matrix(a), "group": sp.csc_matrix(np.eye(3))}, "5", False),
                                ({"network": a}, "5", True), ({"network": a}, "4", False),
                                ({"A": sp.csc_matrix(a)}, "5", False)):
            bio = io.BytesIO()
            scipy.io.savemat(bio, data, format=fmt, do_compression=comp)
            seeds.append(_fixed_mat_header(bio.getvalue()))
        names = ["graph.mat"]
        kwargs = st.fixed_dictionaries({}, optional={"weighted": st.sampled_from([True, False])})
        strategy = st.one_of(mutated(seeds, names, kwargs), mutated(seeds, names, kwargs),
                             scratch(mat_scratch(st), names, kwargs, "mat from scratch"),
                             scratch(raw, names, kwargs, "bytes from scratch"))
        return EdgeTarget(name, work), strategy

    if name == "edges-gml":
        seeds = [b'graph [\n  directed 0\n  node [ id 0 label "a" ]\n  node [ id 1 label "b" ]\n'
                 b'  edge [ source 0 target 1 weight 2.5 ]\n]\n',
                 b"graph [ directed 1 node [ id 1 ] node [ id 2 ] node [ id 3 ] "
                 b"edge [ source 1 target 2 ] edge [ source 2 target 3 weight -1 ] ]\n"]
        names = ["graph.gml"]
        gml_text = st.lists(st.one_of(st.sampled_from(["graph", "[", "]", "node", "edge", "id", "label",
                                                       "source", "target", "weight", "directed", '"x"',
                                                       "1", "0", "-1", "nan", "1e400", '"', "\n"]),
                                      field), max_size=40).map(lambda t: " ".join(t).encode())
        strategy = st.one_of(mutated(seeds, names, graph_kwargs), mutated(seeds, names, graph_kwargs),
                             scratch(gml_text, names, graph_kwargs, "gml from scratch"))
        return EdgeTarget(name, work), strategy

    if name.startswith("emb-"):
        fmt = name[4:]
        ext = {"parquet": [".parquet"], "csv": [".csv"], "tsv": [".tsv"], "npz": [".npz"],
               "w2v": [".w2v", ".txt", ".vec", ".emb"], "w2v-bin": [".bin"]}[fmt]
        seeds = _embedding_seed_files(ext[0], work)
        names = [f"emb{e}" for e in ext]
        parts = [mutated(seeds, names, none), mutated(seeds, names, none)]
        if fmt == "parquet":
            parts.append(scratch(parquet_scratch(st, ["node", "embedding", "0", "1"], embedding=True),
                                 names, none, "table from scratch"))
            import pyarrow as pa

            seeds.append(_parquet_bytes(pa.table({"node": [1, 2], "0": [0.5, 1.0], "1": [2.0, 3.0]})))
        elif fmt == "npz":
            parts.append(scratch(npz_scratch(st, embedding=True), names, none, "npz from scratch"))
        elif fmt in ("csv", "tsv"):
            sep = "," if fmt == "csv" else "\t"
            rows = st.lists(st.lists(field, min_size=1, max_size=4), max_size=6)
            parts.append(scratch(rows.map(lambda r: "\n".join(sep.join(x) for x in r).encode("utf-8", "surrogatepass")),
                                 names, none, "text from scratch"))
        elif fmt == "w2v":
            # huge counts and dimensions are rare: each one can cost an --input-timeout
            header = st.tuples(st.sampled_from(["0", "1", "2", "3", "-1", "1e3", "٣", "²"] * 3
                                               + ["10000000", "4294967297", "99999999999999999999"]),
                               st.sampled_from(["0", "1", "2", "3", "²", "-2"] * 4 + ["100000", "10000000", "1" * 20]))
            rows = st.lists(st.lists(field, min_size=1, max_size=4), max_size=5)
            parts.append(scratch(st.tuples(header, rows).map(
                lambda t: (" ".join(t[0]) + "\n" + "\n".join(" ".join(r) for r in t[1])).encode("utf-8", "surrogatepass")),
                names, none, "text from scratch"))
        elif fmt == "w2v-bin":
            header = st.tuples(st.sampled_from(["1", "2", "3", "0", "100000000", "-1"]),
                               st.sampled_from(["1", "3", "0", "1000000000", "-2"]))
            parts.append(scratch(st.tuples(header, st.binary(max_size=60)).map(
                lambda t: " ".join(t[0]).encode() + b"\n" + t[1]), names, none, "header + bytes from scratch"))
        parts.append(scratch(raw, names, none, "bytes from scratch"))
        return EmbeddingTarget(name, work), st.one_of(*parts)

    if name == "index":
        return IndexTarget(name, work), index_strategy(st, ops, work)
    raise SystemExit(f"unknown target {name!r}")


def _index_seeds(work):
    """{name: bytes} of small indexes: Flat/cosine with int ids, HNSW/l2 with string ids,
    IVF/ip with uint64 ids (when faiss builds them)."""
    import numpy as np

    import graphembed as ge
    from graphembed.index import build_and_save

    rng = np.random.default_rng(1)
    out = []
    specs = [("Flat", "cosine", np.arange(12, dtype=np.int64) * 5 - 7),
             ("HNSW8", "l2", np.array([f"n{i}" for i in range(30)], dtype=object)),
             ("IVF2,Flat", "ip", np.arange(40, dtype=np.uint64) + np.uint64(2**63)),
             ("IVF2,PQ2x4", "l2", np.arange(64, dtype=np.int64))]
    for factory, metric, ids in specs:
        emb = ge.Embedding(ids, rng.normal(size=(len(ids), 4)).astype(np.float32))
        d = work / f"seed-{len(out)}.index"
        try:
            build_and_save(emb, d, index=factory, metric=metric)
        except Exception as exc:  # noqa: BLE001
            print(f"index seed {factory}: {exc}", file=sys.stderr)
            continue
        files = {p.name: p.read_bytes() for p in d.iterdir()}
        meta = json.loads(files["index.json"])
        meta["build_seconds"] = 0.0  # the seeds do not change from run to run
        files["index.json"] = json.dumps(meta, indent=2).encode()
        out.append(files)
        shutil.rmtree(d)
    return out


def _json_paths(obj, prefix=()):
    yield prefix
    if isinstance(obj, dict):
        for k, v in obj.items():
            yield from _json_paths(v, prefix + (k,))
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            yield from _json_paths(v, prefix + (i,))


def index_strategy(st, ops, work):
    import hashlib

    seeds = _index_seeds(work)
    json_value = st.one_of(
        st.sampled_from([None, True, False, 0, -1, 1, 2, 2**31, 2**63, 2**64 + 1, -2**63 - 1, 10**400,
                         1.5, float("nan"), float("inf"), "", "x", "cosine", "l2", "ip", "graphembed-index",
                         "sha256:00", [], {}, [1, 2], {"index.faiss": 1}, {"a": "b"}, "é" * 300, "\x00"]),
        st.integers(), st.text(max_size=8), st.floats(allow_nan=True, allow_infinity=True))
    names = ["index.json", "index.faiss", "nodes.parquet"]

    def checksum(data):
        return "sha256:" + hashlib.sha256(data).hexdigest()

    @st.composite
    def build(draw):
        i = draw(st.integers(0, len(seeds) - 1))
        files = dict(seeds[i])
        meta = json.loads(files["index.json"])
        how = [f"index seed {i}"]
        for _ in range(draw(st.integers(1, 3))):
            action = draw(st.sampled_from(["bytes", "bytes", "bytes", "field", "field", "delete-key",
                                           "swap", "remove", "json-bytes"]))
            name = draw(st.sampled_from(names[1:] if action in ("bytes", "swap") else names))
            if action in ("bytes", "json-bytes") and name not in files or \
                    action == "json-bytes" and "index.json" not in files:
                continue  # removed by an earlier action
            if action == "bytes":
                changes = draw(ops)
                files[name] = apply_ops(files[name], changes, [s[name] for s in seeds])
                how.append(f"{name} mutated by {changes}")
            elif action == "swap":
                j = draw(st.integers(0, len(seeds) - 1))
                files[name] = seeds[j][name]
                how.append(f"{name} taken from index seed {j}")
            elif action == "remove":
                files.pop(name, None)
                how.append(f"{name} removed")
            elif action in ("field", "delete-key") and not meta:
                continue  # index.json is already raw bytes (or empty): nothing to edit
            elif action == "field":
                paths = list(_json_paths(meta))[1:]
                where = draw(st.sampled_from(paths))
                value = draw(json_value)
                parent = meta
                for k in where[:-1]:
                    parent = parent[k]
                parent[where[-1]] = value
                how.append(f"index.json {list(where)} = {value!r}"[:200])
            elif action == "delete-key":
                key = draw(st.sampled_from(sorted(meta)))
                meta.pop(key, None)
                how.append(f"index.json key {key!r} deleted")
            else:
                meta = None
                files["index.json"] = apply_ops(files["index.json"], draw(ops), [])
                how.append("index.json bytes mutated")
        if isinstance(meta, dict) and "index.json" in files:
            if draw(st.integers(0, 3)) and isinstance(meta.get("files"), dict):
                meta["files"] = {n: checksum(files[n]) for n in names[1:] if n in files}  # still verifies
                how.append("checksums fixed up")
            try:
                files["index.json"] = json.dumps(meta, indent=2).encode()
            except (ValueError, TypeError):
                pass
        kwargs = draw(st.fixed_dictionaries({}, optional={"verify": st.booleans(), "mmap": st.booleans()}))
        return {"files": files, "kwargs": kwargs, "how": "; ".join(how)}
    return build()


# ---------------------------------------------------------------------------- judging one input
def judge(target, path, kwargs, max_message):
    """(kind, exception type, message, problems): kind is returned, input_error, bad_message or other."""
    from graphembed.io.errors import InputError

    try:
        target.call(path, kwargs)
    except InputError as exc:
        msg = str(exc)
        problems = []
        if "\n" in msg or "\r" in msg:
            problems.append("multi-line")
        if str(path) not in msg:
            problems.append("no path")
        if len(msg.replace(str(path), "")) > max_message:
            problems.append(f"{len(msg)} characters")
        kind = "bad_message" if problems else "input_error"
        return kind, type(exc).__name__, msg, problems
    except BaseException as exc:  # noqa: BLE001 - any other exception is a finding
        import traceback

        frames = traceback.extract_tb(exc.__traceback__)
        where = "; ".join(f"{Path(f.filename).name}:{f.lineno} {f.name}" for f in frames[-3:])
        return "other", f"{type(exc).__module__}.{type(exc).__qualname__}", f"{exc} [at {where}]", []
    return "returned", None, None, []


def signature(target, kind, exc_type, msg, problems, path):
    """What makes two findings the same: the kind, the type, and the message with the path,
    quoted input and numbers blanked out."""
    text = (msg or "").replace(str(path), "<path>")
    text = re.sub(r"'[^']*'|\"[^\"]*\"", "'…'", text)
    text = re.sub(r"\d+", "N", text)
    text = " ".join(re.sub(r"\\x[0-9a-f]{2}|\\[nrt]", "", text).split())[:70]
    if kind == "bad_message":
        text = ",".join(p if not p[0].isdigit() else "long" for p in problems) + " | " + text
    return f"{target}|{kind}|{exc_type}|{text}"


# ---------------------------------------------------------------------------- the child
def child_fuzz(spec):
    import resource

    import numpy as np
    from hypothesis import HealthCheck, Phase, given, seed as hypothesis_seed, settings

    if spec["memory_mb"]:
        limit = spec["memory_mb"] << 20
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    work = Path(spec["work"])
    stats = np.memmap(spec["stats"], dtype=np.float64, mode="r+", shape=(len(SLOTS),))
    slot = {name: i for i, name in enumerate(SLOTS)}
    current = work / "current"
    out = Path(spec["out"]) / spec["target"]
    seen = {}
    target, strategy = build_target(spec["target"], work)
    deadline = spec["deadline"]
    max_message = spec["max_message"]

    def run_case(case):
        if current.exists():
            shutil.rmtree(current)
        current.mkdir()
        target.write(current, case)
        (work / "current.json").write_text(json.dumps(_case_note(case), default=repr))
        path = target.path(current, case)
        stats[slot["busy_since"]] = time.time()
        try:
            return judge(target, path, case["kwargs"], max_message), path
        finally:
            stats[slot["busy_since"]] = 0

    def record(case, verdict, path):
        kind, exc_type, msg, problems = verdict
        sig = signature(spec["target"], kind, exc_type, msg, problems, path)
        count = seen.get(sig, 0)
        seen[sig] = count + 1
        if count >= SAVED_PER_SIGNATURE:
            return
        out.mkdir(parents=True, exist_ok=True)
        stem = f"{kind}-{len(seen):03d}-{count}"
        saved = _save_case(out, stem, case, target)
        entry = {"target": spec["target"], "kind": kind, "type": exc_type, "message": msg,
                 "problems": problems, "signature": sig, "saved": saved, "how": case["how"],
                 "kwargs": case["kwargs"]}
        if count == 0 and "data" in case:
            stats[slot["shrinking"]] = 1
            small = shrink(case, lambda c: _same(run_case(c), kind, exc_type, problems))
            stats[slot["shrinking"]] = 0
            entry["minimal"] = _literal(small["data"])
            entry["minimal_encode"] = small.get("encode")
            (out / f"{stem}.min").write_bytes(small["data"])
            entry["minimal_message"] = run_case(small)[0][2]
        with open(out / "findings.jsonl", "a") as fh:
            fh.write(json.dumps(entry, default=repr) + "\n")

    if isinstance(target, EdgeTarget):  # warm up: numba compiles (or loads) the graph kernels
        (work / "warm.csv").write_bytes(b"1,2\n2,3\n")
        target.call(work / "warm.csv", {})

    @settings(max_examples=spec["batch"], deadline=None, database=None, phases=[Phase.generate],
              suppress_health_check=list(HealthCheck), report_multiple_bugs=False)
    @given(case=strategy)
    def fuzz(case):
        if time.time() > deadline:
            return
        verdict, path = run_case(case)
        stats[slot["tried"]] += 1
        stats[slot[verdict[0]]] += 1
        if verdict[0] in ("other", "bad_message"):
            record(case, verdict, path)

    rng = random.Random(spec["seed"])
    while time.time() < deadline:
        try:
            hypothesis_seed(rng.getrandbits(64))(fuzz)()
        except Exception:  # noqa: BLE001 - a strategy of this script failed, not a reader
            import traceback

            stats[slot["harness_errors"]] += 1
            print("harness error (not a finding):", traceback.format_exc()[-1500:], file=sys.stderr)
            if stats[slot["harness_errors"]] > 50:
                break
    stats[slot["done"]] = 1
    stats.flush()
    return {"signatures": seen}


def child_shrink_crash(spec):
    """Shrink the input of a signal or a hang: every trial runs in a forked process."""
    import resource

    if spec["memory_mb"]:
        limit = spec["memory_mb"] << 20
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    work = Path(spec["work"])
    target, _ = build_target(spec["target"], work)
    if isinstance(target, EdgeTarget):
        (work / "warm.csv").write_bytes(b"1,2\n2,3\n")
        target.call(work / "warm.csv", {})
    case = {"name": spec["name"], "encode": spec["encode"], "kwargs": spec["kwargs"],
            "data": Path(spec["data"]).read_bytes()}
    want, timeout = spec["kind"], spec["trial_timeout"]
    trials = {"n": 0}

    def keeps(c):
        trials["n"] += 1
        root = work / "trial"
        shutil.rmtree(root, ignore_errors=True)
        root.mkdir()
        target.write(root, c)
        pid = os.fork()
        if pid == 0:  # the trial
            try:
                judge(target, target.path(root, c), c["kwargs"], 300)
            finally:
                os._exit(0)
        t0 = time.time()
        while True:
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                break
            if time.time() - t0 > timeout:
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
                return want == "hang"
            time.sleep(0.005)
        return os.WIFSIGNALED(status) and want == f"signal {signal.Signals(os.WTERMSIG(status)).name}"

    if not keeps(case):
        return {"reproduced": False, "trials": trials["n"]}
    small = shrink(case, keeps, spec["seconds"])
    return {"reproduced": True, "trials": trials["n"], "minimal": _literal(small["data"]),
            "minimal_bytes": len(small["data"]), "encode": small.get("encode")}


def _same(result, kind, exc_type, problems):
    (k, t, _, p), _ = result
    return k == kind and t == exc_type and set(p) == set(problems)


def shrink(case, keeps, seconds=SHRINK_SECONDS):
    """Greedy delta debugging of ``case['data']``: drop chunks (halves down to single bytes)
    while ``keeps(case)`` holds; at most ``seconds``."""
    stop = time.time() + seconds
    data = case["data"]
    chunk = max(1, len(data) // 2)
    while chunk >= 1 and time.time() < stop:
        i, changed = 0, False
        while i < len(data) and time.time() < stop:
            trial = data[:i] + data[i + chunk:]
            if trial and keeps(dict(case, data=trial)):
                data, changed = trial, True
            else:
                i += chunk
        if not changed:
            chunk //= 2
    return dict(case, data=data)


def _case_note(case):
    note = {k: v for k, v in case.items() if k not in ("data", "files")}
    if "data" in case:
        note["data"] = _literal(case["data"], 2000)
    return note


def _save_case(out, stem, case, target):
    if "files" in case:
        d = out / stem
        d.mkdir(parents=True, exist_ok=True)
        for name, data in case["files"].items():
            (d / name).write_bytes(data)
        saved = d
    else:
        saved = out / f"{stem}-{case['name']}"
        target.write(saved.parent, dict(case, name=saved.name))
    (out / f"{stem}.json").write_text(json.dumps(_case_note(case), indent=1, default=repr))
    return str(saved)


# ---------------------------------------------------------------------------- the parent
def run_target(name, seconds, args, out):
    """Fuzz ``name`` for ``seconds`` in child processes; returns its row of counts."""
    import numpy as np

    t0 = time.time()
    end = t0 + seconds
    row = {"target": name, "tried": 0, "returned": 0, "input_error": 0, "other": 0, "bad_message": 0,
           "signals": 0, "hangs": 0, "children": 0, "harness_errors": 0, "crashes": []}
    restart = 0
    while time.time() < end - 1 or row["children"] == 0:
        work = Path(tempfile.mkdtemp(prefix=f"fuzz-{name}-"))
        stats_path = work / "stats.bin"
        stats = np.memmap(stats_path, dtype=np.float64, mode="w+", shape=(len(SLOTS),))
        stats[:] = 0
        stats.flush()
        spec = {"task": "fuzz", "target": name, "seed": args.seed * 1000 + TARGETS.index(name) * 37 + restart,
                "deadline": end, "work": str(work), "stats": str(stats_path), "out": str(out),
                "max_message": args.max_message, "memory_mb": args.memory_mb, "batch": 25}
        env = dict(os.environ, PYTHONHASHSEED="0", OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1",
                   MKL_NUM_THREADS="1", PYTHONFAULTHANDLER="1")
        env.setdefault("NUMBA_CACHE_DIR", str(ROOT / ".venv" / "numba-cache"))
        with open(work / "stderr.txt", "wb") as err:
            child = subprocess.Popen([sys.executable, str(Path(__file__).resolve()), "--child", json.dumps(spec)],
                                     stdout=subprocess.DEVNULL, stderr=err, env=env)
            row["children"] += 1
            hung = False
            while child.poll() is None:
                time.sleep(0.1)
                busy = float(stats[SLOTS.index("busy_since")])
                limit = args.input_timeout * (3 if stats[SLOTS.index("shrinking")] else 1)
                late = time.time() > end + args.input_timeout + SHRINK_SECONDS + 30  # startup or a stuck loop
                if (busy and time.time() - busy > limit) or late:
                    hung = True
                    child.send_signal(signal.SIGKILL)
                    child.wait()
        rc = child.returncode
        if stats[SLOTS.index("harness_errors")]:
            with open(_mkdir(out / name) / "harness-errors.txt", "a") as fh:
                fh.write((work / "stderr.txt").read_text(errors="replace")[-20000:])
        for key in ("tried", "returned", "input_error", "other", "bad_message", "harness_errors"):
            row[key] += int(stats[SLOTS.index(key)])
        if hung or rc != 0:
            kind = "hang" if hung else (f"signal {signal.Signals(-rc).name}" if rc < 0 else f"exit {rc}")
            row["hangs" if hung else "signals"] += 1
            crash = {"target": name, "kind": kind, "stderr": _tail(work / "stderr.txt")}
            if (work / "current.json").exists() and (work / "current").exists():
                dest = out / name / f"{'hang' if hung else 'signal'}-{len(row['crashes']):03d}"
                dest.mkdir(parents=True, exist_ok=True)
                shutil.copytree(work / "current", dest / "input", dirs_exist_ok=True)
                shutil.copy(work / "current.json", dest / "case.json")
                crash["saved"] = str(dest)
                crash["case"] = json.loads((work / "current.json").read_text())
            if "saved" in crash and "files" not in crash.get("case", {}) \
                    and kind not in {c["kind"] for c in row["crashes"]} and args.shrink_crashes > 0:
                crash.update(shrink_crash(name, crash, args, dest, env))
            row["crashes"].append(crash)
            with open(_mkdir(out / name) / "findings.jsonl", "a") as fh:
                fh.write(json.dumps(crash) + "\n")
        del stats
        shutil.rmtree(work, ignore_errors=True)
        restart += 1
        if rc == 0 and not hung:
            break
        if len(row["crashes"]) >= 20:
            break
    row["seconds"] = round(time.time() - t0, 1)
    return row


def shrink_crash(name, crash, args, dest, env):
    """Minimal input for a signal or a hang (forked trials in a fresh child); {} if it fails."""
    case = crash["case"]
    if case.get("name") is None:
        return {}
    data = (dest / "input" / case["name"]).read_bytes()
    if case.get("encode") == "gzip":
        data = gzip.decompress(data)
    raw = dest / "input.raw"
    raw.write_bytes(data)
    work = Path(tempfile.mkdtemp(prefix=f"fuzz-shrink-{name}-"))
    spec = {"task": "shrink-crash", "target": name, "work": str(work), "data": str(raw), "name": case["name"],
            "encode": case.get("encode"), "kwargs": case.get("kwargs", {}), "kind": crash["kind"],
            "memory_mb": args.memory_mb, "seconds": args.shrink_crashes,
            "trial_timeout": min(args.input_timeout, 3.0)}
    try:
        proc = subprocess.run([sys.executable, str(Path(__file__).resolve()), "--child", json.dumps(spec)],
                              capture_output=True, text=True, env=env,
                              timeout=args.shrink_crashes + 3 * args.input_timeout + 30)
        result = json.loads(proc.stdout.strip().splitlines()[-1])
    except (subprocess.TimeoutExpired, ValueError, IndexError):
        return {}
    finally:
        shutil.rmtree(work, ignore_errors=True)
    if not result.get("reproduced"):
        return {"reproduced": False}
    return {"minimal": result["minimal"], "minimal_encode": result["encode"],
            "shrink_trials": result["trials"]}


def _mkdir(path):
    path.mkdir(parents=True, exist_ok=True)
    return path


def _tail(path, lines=15):
    """The end of a child's stderr; for a crash, faulthandler's stack (without the module list)."""
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return ""
    start = text.rfind("Fatal Python error")
    keep = [ln for ln in (text[start:] if start >= 0 else text).splitlines()
            if not ln.startswith("Extension modules")]
    return "\n".join(keep[:lines] if start >= 0 else keep[-lines:])


def read_findings(out, targets):
    findings = []
    for name in targets:
        f = out / name / "findings.jsonl"
        if f.exists():
            findings += [json.loads(line) for line in f.read_text().splitlines() if line.strip()]
    return findings


def main():
    parser = benchmark_parser(__doc__)
    parser.add_argument("--seconds", type=float, default=120, help="total budget, split over the targets")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--target", choices=TARGETS, action="append",
                        help="fuzz only this target (repeatable); default: all")
    parser.add_argument("--out", default=str(DEFAULT_OUT), help="where failing inputs are saved")
    parser.add_argument("--input-timeout", type=float, default=5.0,
                        help="seconds one input may take before it counts as a hang")
    parser.add_argument("--memory-mb", type=int, default=4096,
                        help="address-space limit of the child (0: none); beyond it is a MemoryError")
    parser.add_argument("--shrink-crashes", type=float, default=10.0,
                        help="seconds to shrink the first input of each kind of crash (0: keep as found)")
    parser.add_argument("--max-message", type=int, default=300,
                        help="longest InputError message allowed, not counting the path")
    args = parser.parse_args()
    if serve_child(args, {"fuzz": child_fuzz, "shrink-crash": child_shrink_crash}):
        return 0
    targets = args.target or list(TARGETS)
    out = Path(args.out)
    before = {n: len(read_findings(out, [n])) for n in targets}
    share = args.seconds / len(targets)
    rows = []
    for name in targets:
        row = run_target(name, share, args, out)
        rows.append(row)
        print(f"{name}: {row['tried']} inputs, {row['other']} other, {row['bad_message']} bad messages, "
              f"{row['signals']} signals, {row['hangs']} hangs in {row['seconds']} s", file=sys.stderr, flush=True)
    lines = ["| target | inputs tried | returned value | InputError | other exceptions | bad messages "
             "| signals | hangs | seconds |", "|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['target']} | {r['tried']} | {r['returned']} | {r['input_error']} | {r['other']} | "
                     f"{r['bad_message']} | {r['signals']} | {r['hangs']} | {r['seconds']} |")
    table = "\n".join(lines)
    print(table)
    findings = [f for n in targets for f in read_findings(out, [n])[before[n]:]]
    distinct = {}
    for f in findings:
        key = f.get("signature") or f"{f['target']}|{f['kind']}|{(f.get('case') or {}).get('how', '')[:60]}"
        distinct.setdefault(key, f)
    if distinct:
        print(f"\n{len(distinct)} distinct findings (inputs under {out}):")
        for f in distinct.values():
            if "signature" in f:
                print(f"- {f['target']}: {f['kind']} {f['type']}: {f['message'][:240]!r}"
                      + (f" problems={f['problems']}" if f['problems'] else ""))
                if "minimal" in f:
                    print(f"    minimal input ({f.get('minimal_encode') or 'raw'}): {f['minimal']}"
                          f"  kwargs={f['kwargs']}")
            else:
                print(f"- {f['target']}: {f['kind']} ({f.get('saved')}): {(f.get('case') or {}).get('how', '')[:200]}")
                if "minimal" in f:
                    print(f"    minimal input ({f.get('minimal_encode') or 'raw'}): {f['minimal']}"
                          f"  kwargs={(f.get('case') or {}).get('kwargs')}")
    if any(r["harness_errors"] for r in rows):
        print("harness errors (this script's strategies failed; not findings): "
              + ", ".join(f"{r['target']} {r['harness_errors']}" for r in rows if r["harness_errors"]))
    found = sum(r["other"] + r["bad_message"] + r["signals"] + r["hangs"] for r in rows)
    write_json(args.json_out, {"seconds": args.seconds, "seed": args.seed, "rows": rows,
                               "findings": list(distinct.values())}, table)
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
