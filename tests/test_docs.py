"""Every `graphembed ...` example in cli.md and the README's first command run as written."""
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def cli_examples():
    text = (ROOT / "cli.md").read_text()
    blocks = re.findall(r"```\n(.*?)```", text, flags=re.S)
    return [line for block in blocks for line in block.splitlines() if line.startswith("graphembed ")]


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    """One folder for all examples: later ones read what earlier ones wrote, as a user would."""
    return tmp_path_factory.mktemp("cli_md")


@pytest.mark.parametrize("line", cli_examples())
def test_cli_md_example_runs(line, workdir):
    args = shlex.split(line)[1:]
    args = [str(ROOT / a) if a.startswith("datasets/") else a for a in args]
    result = subprocess.run([sys.executable, "-m", "graphembed.cli.main", *args], cwd=workdir,
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_every_command_is_documented():
    from graphembed.registry import command_names

    text = (ROOT / "cli.md").read_text()
    for name in command_names():
        assert f"## `graphembed {name}`" in text
