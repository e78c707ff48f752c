"""FastRP on Dask: bit-identical to the local run, partitioned input and output, faults, imports.

One LocalCluster of 2 single-thread worker processes serves the module (as in CI)."""
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("dask")
distributed = pytest.importorskip("distributed")
pytest.importorskip("dask.dataframe")

import pyarrow as pa  # noqa: E402
import pyarrow.csv as pacsv  # noqa: E402
import pyarrow.parquet as pq  # noqa: E402

import graphembed as ge  # noqa: E402
from graphembed.distributed.graph import from_graph  # noqa: E402
from graphembed.io.errors import InputError  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
KARATE = str(ROOT / "datasets" / "karate.csv")


@pytest.fixture(scope="module")
def client():
    import dask

    # compile (or load) the kernels here first: the workers then load them from the numba cache
    # instead of compiling them twice more at once on a cold cache
    ge.FastRP(dim=8, random_state=0, node_self_influence=0.5).fit_transform(
        ge.Graph.from_edges([0, 1, 2], [1, 2, 0], [1.0, 2.0, 1.0]))
    ge.FastRP(dim=8, random_state=0, density=1.0).fit_transform(ge.Graph.from_edges([0, 1, 2], [1, 2, 0]))

    # a killed worker's peers give up on it after 5 s (Dask's default 30 s only slows the test)
    with dask.config.set({"distributed.comm.timeouts.connect": "5s"}):
        cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                           dashboard_address=":0", silence_logs=50)
        with distributed.Client(cluster) as c:
            c.wait_for_workers(2, timeout=60)
            yield c
        cluster.close()


def edges(n=300, m=1500, seed=0, strings=False, loops=False):
    rng = np.random.default_rng(seed)
    s, d = rng.integers(0, n, m), rng.integers(0, n, m)
    if not loops:
        d = np.where(s == d, (d + 1) % n, d)
    s, d = s * 7 + 3, d * 7 + 3  # ids that are not 0..n-1
    w = np.round(rng.random(m) * 5 + 0.1, 3)
    if strings:
        s, d = np.array([f"n{v}" for v in s], dtype=object), np.array([f"n{v}" for v in d], dtype=object)
    return s, d, w


CASES = [
    dict(seed=0, weighted=False, kw={}),
    dict(seed=1, weighted=True, kw={}),
    dict(seed=2, weighted=False, kw=dict(propagation="adjacency", node_self_influence=0.7,
                                          normalization_strength=-0.5)),
    dict(seed=3, weighted=True, kw=dict(propagation="adjacency", node_self_influence=1.0,
                                         normalization_strength=0.4, iteration_weights=(1.0, 0.5, 0.0, 2.0))),
    dict(seed=4, weighted=True, kw=dict(density=0.6, node_self_influence=0.3, normalization_strength=-0.9)),
    dict(seed=5, weighted=False, kw=dict(directed=True, density=1.0, iteration_weights=(0.5, 1.0))),
]


@pytest.mark.parametrize("case", CASES, ids=[f"seed{c['seed']}" for c in CASES])
def test_fastrp_is_bit_identical(client, case):
    kw = dict(case["kw"])
    directed = kw.pop("directed", False)
    s, d, w = edges(seed=case["seed"])
    g = ge.Graph.from_edges(s, d, w if case["weighted"] else None, directed=directed)
    local = ge.FastRP(dim=24, random_state=case["seed"], **kw).fit_transform(g)
    est = ge.FastRP(dim=24, random_state=case["seed"], **kw)
    remote = est.fit_transform(from_graph(g, client, n_blocks=5))
    assert np.array_equal(local.vectors, remote.vectors)
    assert np.array_equal(local.node_ids, remote.node_ids)
    assert remote.params == local.params
    assert np.array_equal(ge.FastRP(dim=24, random_state=case["seed"], **kw)
                          .fit_transform(g, scheduler=client).vectors, local.vectors)


def test_isolated_nodes_and_a_node_of_its_own_block(client):
    g = ge.Graph.from_edges([0, 1, 2, 3], [1, 2, 0, 0], nodes=np.arange(9))
    local = ge.FastRP(dim=8, random_state=0, node_self_influence=0.5).fit_transform(g)
    for blocks in (1, 9):
        remote = ge.FastRP(dim=8, random_state=0, node_self_influence=0.5).fit_transform(from_graph(g, client, blocks))
        assert np.array_equal(local.vectors, remote.vectors), blocks


def write_parts(tmp, s, d, w, n_parts=3, fmt="parquet"):
    """The edges as one file and as ``n_parts`` files of a directory (split in order)."""
    def table(sl):
        cols = {"source": pa.array(list(s[sl])), "target": pa.array(list(d[sl]))}
        if w is not None:
            cols["weight"] = pa.array(w[sl])
        return pa.table(cols)

    parts = tmp / "parts"
    parts.mkdir()
    cuts = np.linspace(0, len(s), n_parts + 1).astype(int)
    write = pq.write_table if fmt == "parquet" else pacsv.write_csv
    for i in range(n_parts):
        write(table(slice(cuts[i], cuts[i + 1])), str(parts / f"edges-{i}.{fmt}"))
    single = tmp / f"all.{fmt}"
    write(table(slice(None)), str(single))
    return single, parts


def same_graph(a, b):
    assert np.array_equal(a.node_ids, b.node_ids)
    assert a.node_ids.dtype == b.node_ids.dtype
    assert np.array_equal(a.indptr, b.indptr) and np.array_equal(a.indices, b.indices)
    assert (a.weights is None) == (b.weights is None)
    if a.weights is not None:
        assert np.array_equal(a.weights, b.weights)
    assert a.directed == b.directed
    for key in ("input_edges", "self_loops_dropped", "duplicates_merged"):
        assert a.stats[key] == b.stats[key], key


READS = [
    dict(strings=False, weighted=False, fmt="parquet", opts={}),
    dict(strings=True, weighted=True, fmt="parquet", opts=dict(duplicates="sum", self_loops=True)),
    dict(strings=False, weighted=True, fmt="parquet", opts=dict(directed=True, duplicates="max")),
    dict(strings=True, weighted=True, fmt="csv", opts=dict(weighted=True)),
]


@pytest.mark.parametrize("case", READS, ids=["int", "str-sum-loops", "directed-max", "csv"])
def test_partitioned_input_is_the_single_file_graph(client, tmp_path, case):
    s, d, w = edges(n=120, m=900, seed=11, strings=case["strings"], loops=True)  # duplicates and loops
    single, parts = write_parts(tmp_path, s, d, w if case["weighted"] else None, fmt=case["fmt"])
    opts = dict(case["opts"])
    if case["weighted"] and case["fmt"] == "parquet":
        opts["weight_col"] = "weight"
    local = ge.read_graph(single, **opts)
    pg = ge.read_graph(parts, partitions=4, scheduler=client, **opts)
    assert pg.n_blocks == 4 and pg.n_nodes == local.n_nodes and pg.n_edges == local.n_edges
    same_graph(local, pg.to_graph())
    same_graph(local, ge.read_graph(str(parts / "*"), partitions=2, scheduler=client, **opts).to_graph())
    assert np.array_equal(ge.FastRP(dim=16, random_state=3).fit_transform(local).vectors,
                          ge.FastRP(dim=16, random_state=3).fit_transform(pg).vectors)


def test_partitioned_input_errors(client, tmp_path):
    with pytest.raises(InputError, match="no edge files"):
        ge.read_graph(tmp_path, partitions=2, scheduler=client)
    (tmp_path / "bad.csv").write_text("1,2\n3\n")
    with pytest.raises(InputError, match="bad.csv"):
        ge.read_graph(tmp_path, partitions=2, scheduler=client)
    with pytest.raises(InputError, match="local"):
        ge.read_graph(tmp_path, partitions=2, scheduler="local:2")


def run_cli(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "graphembed.cli.main", *map(str, args)],
                          capture_output=True, text=True, cwd=cwd, timeout=300)


def check_parts(path, local):
    import dask.dataframe as dd
    import pandas as pd

    files = sorted(p.name for p in path.iterdir())
    assert files and all(f.startswith("part-") and f.endswith(".parquet") for f in files), files
    emb = ge.Embedding.load(path)
    assert np.array_equal(emb.vectors, local.vectors) and np.array_equal(emb.node_ids, local.node_ids)
    assert emb.method == "fastrp" and emb.params == local.params
    one = ge.Embedding.load(path / files[0])  # each part is a single-file embedding of its rows
    assert pq.read_schema(path / files[0]).names == ["node", "embedding"]
    assert np.array_equal(one.vectors, local.vectors[:len(one)])
    df = pd.read_parquet(path)
    assert np.array_equal(df["node"].to_numpy(), local.node_ids)
    assert np.array_equal(np.stack(df["embedding"].to_numpy()).astype(np.float32), local.vectors)
    ddf = dd.read_parquet(str(path)).compute()
    assert np.array_equal(np.stack(ddf["embedding"].to_numpy()).astype(np.float32), local.vectors)


def test_cli_local_cluster_writes_partitioned_output(tmp_path):
    proc = run_cli("fastrp", KARATE, "-o", "emb/", "--dim", "16", "--seed", "4", "--scheduler", "local:2",
                   cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "Parquet parts" in proc.stderr
    local = ge.FastRP(dim=16, random_state=4).fit_transform(ge.read_graph(KARATE))
    check_parts(tmp_path / "emb", local)


def invoke(*args):
    """The CLI in this process (a fresh interpreter per run would cost seconds each)."""
    from click.testing import CliRunner

    from graphembed.cli.main import cli

    result = CliRunner().invoke(cli, [str(a) for a in args])
    return subprocess.CompletedProcess(args, result.exit_code, result.stdout, result.stderr)


def test_cli_on_a_running_cluster(client, tmp_path):
    s, d, w = edges(n=200, m=1000, seed=5)
    single, parts = write_parts(tmp_path, s, d, w)
    address = client.scheduler.address
    proc = invoke("fastrp", parts, "-o", f"{tmp_path}/emb/", "--dim", "12", "--seed", "1", "--weight-col", "weight",
                   "--scheduler", address, "--json")
    assert proc.returncode == 0, proc.stderr
    local = ge.FastRP(dim=12, random_state=1).fit_transform(ge.read_graph(single, weight_col="weight"))
    check_parts(tmp_path / "emb", local)
    # rewriting the directory replaces it; one file gathers the blocks
    proc = invoke("fastrp", parts, "-o", f"{tmp_path}/emb/", "--dim", "12", "--seed", "1", "--weight-col", "weight",
                   "--scheduler", address)
    assert proc.returncode == 0, proc.stderr
    check_parts(tmp_path / "emb", local)
    proc = invoke("fastrp", single, "-o", tmp_path / "one.npz", "--dim", "12", "--seed", "1",
                   "--weight-col", "weight", "--scheduler", address)
    assert proc.returncode == 0, proc.stderr
    assert np.array_equal(ge.Embedding.load(tmp_path / "one.npz").vectors, local.vectors)
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temporaries left
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "notes.txt").write_text("keep me")
    proc = invoke("fastrp", single, "-o", f"{tmp_path}/other/", "--scheduler", address)
    assert proc.returncode == 2 and "other files" in proc.stderr
    assert (tmp_path / "other" / "notes.txt").read_text() == "keep me"
    proc = invoke("fastrp", single, "-o", f"{tmp_path}/emb2/")  # a directory output needs --scheduler
    assert proc.returncode == 2 and "--scheduler" in proc.stderr and not (tmp_path / "emb2").exists()


@pytest.mark.parametrize("value", ["bogus", "local:0", "http://x"])
def test_cli_bad_scheduler_is_one_line(tmp_path, value):
    proc = invoke("fastrp", KARATE, "-o", f"{tmp_path}/emb/", "--scheduler", value)
    assert proc.returncode == 2
    lines = proc.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("graphembed: error: ") and "--scheduler" in lines[0], lines
    assert not (tmp_path / "emb").exists()


def test_unreachable_scheduler_times_out(tmp_path, monkeypatch):
    monkeypatch.setenv("GRAPHEMBED_DASK_TIMEOUT", "2")
    t0 = time.perf_counter()
    proc = invoke("fastrp", KARATE, "-o", f"{tmp_path}/emb/", "--scheduler", "tcp://127.0.0.1:9")
    assert proc.returncode == 2 and time.perf_counter() - t0 < 60
    lines = proc.stderr.splitlines()
    assert len(lines) == 1 and "cannot connect" in lines[0], lines


def test_a_local_cluster_that_does_not_start_in_time_is_one_line(tmp_path):
    env = dict(os.environ, GRAPHEMBED_DASK_TIMEOUT="0.05")
    proc = subprocess.run([sys.executable, "-m", "graphembed.cli.main", "fastrp", KARATE, "-o", "emb/",
                           "--scheduler", "local:2"], capture_output=True, text=True, cwd=tmp_path, env=env,
                          timeout=120)
    assert proc.returncode == 2
    lines = proc.stderr.splitlines()
    assert len(lines) == 1 and "did not start within" in lines[0], lines
    assert not (tmp_path / "emb").exists()


def test_missing_dask_is_one_line(tmp_path):
    code = ("import sys\nsys.modules['dask'] = None\nsys.modules['distributed'] = None\n"
            "sys.argv = ['graphembed'] + sys.argv[1:]\nfrom graphembed.cli.main import cli\ncli()\n")
    proc = subprocess.run([sys.executable, "-c", code, "fastrp", KARATE, "-o", "emb/", "--scheduler", "local:2"],
                          capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.splitlines()
    assert len(lines) == 1 and "pip install 'graphembed[dask]'" in lines[0], lines
    code = ("import sys\nsys.modules['dask'] = None\nsys.modules['distributed'] = None\nimport graphembed as ge\n"
            f"g = ge.read_graph({KARATE!r})\n"
            "try:\n    ge.FastRP(dim=8).fit_transform(g, scheduler='local:2')\n"
            "except ImportError as e:\n    print('MSG', e)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert "MSG" in out.stdout and "pip install 'graphembed[dask]'" in out.stdout, out.stdout + out.stderr


def test_import_and_help_import_no_dask():
    code = ("import sys\nimport graphembed as ge\nge.FastRP; ge.read_graph; ge.Embedding\n"
            "from graphembed.cli.main import cli\n"
            "for args in (['--help'], ['fastrp', '--help']):\n"
            "    try:\n        cli(args)\n    except SystemExit:\n        pass\n"
            "print('LOADED', sorted(m for m in sys.modules if m.split('.')[0] in ('dask', 'distributed')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert "--scheduler" in out.stdout
    assert "LOADED []" in out.stdout, out.stdout[-500:]


def test_a_block_too_big_for_a_worker_names_it(client, monkeypatch):
    from graphembed.distributed import fastrp as dfastrp

    monkeypatch.setattr(dfastrp, "worker_memory", lambda c: 10_000)
    g = ge.read_graph(KARATE)
    with pytest.raises(InputError, match=r"row block 0 \(nodes 0-\d+.*needs about .* of memory"):
        ge.FastRP(dim=64).fit_transform(g, scheduler=client)


def test_a_killed_worker_changes_nothing(client):
    s, d, w = edges(n=20000, m=100000, seed=8)
    g = ge.Graph.from_edges(s, d, w)
    est = ge.FastRP(dim=48, random_state=2, iteration_weights=[1.0] * 6, density=0.3)
    local = est.fit_transform(g)
    pg = from_graph(g, client, n_blocks=6)
    result, errors = {}, []

    def job():
        try:
            result["emb"] = ge.FastRP(dim=48, random_state=2, iteration_weights=[1.0] * 6,
                                      density=0.3).fit_transform(pg)
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    thread = threading.Thread(target=job)
    thread.start()
    # wait until the job's step tasks are running, then kill the worker holding most of them
    deadline = time.time() + 60
    while time.time() < deadline:
        processing = client.processing()
        if any(any("_step" in str(k) for k in keys) for keys in processing.values()):
            break
        time.sleep(0.01)
    victim = max(client.has_what(), key=lambda a: len(client.has_what()[a]))
    was_running = thread.is_alive()
    client.restart_workers([victim], timeout=60)
    thread.join(120)
    assert not errors, errors
    assert was_running
    assert np.array_equal(result["emb"].vectors, local.vectors)
    client.wait_for_workers(2, timeout=60)


def test_embedding_load_of_a_directory_without_parts(tmp_path):
    with pytest.raises(InputError, match="without .parquet"):
        ge.Embedding.load(tmp_path)


def test_parts_beyond_int64_stay_integers(tmp_path):
    """A directory whose parts are int64 (ids below 2^63) and uint64 (beyond) reads as one
    uint64 id column, exactly, as the single file of the same ids does."""
    big = np.array([2**63, 2**64 - 1], dtype=np.uint64)
    small = np.array([1, 2], dtype=np.int64)
    parts = tmp_path / "emb"
    parts.mkdir()
    ge.Embedding(small, np.ones((2, 3), np.float32)).save(str(parts / "part-00000.parquet"))
    ge.Embedding(big, np.zeros((2, 3), np.float32)).save(str(parts / "part-00001.parquet"))
    loaded = ge.Embedding.load(str(parts))
    assert loaded.node_ids.dtype == np.uint64
    assert loaded.node_ids.tolist() == [1, 2, 2**63, 2**64 - 1]
