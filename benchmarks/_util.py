"""The harness every benchmark script shares: data paths, argparse, one child process per
measurement, JSON output, peak memory and timing.

Scripts run as ``python benchmarks/NAME.py``, so this directory is on ``sys.path`` and they
import ``_util`` (and the other ``_*.py`` modules) directly; no script imports another script.
"""
import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RAW = ROOT.parent / "shared" / "datasets" / "raw"  # real data, read in place


def benchmark_parser(doc, **kwargs):
    """An ``ArgumentParser`` with the options every benchmark has: ``--json-out`` and the hidden
    ``--child`` that :func:`run_child` passes."""
    kwargs.setdefault("description", doc.strip().splitlines()[0])
    parser = argparse.ArgumentParser(**kwargs)
    parser.add_argument("--json-out", help="also write the results as JSON here")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    return parser


def serve_child(args, children, key="task"):
    """When ``args.child`` is set, run ``children[spec[key]](spec)``, print its result and return
    True (the script then exits); otherwise return False."""
    if not args.child:
        return False
    spec = json.loads(args.child)
    child_result(children[spec.pop(key)](spec))
    return True


def write_json(path, results, table=None):
    """Write ``results`` (plus the printed ``table``) as indented JSON when ``path`` is set."""
    if path:
        if table is not None:
            results = dict(results, table=table)
        Path(path).write_text(json.dumps(results, indent=2, default=float))  # numpy scalars


def load_average(sep="/"):
    """The 1, 5 and 15 minute load averages as text, e.g. ``1.27/2.09/2.94``."""
    return sep.join(f"{x:.2f}" for x in os.getloadavg())


def reset_peak_rss():
    """Reset this process's peak RSS (Linux ``clear_refs``); False where that is not possible."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def _status_mb(field):
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(field):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


def current_rss_mb():
    """Resident set size now, in MiB (None off Linux)."""
    return _status_mb("VmRSS:")


def peak_rss_mb():
    """Peak resident set size of this process in MiB (since start or the last reset)."""
    peak = _status_mb("VmHWM:")
    if peak is not None:
        return peak
    kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux, bytes on macOS
    return kib / (1024 * 1024) if sys.platform == "darwin" else kib / 1024


def median_time(fn, repeats):
    """(median seconds, all seconds, last result) of ``repeats`` calls of ``fn()``."""
    times, result = [], None
    for _ in range(repeats):
        result = None  # drop the previous result so two never live at once
        t0 = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), times, result


def run_child(script, spec, timeout=None):
    """Run ``script --child JSON`` in a fresh interpreter; return the JSON dict it prints last.

    One process per measurement, so the peak memory each child reports is its own.
    """
    proc = subprocess.run([sys.executable, str(script), "--child", json.dumps(spec)],
                          capture_output=True, text=True, timeout=timeout,
                          env=dict(os.environ, PYTHONHASHSEED="0"))
    if proc.returncode != 0:
        raise RuntimeError(f"child {spec} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def child_result(result):
    """Print a child's result dict as its last stdout line."""
    print(json.dumps(result), flush=True)
