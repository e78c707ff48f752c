"""The malformed-input corpus (tests/corpus/generate.py) through every command that reads it.

Bad input: exit 2, one line on stderr naming the file (or the option), no traceback, nothing
written and nothing removed. Awkward but valid input: the exact node and edge counts.
"""
import hashlib
import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

CORPUS = Path(__file__).parent / "corpus"


def _generator():
    spec = importlib.util.spec_from_file_location("corpus_generate", CORPUS / "generate.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _snapshot(directory):
    """relative path -> sha256 (files) or 'dir' for everything under ``directory``."""
    out = {}
    for dirpath, dirnames, filenames in os.walk(directory):
        for name in dirnames:
            out[os.path.relpath(os.path.join(dirpath, name), directory)] = "dir"
        for name in filenames:
            path = os.path.join(dirpath, name)
            with open(path, "rb") as fh:
                out[os.path.relpath(path, directory)] = hashlib.sha256(fh.read()).hexdigest()
    return out


@pytest.fixture(scope="module")
def corpus_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("corpus")
    cases = _generator().cases(root)
    runs = [{"id": f"{c.name}:{label}", "cwd": str(root / c.name), "argv": argv}
            for c in cases for label, argv in c.commands.items()]
    before = {c.name: _snapshot(root / c.name) for c in cases}
    runs_path, results_path = root / "_runs.json", root / "_results.jsonl"
    runs_path.write_text(json.dumps(runs))
    env = {k: v for k, v in os.environ.items() if k != "GRAPHEMBED_DEBUG"}
    proc = subprocess.run([sys.executable, str(CORPUS / "driver.py"), str(runs_path), str(results_path)],
                          capture_output=True, text=True, env=env, timeout=900)
    results = {}
    for line in results_path.read_text().splitlines():
        r = json.loads(line)
        results[r["id"]] = r
    after = {c.name: _snapshot(root / c.name) for c in cases}
    return dict(root=root, cases=cases, runs=runs, results=results, before=before, after=after, proc=proc)


def test_the_driver_ran_every_case_without_a_signal(corpus_run):
    done, runs, proc = corpus_run["results"], corpus_run["runs"], corpus_run["proc"]
    missing = [r["id"] for r in runs if r["id"] not in done]
    assert not missing, (f"the driver died (exit {proc.returncode}) at {missing[0]}; "
                         f"stderr: {proc.stderr[-2000:]}")
    assert proc.returncode == 0, proc.stderr[-2000:]


def test_the_corpus_is_large_enough(corpus_run):
    bad = [c for c in corpus_run["cases"] if c.kind == "bad"]
    assert len(bad) >= 60
    assert sum(len(c.commands) for c in bad) >= 400
    assert sum(c.kind == "valid" for c in corpus_run["cases"]) >= 15


def test_bad_input_is_one_line_exit_2_naming_the_file(corpus_run):
    problems = []
    for case in corpus_run["cases"]:
        if case.kind != "bad":
            continue
        for label in case.commands:
            r = corpus_run["results"].get(f"{case.name}:{label}")
            if r is None:
                continue  # reported by the driver test
            lines = r["stderr"].strip().splitlines()
            why = []
            if r["code"] != 2:
                why.append(f"exit {r['code']}")
            if "Traceback" in r["stderr"]:
                why.append("traceback")
            if len(lines) != 1:
                why.append(f"{len(lines)} lines")
            elif len(lines[0]) > 400:
                why.append(f"a line of {len(lines[0])} characters")
            elif case.names not in lines[0]:
                why.append(f"does not name {case.names!r}")
            if why:
                problems.append(f"{case.name} [{label}]: {', '.join(why)}: {r['stderr'].strip()[:300]!r}")
    assert not problems, "\n".join(problems)


def test_bad_input_leaves_nothing_behind_and_removes_nothing(corpus_run):
    problems = []
    for case in corpus_run["cases"]:
        if case.kind != "bad":
            continue
        before, after = corpus_run["before"][case.name], corpus_run["after"][case.name]
        added = sorted(set(after) - set(before))
        removed = sorted(set(before) - set(after))
        changed = sorted(k for k in set(before) & set(after) if before[k] != after[k])
        if added or removed or changed:
            problems.append(f"{case.name}: added {added}, removed {removed}, changed {changed}")
        for rel, data in case.keep.items():
            path = corpus_run["root"] / case.name / rel
            if not path.is_file() or path.read_bytes() != data:
                problems.append(f"{case.name}: {rel} was not kept intact")
    assert not problems, "\n".join(problems)


def test_awkward_valid_input_gives_exact_counts(corpus_run):
    problems = []
    for case in corpus_run["cases"]:
        if case.kind != "valid":
            continue
        r = corpus_run["results"].get(f"{case.name}:info")
        if r is None or r["code"] != 0:
            problems.append(f"{case.name}: exit {r and r['code']}: {r and r['stderr'].strip()[:300]!r}")
            continue
        summary = json.loads(r["stdout"])
        if (summary["nodes"], summary["edges"]) != (case.nodes, case.edges):
            problems.append(f"{case.name}: {summary['nodes']} nodes, {summary['edges']} edges; "
                            f"expected {case.nodes}, {case.edges}")
    assert not problems, "\n".join(problems)
