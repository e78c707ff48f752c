"""Every CLI failure is one line on stderr and exit code 2 (1 for internal errors), no traceback."""
import errno
import os
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import numpy as np
import pytest

import graphembed as ge

PYTHON = sys.executable
SCRIPT = Path(PYTHON).parent / "graphembed"  # the installed console script


def _run(args, cwd, env=None, code=None):
    prefix = [PYTHON, "-c", code] if code else [str(SCRIPT)] if SCRIPT.exists() \
        else [PYTHON, "-m", "graphembed.cli.main"]
    full_env = dict(os.environ, **(env or {}))
    full_env.pop("GRAPHEMBED_DEBUG", None)
    if env and "GRAPHEMBED_DEBUG" in env:
        full_env["GRAPHEMBED_DEBUG"] = env["GRAPHEMBED_DEBUG"]
    return subprocess.run([*prefix, *map(str, args)], capture_output=True, text=True, cwd=cwd,
                          env=full_env, timeout=300)


def _one_error_line(r, code=2):
    lines = r.stderr.strip().splitlines()
    assert r.returncode == code, (r.returncode, r.stderr)
    assert len(lines) == 1, r.stderr
    assert "Traceback" not in r.stderr
    return lines[0]


@pytest.fixture()
def edges(tmp_path):
    path = tmp_path / "edges.csv"
    path.write_text("0,1\n1,2\n2,0\n2,3\n")
    return path


@pytest.mark.parametrize("args, fragment", [
    (["fastrp"], "Missing argument 'INPUT'"),
    (["fastrp", "edges.csv", "-o", "e.parquet", "--dim", "abc"], "'--dim'"),
    (["no-such-command"], "No such command"),
    (["index", "query"], "Missing argument 'INDEX'"),
    (["fastrp", "edges.csv", "-o", "e.parquet", "--no-such-option"], "--no-such-option"),
])
def test_usage_errors_are_one_line(tmp_path, edges, args, fragment):
    line = _one_error_line(_run(args, tmp_path))
    assert fragment in line and "error:" in line


def test_help_and_version_still_work(tmp_path):
    r = _run(["fastrp", "--help"], tmp_path)
    assert r.returncode == 0 and "Usage:" in r.stdout
    r = _run(["--version"], tmp_path)
    assert r.returncode == 0 and ge.__version__ in r.stdout


def test_outputs_checked_before_any_work(tmp_path, edges):
    line = _one_error_line(_run(["fastrp", "edges.csv", "-o", "e.parquet", "--index", "nodir/x"], tmp_path))
    assert "nodir" in line
    assert not (tmp_path / "e.parquet").exists()  # nothing written before the failure
    line = _one_error_line(_run(["fastrp", "edges.csv", "-o", "missing/e.parquet"], tmp_path))
    assert "missing" in line


def test_missing_optional_extra_names_the_extra(tmp_path, edges):
    # gensim made unimportable in the child: node2vec must say which extra to install
    code = ("import sys; sys.modules['gensim'] = None; sys.argv[0] = 'graphembed'; "
            "from graphembed.cli.main import cli; cli()")
    r = _run(["node2vec", "edges.csv", "-o", "e.parquet", "--walk-length", "5"], tmp_path, code=code)
    line = _one_error_line(r)
    assert "graphembed[gensim]" in line


def test_corrupt_gzip_is_one_line(tmp_path):
    import gzip

    data = gzip.compress(b"".join(b"%d %d\n" % (i, i + 1) for i in range(5000)))
    bad = bytearray(data)
    bad[len(bad) // 2] ^= 0xFF
    (tmp_path / "bad.csv.gz").write_bytes(bytes(bad))
    (tmp_path / "cut.csv.gz").write_bytes(data[: len(data) // 2])
    for name in ("bad.csv.gz", "cut.csv.gz"):
        line = _one_error_line(_run(["info", name], tmp_path))
        assert name in line


def test_internal_errors_are_one_line_and_debug_shows_the_traceback(tmp_path):
    code = ("import sys; sys.argv[0] = 'graphembed'; import graphembed.cli.info as m; "
            "m.info.callback = lambda **kw: 1 / 0; from graphembed.cli.main import cli; cli()")
    line = _one_error_line(_run(["info", "x.csv"], tmp_path, code=code), code=1)
    assert "internal error: ZeroDivisionError" in line and "GRAPHEMBED_DEBUG" in line
    r = _run(["info", "x.csv"], tmp_path, code=code, env={"GRAPHEMBED_DEBUG": "1"})
    assert r.returncode == 1 and "Traceback" in r.stderr


def test_warnings_are_one_line_and_quiet_silences_them(tmp_path, edges):
    code = ("import sys, warnings; sys.argv[0] = 'graphembed'; import graphembed.cli.info as m; "
            "orig = m.info.callback\n"
            "def cb(**kw):\n    warnings.warn('something odd\\nsecond line'); return orig(**kw)\n"
            "m.info.callback = cb; from graphembed.cli.main import cli; cli()")
    r = _run(["info", "edges.csv"], tmp_path, code=code)
    assert r.returncode == 0
    warning = [ln for ln in r.stderr.splitlines() if "warning" in ln]
    assert warning == ["graphembed: warning: something odd second line"]


def _mount_tmpfs(path, size="256k"):
    if os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("a small tmpfs needs root")
    path.mkdir()
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)],
                       capture_output=True, text=True)
    if r.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {r.stderr.strip()}")


def test_full_disk_is_one_line_and_leaves_nothing(tmp_path):
    """ENOSPC while writing: one line naming the path, exit 2, old output kept, no temp file."""
    disk = tmp_path / f"disk-{uuid.uuid4().hex[:6]}"
    _mount_tmpfs(disk)
    try:
        n = 3000
        rng = np.random.default_rng(0)
        src = rng.integers(0, n, 6 * n)
        dst = rng.integers(0, n, 6 * n)
        edges = tmp_path / "big.csv"
        edges.write_text("".join(f"{a},{b}\n" for a, b in zip(src, dst)))
        (disk / "emb.csv").write_text("old\n")
        r = _run([edges, "-o", disk / "emb.csv", "--dim", "64"], tmp_path,
                 code="import sys; sys.argv[0]='graphembed'; from graphembed.cli.main import cli; "
                      "cli(['fastrp'] + sys.argv[1:])")
        line = _one_error_line(r)
        assert os.strerror(errno.ENOSPC) in line and "emb.csv" in line
        assert sorted(os.listdir(disk)) == ["emb.csv"]
        assert (disk / "emb.csv").read_text() == "old\n"
    finally:
        subprocess.run(["umount", str(disk)], capture_output=True)


def test_bounded_messages(tmp_path):
    long_line = "x" * 3_000_000
    (tmp_path / "long.csv").write_text(f"0,1\n{long_line}\n")
    line = _one_error_line(_run(["info", "long.csv"], tmp_path))
    assert "long.csv" in line and len(line) < 600


def test_one_line_helper():
    from graphembed.cli.common import one_line

    assert one_line("a\n b\t c") == "a b c"
    cut = one_line("y" * 1000)
    assert len(cut) == 500 and cut.endswith("...")


def test_a_cold_numba_cache_is_announced(tmp_path):
    """not_compiled sees a kernel missing from (or stale in) numba's cache, and no longer after
    one call compiles and caches it."""
    code = ("import numpy as np\n"
            "from graphembed._kernels import not_compiled\n"
            "from graphembed._kernels.rng import mix64\n"
            "before = not_compiled(['rng.mix64'])\n"
            "mix64(np.uint64(3))\n"
            "print(before, not_compiled(['rng.mix64']), not_compiled(['spmm.propagate_accumulate']))\n")
    env = dict(os.environ, NUMBA_CACHE_DIR=str(tmp_path / "cache"))
    r = subprocess.run([PYTHON, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert r.stdout.split() == ["True", "False", "True"], r.stderr
