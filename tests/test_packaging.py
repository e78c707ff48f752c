"""The built wheel works outside the checkout: shipped data, entry points, the README's first command.

The wheel is built from this checkout and installed with pip into a fresh virtual environment in a
temporary directory. Its dependencies are not downloaded again: the new environment sees a view of
the test environment's site-packages with every trace of the editable graphembed install left
out, so ``import graphembed`` and the ``graphembed`` entry points can only come from the wheel.
"""
import json
import os
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


def _run(args, **kwargs):
    return subprocess.run(args, capture_output=True, text=True, timeout=600, **kwargs)


@pytest.fixture(scope="module")
def wheel_env(tmp_path_factory):
    root = tmp_path_factory.mktemp("wheel")
    dist = root / "dist"
    built = _run([sys.executable, "-m", "pip", "wheel", "--no-deps",
                  "-q", "-w", str(dist), str(REPO)])
    assert built.returncode == 0, built.stderr
    (wheel,) = dist.glob("graphembed-*.whl")

    venv = root / "venv"
    made = _run([sys.executable, "-m", "venv", "--without-pip", str(venv)])
    assert made.returncode == 0, made.stderr
    python = venv / "bin" / "python"
    site = Path(_run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"])
                .stdout.strip())
    # Dependencies: the test environment's packages, minus the editable graphembed.
    deps = root / "deps"
    deps.mkdir()
    for entry in Path(sysconfig.get_paths()["purelib"]).iterdir():
        if "graphembed" not in entry.name.lower():
            (deps / entry.name).symlink_to(entry)
    (site / "deps.pth").write_text(f"{deps}\n")
    installed = _run([sys.executable, "-m", "pip", "--python", str(python), "install", "-q",
                      "--no-deps", "--no-index", str(wheel)])
    if installed.returncode != 0 and "no such option: --python" in installed.stderr:
        pytest.skip("pip too old for --python")
    assert installed.returncode == 0, installed.stderr
    work = root / "work"  # a working directory with no datasets/ folder and no checkout
    work.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    return {"wheel": wheel, "python": python, "bin": venv / "bin", "work": work, "env": env,
            "site": site}


def test_wheel_ships_the_karate_data(wheel_env):
    names = zipfile.ZipFile(wheel_env["wheel"]).namelist()
    for name in ("karate.csv", "karate_labels.csv", "karate_node_weights.csv"):
        assert f"graphembed/data/{name}" in names


def test_installed_wheel_imports_from_its_own_site_packages(wheel_env):
    code = ("import graphembed as ge, json; g, y = ge.datasets.karate(); "
            "print(json.dumps([ge.__file__, g.n_nodes, g.n_edges, int(y.sum()), ge.__version__]))")
    out = _run([str(wheel_env["python"]), "-c", code], cwd=wheel_env["work"], env=wheel_env["env"])
    assert out.returncode == 0, out.stderr
    path, nodes, edges, officers, version = json.loads(out.stdout)
    assert Path(path).is_relative_to(wheel_env["site"])
    assert (nodes, edges) == (34, 78)
    assert officers == 17  # Zachary's split: 17 members follow the officer
    import graphembed

    assert version == graphembed.__version__


def test_readme_first_command_from_the_wheel(wheel_env):
    """The README's first command, run with the installed ``graphembed`` script outside the checkout."""
    readme = (REPO / "README.md").read_text()
    first = next(line for line in readme.splitlines() if line.startswith("pip install"))
    command = first.split("&&", 1)[1].split()
    assert command[:2] == ["graphembed", "fastrp"]
    script = wheel_env["bin"] / "graphembed"
    out = _run([str(script), *command[1:], "--json"], cwd=wheel_env["work"], env=wheel_env["env"])
    assert out.returncode == 0, out.stderr
    summary = json.loads(out.stdout)
    assert (summary["nodes"], summary["dim"]) == (34, 128)
    import pyarrow.parquet as pq

    table = pq.read_table(wheel_env["work"] / summary["output"])
    assert table.num_rows == 34
    version = _run([str(script), "--version"], cwd=wheel_env["work"], env=wheel_env["env"])
    assert version.returncode == 0 and "0." in version.stdout
