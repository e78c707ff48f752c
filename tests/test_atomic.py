"""Atomic outputs: nothing half-written, nothing deleted, stale temporaries cleaned, kill-safe."""
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

import graphembed as ge
from graphembed.io.atomic import atomic_path, check_writable, exchange, remove_stale_temps
from graphembed.io.errors import InputError

pytest.importorskip("faiss")
from graphembed.index import EmbeddingIndex  # noqa: E402

GRAPHEMBED = [sys.executable, "-m", "graphembed.cli.main"]


def _emb(n=40, dim=8, seed=0):
    rng = np.random.default_rng(seed)
    return ge.Embedding(np.arange(n), rng.standard_normal((n, dim)), "test", {"seed": seed})


def _temps(directory):
    return sorted(p.name for p in Path(directory).iterdir() if p.name.endswith(".tmp"))


def _cli(*args, cwd):
    return subprocess.run([*GRAPHEMBED, *map(str, args)], capture_output=True, text=True, cwd=cwd,
                          timeout=120)


# ---------------------------------------------------------------------------- files
def test_failed_write_leaves_old_file_and_no_temp(tmp_path):
    out = tmp_path / "out.txt"
    out.write_text("old")
    with pytest.raises(RuntimeError):
        with atomic_path(out) as tmp:
            tmp.write_text("half")
            raise RuntimeError("disk on fire")
    assert out.read_text() == "old"
    assert _temps(tmp_path) == []


def test_stale_temps_of_dead_processes_are_removed_only(tmp_path):
    from graphembed.io.atomic import _host

    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True).stdout.strip()
    names = [f".out.txt.{_host()}-{dead}.abc.tmp",        # a killed run of ours: removed
             f".out.txt.{_host()}-{os.getpid()}.def.tmp",  # a live writer (this process): kept
             f".out.txt.otherhost-{dead}.ghi.tmp",          # another host's: kept
             ".out.txt.user-file.tmp",                      # not our pattern: kept
             f".other.txt.{_host()}-{dead}.jkl.tmp"]        # another output's: kept
    for name in names:
        (tmp_path / name).write_text("x")
    (tmp_path / f".out.txt.{_host()}-{dead}.dir.tmp").mkdir()  # a killed directory write
    assert remove_stale_temps(tmp_path / "out.txt") == 2
    assert _temps(tmp_path) == sorted(names[1:])


def test_check_writable(tmp_path):
    with pytest.raises(InputError, match="does not exist"):
        check_writable(tmp_path / "missing" / "x.parquet")
    (tmp_path / "d").mkdir()
    with pytest.raises(InputError, match="is a directory"):
        check_writable(tmp_path / "d")
    (tmp_path / "f").write_text("x")
    with pytest.raises(InputError, match="not a directory"):
        check_writable(tmp_path / "f", directory=True)
    with pytest.raises(InputError, match="not a valid output path"):
        check_writable(".", directory=True)
    check_writable(tmp_path / "new.parquet")


def test_exchange_swaps_two_directories(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir()
    b.mkdir()
    (a / "from_a").write_text("a")
    (b / "from_b").write_text("b")
    if not exchange(a, b):
        pytest.skip("no renameat2(RENAME_EXCHANGE) on this file system")
    assert os.listdir(a) == ["from_b"] and os.listdir(b) == ["from_a"]


# ---------------------------------------------------------------------------- index directories
def test_index_build_never_deletes_a_users_directory(tmp_path):
    _emb().save(tmp_path / "e.parquet")
    cfg = tmp_path / "cfg"
    cfg.mkdir()
    (cfg / "index.json").write_text(json.dumps({"my": "settings"}))
    (cfg / "notes.txt").write_text("keep")
    for target in ("cfg", ".", str(tmp_path)):
        r = _cli("index", "build", "e.parquet", "-o", target, cwd=tmp_path)
        assert r.returncode == 2, r.stderr
        assert len(r.stderr.strip().splitlines()) == 1 and "Traceback" not in r.stderr
    assert sorted(os.listdir(cfg)) == ["index.json", "notes.txt"]
    assert json.loads((cfg / "index.json").read_text()) == {"my": "settings"}
    assert sorted(os.listdir(tmp_path)) == ["cfg", "e.parquet"]


def test_index_rebuild_replaces_an_index_and_an_empty_directory(tmp_path):
    path = tmp_path / "e.index"
    EmbeddingIndex.build(_emb(seed=0), index="Flat").save(path)
    first = EmbeddingIndex.load(path).meta["checksum"]
    EmbeddingIndex.build(_emb(seed=1), index="Flat").save(path)
    assert EmbeddingIndex.load(path).meta["checksum"] != first
    assert _temps(tmp_path) == []
    (tmp_path / "empty").mkdir()
    EmbeddingIndex.build(_emb(), index="Flat").save(tmp_path / "empty")
    assert len(EmbeddingIndex.load(tmp_path / "empty")) == 40


def test_damaged_index_is_refused_unless_not_verified(tmp_path):
    path = tmp_path / "e.index"
    EmbeddingIndex.build(_emb(), index="Flat").save(path)
    data = bytearray((path / "index.faiss").read_bytes())
    data[-20] ^= 0xFF  # a flipped bit in the vectors: faiss still loads it
    (path / "index.faiss").write_bytes(bytes(data))
    with pytest.raises(InputError, match="checksum mismatch"):
        EmbeddingIndex.load(path)
    assert len(EmbeddingIndex.load(path, verify=False)) == 40
    (path / "index.json").write_text("{not json")
    with pytest.raises(InputError, match="not valid JSON"):
        EmbeddingIndex.load(path)


@pytest.mark.parametrize("factory", ["HNSW0", "HNSW1", "IVF0,Flat", "PQ4x0", "PQ2x17"])
def test_factory_strings_faiss_aborts_on_are_refused(factory):
    with pytest.raises(InputError, match=factory.split(",")[0][:3]):
        EmbeddingIndex.build(_emb(), index=factory)


# ---------------------------------------------------------------------------- kill tests
KILL_CHILD = textwrap.dedent("""
    import sys, numpy as np
    import graphembed as ge
    from graphembed.index import EmbeddingIndex
    kind, path = sys.argv[1], sys.argv[2]
    rng = np.random.default_rng(0)
    embs = [ge.Embedding(np.arange(20000), rng.standard_normal((20000, 32)), "k", {"v": v})
            for v in (0, 1)]
    built = [EmbeddingIndex.build(e, index="Flat") for e in embs] if kind == "index" else None
    print("ready", flush=True)
    v = 0
    while True:  # rewrite the output until killed, alternating between two versions
        v ^= 1
        if kind == "index":
            built[v].save(path)
        else:
            embs[v].save(path)
""")


def _complete(kind, path, versions):
    """The version held at ``path`` (0 or 1), asserting the output is complete."""
    if kind == "index":
        idx = EmbeddingIndex.load(path)  # verifies both files against index.json
        assert len(idx) == 20000
        return versions.index(idx.meta["checksum"])
    emb = ge.Embedding.load(path)
    assert emb.vectors.shape == (20000, 32)
    return emb.params["v"]


@pytest.mark.parametrize("kind", ["index", "embedding"])
def test_sigkill_during_rewrites_leaves_old_or_new_output(tmp_path, kind):
    """SIGKILL a process that keeps rewriting an output at random moments: the path always
    holds one complete version, and the next write removes the killed runs' temporaries."""
    script = tmp_path / "child.py"
    script.write_text(KILL_CHILD)
    path = tmp_path / ("e.index" if kind == "index" else "e.parquet")
    rng = np.random.default_rng(0)
    versions = []
    if kind == "index":
        from graphembed.index.core import vectors_checksum

        versions = [vectors_checksum(np.random.default_rng(0).standard_normal((20000, 32)).astype(np.float32))]
        r2 = np.random.default_rng(0)
        r2.standard_normal((20000, 32))
        versions.append(vectors_checksum(r2.standard_normal((20000, 32)).astype(np.float32)))
    seen, interrupted = set(), 0
    for _ in range(20):
        child = subprocess.Popen([sys.executable, str(script), kind, str(path)],
                                 stdout=subprocess.PIPE, text=True)
        assert child.stdout.readline().strip() == "ready"
        time.sleep(float(rng.uniform(0.0, 0.4)))
        child.send_signal(signal.SIGKILL)
        child.wait()
        interrupted += bool(_temps(tmp_path))  # the kill landed inside a write
        if path.exists():
            seen.add(_complete(kind, path, versions))
    assert path.exists() and seen <= {0, 1}
    assert interrupted > 0  # the test did kill writes in progress
    _emb().save(tmp_path / "other.parquet")  # an unrelated write does not touch e.*'s temporaries
    if kind == "index":
        EmbeddingIndex.build(_emb(), index="Flat").save(path)
    else:
        _emb().save(path)
    assert _temps(tmp_path) == []
