"""Kill test with the real CLI: SIGKILL ``graphembed fastrp -o`` and ``graphembed index build``
at random moments while they rewrite an existing output.

    python benchmarks/kill.py [--kills 20] [--seed 0] [--nodes 100000] [--json-out kill.json]

The graph is a generated Chung-Lu graph (``--nodes`` nodes, 10 edges each), so that writing the
output takes long enough for kills to land inside it.

Each kill lands at a uniform random moment of the command's measured run time. After every kill
the output path must open as a complete old or new output (the embedding file loads with its
shape; the index loads and verifies its checksums); after the last kill one more run must leave
no temporary file behind. Prints runs, outputs found old / new / broken / missing, and leftovers.
"""
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from _util import benchmark_parser, write_json

GRAPHEMBED = [sys.executable, "-m", "graphembed.cli.main"]


def _timed(args, cwd):
    t0 = time.perf_counter()
    subprocess.run(args, cwd=cwd, check=True, capture_output=True)
    return time.perf_counter() - t0


def _state(kind, path, versions):
    import graphembed as ge
    from graphembed.index import EmbeddingIndex

    if not path.exists():
        return "missing"
    try:
        if kind == "index":
            meta = EmbeddingIndex.load(path).meta
            return versions.get(meta["embedding"]["params"].get("dim"), "broken")
        emb = ge.Embedding.load(path)
        return versions.get(emb.dim, "broken")
    except Exception:  # noqa: BLE001 - any failure to open is a broken output
        return "broken"


def run(kind, kills, rng, work, nodes):
    from _graphs import chung_lu_edges

    graph = str(work / "edges.parquet")
    if not Path(graph).exists():
        import pyarrow as pa
        import pyarrow.parquet as pq

        src, dst = chung_lu_edges(nodes, 10 * nodes)
        pq.write_table(pa.table({"source": src, "target": dst}), graph)
    if kind == "fastrp":
        path = work / "emb.parquet"
        commands = [[*GRAPHEMBED, "fastrp", graph, "-o", str(path), "--dim", str(d), "-q"] for d in (64, 128)]
    else:
        for d in (64, 128):
            subprocess.run([*GRAPHEMBED, "fastrp", graph, "-o", str(work / f"e{d}.parquet"), "--dim", str(d),
                            "-q"], check=True)
        path = work / "emb.index"
        commands = [[*GRAPHEMBED, "index", "build", str(work / f"e{d}.parquet"), "-o", str(path), "-q",
                     "--index", "Flat"]
                    for d in (64, 128)]
    versions = {64: "old", 128: "new"}
    subprocess.run(commands[0], check=True, capture_output=True)
    duration = _timed(commands[1], work)
    subprocess.run(commands[0], check=True, capture_output=True)
    counts = {"runs": 0, "old": 0, "new": 0, "broken": 0, "missing": 0, "inside_write": 0}
    for _ in range(kills):
        child = subprocess.Popen(commands[1], cwd=work, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(float(rng.uniform(0, duration)))
        child.send_signal(signal.SIGKILL)
        child.wait()
        counts["runs"] += 1
        counts[_state(kind, path, versions)] += 1
        # a temporary left behind: this kill landed inside the write (the next run removes it)
        counts["inside_write"] += any(name.endswith(".tmp") for name in os.listdir(work))
    subprocess.run(commands[0], check=True, capture_output=True)
    counts["leftovers_after_next_run"] = sum(name.endswith(".tmp") for name in os.listdir(work))
    counts["run_seconds"] = round(duration, 2)
    return counts


def main():
    parser = benchmark_parser(__doc__)
    parser.add_argument("--kills", type=int, default=20)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--nodes", type=int, default=100_000,
                        help="nodes of the Chung-Lu graph embedded (10 edges per node)")
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    res = {}
    for kind in ("fastrp", "index"):
        with tempfile.TemporaryDirectory() as tmp:
            res[kind] = run(kind, args.kills, rng, Path(tmp), args.nodes)
    lines = ["| command | kills | old output | new output | broken | missing | kills inside the write "
             "| temps after the next run | run time |", "|---|---|---|---|---|---|---|---|---|"]
    for kind, c in res.items():
        lines.append(f"| {kind} | {c['runs']} | {c['old']} | {c['new']} | {c['broken']} | {c['missing']} | "
                     f"{c['inside_write']} | {c['leftovers_after_next_run']} | {c['run_seconds']} s |")
    table = "\n".join(lines)
    print(table)
    write_json(args.json_out, res, table)


if __name__ == "__main__":
    main()
