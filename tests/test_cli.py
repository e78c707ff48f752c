"""The CLI: lazy command loading, plugin failures, embedding commands, errors, --json."""
import json
import subprocess
import sys
from importlib.metadata import EntryPoint

import numpy as np
import pytest
from click.testing import CliRunner

import graphembed as ge
from graphembed import registry
from graphembed.cli.main import cli
from graphembed.datasets import karate_path

HEAVY = ["numba", "sklearn", "gensim", "faiss", "torch", "scipy", "pyarrow", "numpy"]


def run_cli(*args):
    return subprocess.run([sys.executable, "-m", "graphembed.cli.main", *map(str, args)],
                          capture_output=True, text=True)


def test_help_lists_commands_without_heavy_imports():
    code = ("import sys\nfrom graphembed.cli.main import cli\n"
            "try:\n    cli(['--help'])\nexcept SystemExit:\n    pass\n"
            f"print('LOADED', [m for m in {HEAVY!r} if m in sys.modules])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert "fastrp" in out.stdout and "info" in out.stdout
    assert "LOADED []" in out.stdout, out.stdout


def test_every_registered_command_loads():
    runner = CliRunner()
    for name in registry.command_names():
        result = runner.invoke(cli, [name, "--help"])
        assert result.exit_code == 0, (name, result.output)


def test_broken_plugin_warns_and_shows_placeholder(monkeypatch):
    broken = EntryPoint("broken", "graphembed_missing_plugin:command", registry.COMMANDS_GROUP)
    real = dict(registry._entry_points(registry.COMMANDS_GROUP))
    monkeypatch.setattr(registry, "_entry_points", lambda group: {**real, "broken": broken}
                        if group == registry.COMMANDS_GROUP else {})
    runner = CliRunner()
    listing = runner.invoke(cli, ["--help"])
    assert listing.exit_code == 0 and "fastrp" in listing.output and "broken" in listing.output
    assert "failed to load" in listing.output
    used = runner.invoke(cli, ["broken", "x"])
    assert used.exit_code == 2 and "unavailable" in used.output


def test_fastrp_command_writes_an_embedding(tmp_path):
    out = tmp_path / "k.parquet"
    result = run_cli("fastrp", karate_path(), "-o", out, "--dim", 16, "--iteration-weights", "0,1,1",
                     "--normalization-strength", "-0.5", "--seed", 7, "--quiet")
    assert result.returncode == 0, result.stderr
    emb = ge.Embedding.load(out)
    assert emb.vectors.shape == (34, 16)
    g = ge.read_graph(karate_path())
    ref = ge.FastRP(dim=16, normalization_strength=-0.5, random_state=7).fit_transform(g)
    np.testing.assert_array_equal(emb.vectors, ref.vectors)


def test_fastrp_json_is_the_only_stdout(tmp_path):
    result = run_cli("fastrp", karate_path(), "-o", tmp_path / "k.w2v", "--dim", 8, "--seed", 1,
                     "--json", "--threads", 1)
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["nodes"] == 34 and summary["dim"] == 8 and summary["format"] == "w2v"
    assert (tmp_path / "k.w2v").read_text().startswith("34 8\n")


def test_info_json():
    result = run_cli("info", karate_path(), "--json")
    assert result.returncode == 0
    info = json.loads(result.stdout)
    assert (info["nodes"], info["edges"], info["directed"], info["weighted"]) == (34, 78, False, False)
    assert info["degree_max"] == 17


@pytest.mark.parametrize("args, message", [
    (["fastrp", "missing.csv", "-o", "x.parquet"], "file not found"),
    (["fastrp", "KARATE", "-o", "x.unknown"], "extension"),
    (["fastrp", "KARATE", "-o", "no/such/dir/x.parquet"], "does not exist"),
    (["fastrp", "KARATE", "-o", "x.parquet", "--source-col", "nope"], "'nope' not found"),
])
def test_bad_input_is_one_line_and_exit_2(tmp_path, args, message):
    args = [str(karate_path()) if a == "KARATE" else a for a in args]
    result = subprocess.run([sys.executable, "-m", "graphembed.cli.main", *args], capture_output=True,
                            text=True, cwd=tmp_path)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("graphembed: error:"), result.stderr
    assert message in lines[0]
    assert not list(tmp_path.glob("**/*.parquet")) and not list(tmp_path.glob("**/.*tmp"))


def test_fastrp_index_option_builds_a_loadable_index(tmp_path):
    pytest.importorskip("faiss")
    result = run_cli("fastrp", karate_path(), "-o", tmp_path / "k.parquet", "--dim", 16, "--seed", 0,
                     "--index", tmp_path / "k.index", "--quiet")
    assert result.returncode == 0, result.stderr
    index = ge.EmbeddingIndex.load(tmp_path / "k.index")
    emb = ge.Embedding.load(tmp_path / "k.parquet")
    assert len(index) == 34 and index.dim == 16
    # cosine neighbours of node 0 from the index equal a brute-force ranking of the file's vectors
    unit = emb.vectors / np.linalg.norm(emb.vectors, axis=1, keepdims=True)
    scores = unit @ unit[emb.index_of(0)]
    scores[emb.index_of(0)] = -np.inf
    ids, found = index.neighbors(0, k=3)[0]
    assert 0 not in ids.tolist()
    np.testing.assert_allclose(found, np.sort(scores)[::-1][:3], rtol=1e-5)  # ties make ids ambiguous


# Table-driven commands: each flag of an estimator parameter takes its default from the table.
TABLE_COMMANDS = [("fastrp", "FastRP"), ("line", "LINE"), ("node2vec", "Node2Vec"), ("deepwalk", "DeepWalk"),
                  ("grf", "GraphRandomFeatures"), ("orbit-embed", "OrbitAdjacencyEmbedding"),
                  ("orbits", "OrbitFeatures")]


def _plain(value):
    return list(value) if isinstance(value, (list, tuple)) else value


@pytest.mark.parametrize("name, class_name", TABLE_COMMANDS)
def test_table_flags_default_to_the_estimators_defaults(name, class_name):
    import click

    command = cli.get_command(click.Context(cli), name)
    cls = getattr(ge, class_name)
    defaults = cls().get_params()
    table = cls.parameters
    by_flag = {(p.cli or key).replace("-", "_"): key for key, p in table.items()}  # seed, threads, walks
    # the values the command hands on when only the required arguments are given
    ctx = command.make_context(name, ["graph.csv", "-o", "out.parquet"])
    checked = []
    for option in command.params:
        key = option.name if option.name in table else by_flag.get(option.name)
        if key is None or key not in defaults:
            continue
        assert _plain(ctx.params[option.name]) == _plain(defaults[key]), (name, option.name)
        checked.append(key)
    assert {"random_state", "n_jobs"} & set(checked), checked
    if name != "orbits":
        assert "dim" in checked, checked
    if name == "grf":
        assert {"n_walks", "normalize", "independent", "p_halt", "tol", "projection_nnz"} <= set(checked)


def test_linkpred_param_is_checked_by_the_table_before_any_work(tmp_path):
    bad = run_cli("linkpred", "evaluate", tmp_path / "missing.csv", "--method", "grf", "--param", "walks=0")
    assert bad.returncode == 2
    assert bad.stderr.strip() == "graphembed: error: n_walks must be an integer >= 1, got 0", bad.stderr
    twice = run_cli("linkpred", "evaluate", karate_path(), "--method", "grf", "--param", "walks=4",
                    "--param", "n_walks=4")
    assert twice.returncode == 2 and "given twice" in twice.stderr
    ok = run_cli("linkpred", "evaluate", karate_path(), "--method", "grf", "--param", "walks=4",
                 "--param", "dim=8", "--no-heuristics", "--json")
    assert ok.returncode == 0, ok.stderr
    assert json.loads(ok.stdout)["params"]["n_walks"] == 4
