"""Edge-list reading: `graphembed.read_graph` against pandas + scipy (and networkx on a subset).

    python benchmarks/io.py [--quick] [--repeats 3] [--workdir DIR] [--no-networkx]

Generates (seeded, into a temporary directory unless ``--workdir``) a 10M-edge CSV over 1M
string ids ("user0000042") and one over 1M integer ids, with power-law-ish endpoints, then
times each reader in a fresh interpreter per run: wall time of the read (median of
``--repeats``) and the child's peak RSS. ``--quick`` uses 1M edges / 100k ids.

Targets (10M edges, 1M ids): string ids < 15 s, integer ids < 5 s, peak RSS < 1.5 GB.
"""
import argparse
import json
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

NX_EDGES = 1_000_000  # networkx reads at most this many edges (it is ~100x slower)


# ---------------------------------------------------------------------------- data

def _endpoints(rng, n, m):
    """m power-law-ish endpoints over n ids: a few hubs, a long tail, nearly every id used."""
    import numpy as np

    rank = (n * rng.random(m) ** 2.5).astype(np.int64)
    perm = rng.permutation(n)  # hubs are not simply the smallest ids
    return perm[np.minimum(rank, n - 1)]


def make_edge_files(workdir, m, n, seed=0):
    """Write ``str_{m}.csv`` and ``int_{m}.csv`` (no header, comma) unless already there."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.csv as pacsv

    workdir = Path(workdir)
    paths = {"str": workdir / f"str_{m}_{n}.csv", "int": workdir / f"int_{m}_{n}.csv"}
    if all(p.exists() for p in paths.values()):
        return paths
    rng = np.random.default_rng(seed)
    src = _endpoints(rng, n, m)
    dst = _endpoints(rng, n, m)
    options = pacsv.WriteOptions(include_header=False, quoting_style="none")
    for kind, path in paths.items():
        if kind == "int":
            # sparse integer ids (not 0..n-1), as real data usually has
            table = pa.table({"s": src * 7 + 1000, "t": dst * 7 + 1000})
        else:
            def label(a):
                digits = pc.utf8_lpad(pa.array(a).cast(pa.string()), 7, "0")
                return pc.binary_join_element_wise("user", digits, "")
            table = pa.table({"s": label(src), "t": label(dst)})
        tmp = path.with_suffix(".tmp")
        pacsv.write_csv(table, tmp, write_options=options)
        tmp.replace(path)
    return paths


def head_lines(src, dst, lines):
    if dst.exists():
        return dst
    with open(src, "rb") as fin, open(dst.with_suffix(".tmp"), "wb") as fout:
        for i, line in enumerate(fin):
            if i >= lines:
                break
            fout.write(line)
    dst.with_suffix(".tmp").replace(dst)
    return dst


# ---------------------------------------------------------------------------- readers (children)

def read_graphembed(path):
    import graphembed

    g = graphembed.read_graph(path)
    return g.n_nodes, g.nnz


def read_pandas(path):
    import numpy as np
    import pandas as pd
    import scipy.sparse as sp

    try:
        import pyarrow  # noqa: F401
        engine = "pyarrow"
    except ImportError:  # pragma: no cover
        engine = "c"
    df = pd.read_csv(path, header=None, names=["s", "t"], engine=engine)
    m = len(df)
    codes, uniques = pd.factorize(pd.concat([df["s"], df["t"]], ignore_index=True))
    del df
    n = len(uniques)
    rows = np.concatenate([codes[:m], codes[m:]])
    cols = np.concatenate([codes[m:], codes[:m]])
    del codes
    keep = rows != cols
    a = sp.coo_matrix((np.ones(int(keep.sum()), dtype=np.float32), (rows[keep], cols[keep])),
                      shape=(n, n)).tocsr()
    a.sum_duplicates()
    return n, a.nnz


def read_networkx(path):
    import networkx as nx

    g = nx.read_edgelist(path, delimiter=",", nodetype=str)
    g.remove_edges_from(nx.selfloop_edges(g))
    return g.number_of_nodes(), 2 * g.number_of_edges()


READERS = {"graphembed": read_graphembed, "pandas": read_pandas, "networkx": read_networkx}


def child(spec):
    reader = READERS[spec["reader"]]
    if spec["reader"] == "graphembed":
        import graphembed  # noqa: F401  (imports are not part of the read time)
        import graphembed.io.edges  # noqa: F401
    t0 = time.perf_counter()
    n, nnz = reader(spec["path"])
    seconds = time.perf_counter() - t0
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"seconds": seconds, "peak_mb": peak_kib / 1024, "nodes": n, "nnz": nnz}))


def measure(reader, path, repeats):
    runs = []
    for _ in range(repeats):
        proc = subprocess.run([sys.executable, __file__, "--child",
                               json.dumps({"reader": reader, "path": str(path)})],
                              capture_output=True, text=True)
        if proc.returncode != 0:
            raise RuntimeError(f"{reader} on {path} failed:\n{proc.stderr}")
        runs.append(json.loads(proc.stdout.strip().splitlines()[-1]))
    return {
        "seconds": statistics.median(r["seconds"] for r in runs),
        "all": [r["seconds"] for r in runs],
        "peak_mb": max(r["peak_mb"] for r in runs),
        "nodes": runs[-1]["nodes"],
        "nnz": runs[-1]["nnz"],
    }


# ---------------------------------------------------------------------------- main

def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1M edges / 100k ids")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--workdir", help="keep the generated files here (default: a temp dir)")
    parser.add_argument("--no-networkx", action="store_true")
    parser.add_argument("--only", choices=sorted(READERS), action="append",
                        help="measure only these readers (repeatable)")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        return child(json.loads(args.child))

    m, n = (1_000_000, 100_000) if args.quick else (10_000_000, 1_000_000)
    tmp = None
    if args.workdir:
        workdir = Path(args.workdir)
        workdir.mkdir(parents=True, exist_ok=True)
    else:
        tmp = tempfile.mkdtemp(prefix="graphembed-io-bench-")
        workdir = Path(tmp)
    try:
        t0 = time.perf_counter()
        files = make_edge_files(workdir, m, n)
        print(f"data: {m:,} edges over {n:,} ids per file in {workdir} "
              f"(generated in {time.perf_counter() - t0:.1f} s)", file=sys.stderr)
        readers = args.only or ["graphembed", "pandas"] + ([] if args.no_networkx else ["networkx"])
        rows = []
        for kind in ("str", "int"):
            for reader in readers:
                path, edges = files[kind], m
                if reader == "networkx" and m > NX_EDGES:
                    path, edges = head_lines(files[kind], workdir / f"{kind}_{NX_EDGES}_head.csv",
                                             NX_EDGES), NX_EDGES
                r = measure(reader, path, args.repeats)
                print(f"{reader} {kind}: {r}", file=sys.stderr)
                rows.append((kind, reader, edges, r))
        print(f"| ids | reader | edges | nodes | stored entries | wall (median of {args.repeats}) "
              f"| runs | peak RSS |")
        print("|---|---|---|---|---|---|---|---|")
        names = {"graphembed": "`graphembed.read_graph`",
                 "pandas": "pandas read_csv(pyarrow) + factorize + scipy coo->csr",
                 "networkx": "networkx read_edgelist"}
        for kind, reader, edges, r in rows:
            runs = ", ".join(f"{s:.2f}" for s in r["all"])
            print(f"| {kind} | {names[reader]} | {edges / 1e6:g}M | {r['nodes']:,} | {r['nnz']:,} "
                  f"| {r['seconds']:.2f} s | {runs} | {r['peak_mb']:.0f} MB |")
    finally:
        if tmp:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
