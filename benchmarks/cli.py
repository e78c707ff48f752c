"""CLI start-up: `graphembed --help` wall time (median of N runs) and the heavy modules it loads.

    python benchmarks/cli.py [--runs 20]
Target: under 200 ms, with none of numba, scikit-learn, gensim, faiss, torch imported.
"""
import argparse
import shutil
import statistics
import subprocess
import sys
import time

HEAVY = ["numba", "sklearn", "gensim", "faiss", "torch", "numpy", "scipy", "pyarrow"]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    from pathlib import Path

    beside = Path(sys.executable).with_name("graphembed")  # the venv running this script
    exe = str(beside) if beside.exists() else shutil.which("graphembed")
    times = []
    for _ in range(args.runs):
        t0 = time.perf_counter()
        subprocess.run([exe, "--help"], check=True, capture_output=True)
        times.append(time.perf_counter() - t0)
    probe = ("import sys\nfrom graphembed.cli.main import cli\ntry:\n    cli(['--help'])\n"
             f"except SystemExit:\n    pass\nprint([m for m in {HEAVY!r} if m in sys.modules])")
    loaded = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True).stdout.splitlines()[-1]
    print("| what | median | min | max | heavy modules loaded |")
    print("|---|---|---|---|---|")
    print(f"| `graphembed --help` ({args.runs} runs) | {1000 * statistics.median(times):.0f} ms | "
          f"{1000 * min(times):.0f} ms | {1000 * max(times):.0f} ms | {loaded} |")


if __name__ == "__main__":
    main()
