"""A missing optional extra: one line naming the extra, exit 2, before any input is read or any
work done, never a traceback. Each command runs in a child interpreter where the extra's modules
are blocked (``sys.modules[name] = None`` makes ``import name`` fail), as on a plain install."""
import re
import shlex
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

import graphembed as ge
from graphembed.cli.common import EXTRAS
from graphembed.datasets import karate_path

ROOT = Path(__file__).resolve().parent.parent
BLOCK = ("import sys\n"
         "for name in sys.argv[1].split(','): sys.modules[name] = None\n"
         "sys.argv = ['graphembed'] + sys.argv[2:]\n"
         "from graphembed.cli.main import cli\n"
         "cli()\n")
KARATE = str(karate_path())
LABELS = str(ROOT / "datasets" / "karate_labels.csv")

# (label, blocked modules, args, files the command would write); "emb.parquet" and "emb.index"
# exist in the working folder, so that the only thing missing is the extra.
CASES = [
    ("node2vec", "gensim", ["node2vec", KARATE, "-o", "out.parquet", "--walk-length", "5"], ["out.parquet"]),
    ("deepwalk", "gensim", ["deepwalk", KARATE, "-o", "out.w2v"], ["out.w2v"]),
    ("fastrp --index", "faiss", ["fastrp", KARATE, "-o", "out.parquet", "--index", "out.index"],
     ["out.parquet", "out.index"]),
    ("node2vec --index", "faiss", ["node2vec", KARATE, "-o", "out.parquet", "--index", "out.index"],
     ["out.parquet", "out.index"]),
    ("fastrp -o .bin", "gensim", ["fastrp", KARATE, "-o", "out.bin"], ["out.bin"]),  # binary word2vec
    ("index build", "faiss", ["index", "build", "emb.parquet", "-o", "out.index"], ["out.index"]),
    ("index query", "faiss", ["index", "query", "emb.index", "--node", "1", "-o", "out.csv"], ["out.csv"]),
    ("index info", "faiss", ["index", "info", "emb.index", "--json"], []),
    ("serve fastapi", "fastapi", ["serve", "emb.index", "--check"], []),
    ("serve uvicorn", "uvicorn", ["serve", "emb.index", "--check"], []),
    ("serve faiss", "faiss", ["serve", "emb.index", "--check"], []),
    ("cluster kmeans", "faiss", ["cluster", "emb.parquet", "--k", "2", "-o", "out.csv"], ["out.csv"]),
    ("cluster leiden", "leidenalg", ["cluster", "emb.parquet", "--method", "leiden", "-o", "out.csv"],
     ["out.csv"]),
    ("cluster leiden igraph", "igraph", ["cluster", "emb.parquet", "--method", "leiden", "-o", "out.csv"],
     ["out.csv"]),
    ("cluster leiden faiss", "faiss", ["cluster", "emb.parquet", "--method", "leiden", "-o", "out.csv"],
     ["out.csv"]),
    ("plot", "matplotlib", ["plot", "emb.parquet", "--labels", LABELS, "-o", "out.png"], ["out.png"]),
    ("bench paper", "gensim", ["bench", "paper", "--data", ".", "--methods", "node2vec", "--json-out",
                               "out.json"], ["out.json"]),
]
# The same commands with their input missing: the extra is still what they report, so it is
# checked before the input is read.
MISSING_INPUT = [
    ("node2vec", "gensim", ["node2vec", "missing.csv", "-o", "out.parquet"]),
    ("fastrp --index", "faiss", ["fastrp", "missing.csv", "-o", "out.parquet", "--index", "out.index"]),
    ("index build", "faiss", ["index", "build", "missing.parquet", "-o", "out.index"]),
    ("index query", "faiss", ["index", "query", "missing.index", "--node", "1"]),
    ("index info", "faiss", ["index", "info", "missing.index"]),
    ("serve", "fastapi", ["serve", "missing.index", "--check", "--token-file", "missing.token"]),
    ("cluster", "faiss", ["cluster", "missing.parquet", "--k", "2"]),
    ("cluster leiden", "leidenalg", ["cluster", "missing.parquet", "--method", "leiden"]),
    ("plot", "matplotlib", ["plot", "missing.parquet", "-o", "out.png"]),
    ("bench paper", "gensim", ["bench", "paper", "--data", "missing-folder"]),
]


def run_blocked(blocked, args, cwd):
    return subprocess.run([sys.executable, "-c", BLOCK, blocked, *args], cwd=cwd, capture_output=True,
                          text=True, timeout=120)


def run_all(jobs):
    """Run (key, blocked, args, cwd) jobs in parallel; {key: CompletedProcess}."""
    with ThreadPoolExecutor(max_workers=8) as pool:
        futures = {key: pool.submit(run_blocked, blocked, args, cwd) for key, blocked, args, cwd in jobs}
        return {key: future.result() for key, future in futures.items()}


def write_inputs(folder):
    """An embedding and its index (built here, where faiss is importable) in ``folder``."""
    rng = np.random.default_rng(0)
    emb = ge.Embedding(np.arange(34), rng.standard_normal((34, 8)).astype(np.float32), method="test")
    emb.save(str(folder / "emb.parquet"))
    emb.save(str(folder / "tasks_emb.parquet"))
    emb.save(str(folder / "karate_emb.parquet"))
    (folder / "clusters.csv").write_text("node,cluster\n" + "".join(f"{i},{i % 2}\n" for i in range(34)))
    try:
        from graphembed.index import EmbeddingIndex

        for name in ("emb.index", "karate.index"):
            EmbeddingIndex.build(emb).save(str(folder / name))
    except ImportError:  # without faiss here, the commands find no index (and still name the extra)
        pass


def check_one_line(proc, blocked):
    assert "Traceback" not in proc.stderr, proc.stderr
    assert proc.returncode == 2, (proc.returncode, proc.stderr)
    lines = proc.stderr.splitlines()
    assert len(lines) == 1, lines
    extras = {EXTRAS[m] for m in blocked.split(",") if m in EXTRAS}
    named = re.search(r"pip install 'graphembed\[([\w,-]+)\]'", lines[0])
    assert lines[0].startswith("graphembed: error: ") and named, lines[0]
    assert named.group(1) in extras, (lines[0], extras)
    return lines[0]


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    jobs = []
    for label, blocked, args, _ in CASES:
        cwd = tmp_path_factory.mktemp("extras")
        write_inputs(cwd)
        jobs.append((("case", label), blocked, args, cwd))
    empty = tmp_path_factory.mktemp("missing_input")
    jobs += [(("missing", label), blocked, args, empty) for label, blocked, args in MISSING_INPUT]
    return {key: (proc, cwd) for (key, _, _, cwd), proc in zip(jobs, run_all(jobs).values())}


@pytest.mark.parametrize("label, blocked, args, outputs", CASES, ids=[c[0] for c in CASES])
def test_missing_extra_is_one_line_before_any_work(results, label, blocked, args, outputs):
    proc, cwd = results[("case", label)]
    line = check_one_line(proc, blocked)
    assert f" needs {blocked}: " in line, line
    command = " ".join(a for a in args[:2] if not a.startswith(("/", "-")) and "." not in a)
    assert line.startswith(f"graphembed: error: {command}"), line
    assert proc.stdout == ""
    for name in outputs:
        assert not (cwd / name).exists(), f"{name} was written"
    leftovers = sorted(p.name for p in cwd.iterdir() if p.name.startswith(".") or p.name.startswith("out"))
    assert leftovers == [], leftovers  # no temporary files either


@pytest.mark.parametrize("label, blocked, args", MISSING_INPUT, ids=[c[0] for c in MISSING_INPUT])
def test_missing_extra_is_reported_before_reading_the_input(results, label, blocked, args):
    proc, _ = results[("missing", label)]
    line = check_one_line(proc, blocked)
    assert f" needs {blocked}: " in line, line


def test_the_message_reads_as_documented(results):
    proc, _ = results[("case", "node2vec")]
    assert proc.stderr.strip() == "graphembed: error: node2vec needs gensim: pip install 'graphembed[gensim]'"


# ---------------------------------------------------------------------------- cli.md examples
def cli_examples():
    text = (ROOT / "cli.md").read_text()
    blocks = re.findall(r"```\n(.*?)```", text, flags=re.S)
    return [line for block in blocks for line in block.splitlines() if line.startswith("graphembed ")]


def needed_modules(args):
    """The optional modules a cli.md example needs (empty: it needs no extra)."""
    command, sub = args[0], (args[1] if len(args) > 1 else "")
    value = {a: b for a, b in zip(args, args[1:])}
    needs = []
    if command in ("node2vec", "deepwalk") or any(a.endswith(".bin") or a == "w2v-binary" for a in args):
        needs.append("gensim")
    if command == "index" or "--index" in args and command not in ("index",):
        needs.append("faiss")
    if command == "serve":
        needs += ["fastapi", "uvicorn", "faiss"]
    if command == "cluster":
        needs += (["leidenalg", "igraph"] if value.get("--method") == "leiden" else []) + ["faiss"]
    if command == "plot":
        needs.append("matplotlib")
    if command == "linkpred":
        if sub == "predict":
            needs.append("faiss")
        if value.get("--method") in ("node2vec", "deepwalk"):
            needs.append("gensim")
        if "--plot" in args:
            needs.append("matplotlib")
    if command == "bench" and sub == "paper":
        methods = value.get("--methods", "deepwalk,node2vec")
        if {"deepwalk", "node2vec"} & set(methods.split(",")):
            needs.append("gensim")
    return sorted(set(needs))


EXAMPLES = [(line, needed_modules(shlex.split(line)[1:])) for line in cli_examples()]
NEEDING = [(line, mods) for line, mods in EXAMPLES if mods]


def test_the_doc_has_examples_that_need_extras():
    commands = {shlex.split(line)[1] for line, _ in NEEDING}
    assert {"index", "serve", "node2vec", "deepwalk", "cluster", "plot"} <= commands


@pytest.fixture(scope="module")
def doc_results(tmp_path_factory):
    jobs = []
    for i, (line, mods) in enumerate(NEEDING):
        args = [str(ROOT / a) if a.startswith("datasets/") else a for a in shlex.split(line)[1:]]
        cwd = tmp_path_factory.mktemp(f"doc{i}")
        write_inputs(cwd)
        jobs.append((line, ",".join(mods), args, cwd))
    return run_all(jobs), {line: ",".join(mods) for line, mods in NEEDING}


@pytest.mark.parametrize("line", [line for line, _ in NEEDING])
def test_cli_md_example_without_its_extra_is_one_line(doc_results, line):
    procs, blocked = doc_results
    check_one_line(procs[line], blocked[line])
