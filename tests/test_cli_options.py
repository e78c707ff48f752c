"""One CLI vocabulary: the shared options, one count parser, shared constants, plugin commands
that shadow a built-in, and Python warnings as one line (silenced by -q)."""
import re
import subprocess
import sys
import warnings
from importlib.metadata import EntryPoint
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from graphembed import registry
from graphembed.cli.main import cli

ROOT = Path(__file__).resolve().parent.parent
CLI = ROOT / "graphembed" / "cli"
PLUGIN_CLI = ROOT / "plugins" / "graphembed-gnn" / "graphembed_gnn" / "cli.py"
# the modules whose options were moved to graphembed.cli.options (the others follow the same rule)
CONVERTED = ["classify", "cluster", "plot", "bench", "index", "info", "plugins", "serve", "node2vec",
             "line", "fastrp", "main", "common"]
HAND_DECLARED = re.compile(r"click\.option\(\s*\"(--seed|--threads|--quiet|-q|--json)\"")


def all_commands():
    """(path, click command) of every registered command and subcommand."""
    ctx = click.Context(cli)
    found = []

    def walk(path, command):
        found.append((path, command))
        if isinstance(command, click.Group):
            for name in command.list_commands(ctx):
                walk(f"{path} {name}", command.get_command(ctx, name))

    for name in registry.command_names():
        walk(name, cli.get_command(ctx, name))
    return found


# ---------------------------------------------------------------------------- one vocabulary
@pytest.mark.parametrize("name", CONVERTED)
def test_no_hand_declared_shared_options(name):
    text = (CLI / f"{name}.py").read_text()
    assert not HAND_DECLARED.findall(text), f"{name}.py declares a shared option by hand"


def test_plugin_uses_the_shared_options():
    if not PLUGIN_CLI.exists():
        pytest.skip("no plugin source")
    text = PLUGIN_CLI.read_text()
    assert not HAND_DECLARED.findall(text)
    assert "from graphembed.cli.options import" in text


def test_every_shared_option_is_the_same_option():
    """--seed, --threads, -q/--quiet and --json mean one thing on every command."""
    seen = set()
    for path, command in all_commands():
        for param in command.params:
            if param.name == "seed":
                assert param.opts == ["--seed"] and isinstance(param.type, click.IntRange), path
                assert param.type.min == 0 and param.type.max is None, path
            elif param.name == "threads":
                assert param.opts == ["--threads"] and isinstance(param.type, click.IntRange), path
                assert param.type.min == 1, path
            elif param.name == "quiet":
                assert sorted(param.opts) == ["--quiet", "-q"] and param.is_flag, path
            elif param.name == "as_json":
                assert param.opts == ["--json"] and param.is_flag, path
            else:
                continue
            seen.add(param.name)
    assert seen == {"seed", "threads", "quiet", "as_json"}


def test_one_count_parser():
    from graphembed.cli import line, options

    sources = {p.name: p.read_text() for p in CLI.glob("*.py")}
    if PLUGIN_CLI.exists():
        sources["graphembed_gnn/cli.py"] = PLUGIN_CLI.read_text()
    defined = sorted(name for name, text in sources.items() if re.search(r"def _?parse_count\b", text))
    assert defined == ["options.py"]
    assert line.parse_count.func is options.parse_count  # the bounded one is the same parser
    assert line.parse_count("1.5M") == options.parse_count("1.5m") == 1_500_000
    assert line.parse_count("20k") == 20_000 and line.parse_count("auto") is None


def _choices(path, name):
    command = dict(all_commands())[path]
    return tuple(next(p for p in command.params if p.name == name).type.choices)


def test_cli_choices_are_the_library_constants():
    from graphembed import params
    from graphembed.cli import bench
    from graphembed.index import core
    from graphembed.io import edges
    from graphembed.tasks import classify, paper, plot

    assert edges.FORMATS is params.INPUT_FORMATS and _choices("info", "input_format") == params.INPUT_FORMATS
    assert core.METRICS is params.INDEX_METRICS and _choices("index build", "metric") == params.INDEX_METRICS
    assert plot.REDUCERS is params.REDUCERS and _choices("plot", "reducer") == params.REDUCERS
    assert classify.PROTOCOLS is params.CLASSIFY_PROTOCOLS
    assert _choices("classify", "protocol") == (*params.CLASSIFY_PROTOCOLS, "both")
    assert _choices("cluster", "method") == params.CLUSTER_METHODS
    assert bench.METHODS is paper.METHODS and bench.DATASETS == tuple(paper.DATASETS)
    for command in ("fastrp", "node2vec", "line"):
        assert _choices(command, "output_format") == params.EMBEDDING_FORMATS


# ---------------------------------------------------------------------------- plugin shadowing
FAKE = EntryPoint("fastrp", "evil_plugin.cli:fastrp", registry.COMMANDS_GROUP)


@pytest.fixture
def fresh_registry():
    registry._entry_points.cache_clear()
    yield
    registry._entry_points.cache_clear()


@pytest.mark.parametrize("plugin_first", [True, False])
def test_plugin_shadowing_a_builtin_warns_and_the_builtin_wins(monkeypatch, fresh_registry, plugin_first):
    real = list(registry.entry_points(group=registry.COMMANDS_GROUP))

    def listing(group):
        if group != registry.COMMANDS_GROUP:
            return []
        return [FAKE, *real] if plugin_first else [*real, FAKE]

    monkeypatch.setattr(registry, "entry_points", listing)
    result = CliRunner().invoke(cli, ["fastrp", "--help"])
    assert result.exit_code == 0, result.output
    assert "FastRP embeddings" in result.stdout  # the built-in's help, not a placeholder
    lines = result.stderr.splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith("graphembed: warning: ")
    assert "evil_plugin.cli:fastrp" in lines[0] and "built-in" in lines[0] and "is used" in lines[0]
    assert registry.command_entry_point("fastrp").value == "graphembed.cli.fastrp:fastrp"
    assert registry.command_names().count("fastrp") == 1


def test_plugin_with_a_new_name_is_listed_without_warning(monkeypatch, fresh_registry):
    real = list(registry.entry_points(group=registry.COMMANDS_GROUP))
    extra = EntryPoint("newcmd", "some_plugin.cli:newcmd", registry.COMMANDS_GROUP)
    monkeypatch.setattr(registry, "entry_points",
                        lambda group: [*real, extra] if group == registry.COMMANDS_GROUP else [])
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a warning here would raise
        assert "newcmd" in registry.command_names()
    assert registry.command_entry_point("newcmd") is extra


# ---------------------------------------------------------------------------- warnings
WARN = ("import sys, warnings\n"
        "import graphembed.cli.plugins as m\n"
        "orig = m.plugins.callback\n"
        "def callback(*a, **k):\n"
        "    warnings.warn('something\\n   odd', UserWarning)\n"
        "    return orig(*a, **k)\n"
        "m.plugins.callback = callback\n"
        "sys.argv = ['graphembed'] + sys.argv[1:]\n"
        "from graphembed.cli.main import cli\n"
        "cli()\n")


def _warned(*args):
    return subprocess.run([sys.executable, "-c", WARN, "plugins", "--no-devices", *args],
                          capture_output=True, text=True, timeout=120)


def test_python_warnings_are_one_line_and_quiet_silences_them():
    loud = _warned("--json")
    assert loud.returncode == 0, loud.stderr
    assert loud.stderr.splitlines() == ["graphembed: warning: something odd"]  # no source path
    quiet = _warned("--json", "-q")
    assert quiet.returncode == 0 and quiet.stderr == ""
    assert quiet.stdout == loud.stdout


def test_running_the_cli_leaves_the_callers_warning_state(monkeypatch, fresh_registry):
    before_filters, before_show = list(warnings.filters), warnings.showwarning
    result = CliRunner().invoke(cli, ["plugins", "--no-devices", "-q"])
    assert result.exit_code == 0, result.output
    assert warnings.filters == before_filters and warnings.showwarning is before_show
