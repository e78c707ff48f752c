"""Run many CLI invocations in one process, exactly as the console script runs them.

``python driver.py RUNS.json RESULTS.jsonl``: RUNS is a list of ``{"id", "cwd", "argv"}``; for
each, the driver changes into ``cwd``, calls ``graphembed.cli.main.cli.main(argv)`` with stdout
and stderr captured, and appends ``{"id", "code", "stdout", "stderr"}`` to RESULTS as one line,
flushed, so a run that kills the process (a signal) is the one after the last line written.
"""
import contextlib
import io
import json
import os
import sys


def main(runs_path, results_path):
    from graphembed.cli.main import cli

    runs = json.loads(open(runs_path).read())
    with open(results_path, "w") as results:
        for run in runs:
            os.chdir(run["cwd"])
            out, err = io.StringIO(), io.StringIO()
            code = None
            with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
                try:
                    cli.main(run["argv"], prog_name="graphembed")
                except SystemExit as exc:
                    code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
                except BaseException as exc:  # anything that escapes main is a finding
                    code = "escaped"
                    err.write(f"Traceback (escaped main): {type(exc).__name__}: {exc}\n")
            results.write(json.dumps({"id": run["id"], "code": code, "stdout": out.getvalue(),
                                      "stderr": err.getvalue()}) + "\n")
            results.flush()


if __name__ == "__main__":
    os.environ.pop("GRAPHEMBED_DEBUG", None)
    main(sys.argv[1], sys.argv[2])
