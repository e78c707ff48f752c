"""`graphembed plugins` (with no plugin, a fake one, a broken one) and `load_planetoid`."""
import json
import pickle
import subprocess
import sys
from collections import defaultdict
from importlib.metadata import EntryPoint

import numpy as np
import pytest
import scipy.sparse as sp
from click.testing import CliRunner

from graphembed.cli import plugins as plugins_mod
from graphembed.cli.main import cli
from graphembed.datasets import load_planetoid
from graphembed.io.errors import InputError


# ---------------------------------------------------------------------------- graphembed plugins
class FakeDist:
    def __init__(self, name, version, eps):
        self.metadata = {"Name": name}
        self.version = version
        self.entry_points = eps


def fake_info():
    return {"devices": ["cpu (1 threads)", "cuda:0 (Fake GPU, 8 GiB)"]}


def broken_info():
    raise RuntimeError("driver exploded")


def _patch_distributions(monkeypatch, dists):
    monkeypatch.setattr(plugins_mod, "_distributions", lambda: iter(dists))


def test_no_plugins_installed(monkeypatch):
    core = FakeDist("graphembed", "0.1.0", [
        EntryPoint("fastrp", "graphembed.cli.fastrp:fastrp", "graphembed.commands")])
    other = FakeDist("numpy", "2.0", [EntryPoint("f2py", "numpy.f2py:main", "console_scripts")])
    _patch_distributions(monkeypatch, [core, other])
    result = CliRunner().invoke(cli, ["plugins"])
    assert result.exit_code == 0, result.output
    assert "no plugins installed" in result.output
    result = CliRunner().invoke(cli, ["plugins", "--json"])
    assert json.loads(result.output) == {"plugins": []}


def test_fake_plugin_listed_with_devices(monkeypatch):
    here = __name__
    good = FakeDist("graphembed-fake", "1.2.3", [
        EntryPoint("fakecmd", "fake_mod:cmd", "graphembed.commands"),
        EntryPoint("fakeemb", "fake_mod:Emb", "graphembed.embedders"),
        EntryPoint("graphembed-fake", f"{here}:fake_info", "graphembed.plugin_info"),
    ])
    broken = FakeDist("graphembed-broken", "0.0.1", [
        EntryPoint("brk", "brk_mod:Emb", "graphembed.embedders"),
        EntryPoint("graphembed-broken", f"{here}:broken_info", "graphembed.plugin_info"),
    ])
    info_only = FakeDist("not-a-plugin", "9", [
        EntryPoint("x", f"{here}:fake_info", "graphembed.plugin_info")])
    _patch_distributions(monkeypatch, [broken, good, info_only, good])  # a duplicate counts once
    result = CliRunner().invoke(cli, ["plugins", "--json"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.output)["plugins"]
    assert [r["name"] for r in rows] == ["graphembed-broken", "graphembed-fake"]
    fake = rows[1]
    assert fake["version"] == "1.2.3" and fake["commands"] == ["fakecmd"]
    assert fake["embedders"] == ["fakeemb"] and fake["devices"] == fake_info()["devices"]
    assert rows[0]["devices"] == [] and "driver exploded" in rows[0]["notes"][0]
    text = CliRunner().invoke(cli, ["plugins"]).output
    assert "graphembed-fake 1.2.3" in text and "Fake GPU" in text and "driver exploded" in text
    no_dev = json.loads(CliRunner().invoke(cli, ["plugins", "--json", "--no-devices"]).output)
    assert all("devices" not in r for r in no_dev["plugins"])


def test_plugins_command_real_environment_without_devices_imports_no_torch():
    code = ("import sys\nfrom graphembed.cli.main import cli\n"
            "try:\n    cli(['plugins', '--json', '--no-devices'])\nexcept SystemExit:\n    pass\n"
            "print('LOADED', [m for m in ('torch', 'torch_geometric') if m in sys.modules])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    document, loaded = out.stdout.strip().splitlines()
    rows = json.loads(document)["plugins"]
    assert all(r["name"] != "graphembed" for r in rows)
    assert loaded == "LOADED []"


# ---------------------------------------------------------------------------- load_planetoid
def write_planetoid(folder, name, rng, n_known=6, n=12, n_train=3, n_features=5, n_classes=3,
                    skipped=(8,)):
    """Write ind.NAME.* files for a random graph; return the truth they encode."""
    x_true = rng.integers(0, 2, size=(n, n_features)).astype(np.float32)
    y_true = rng.integers(0, n_classes, size=n)
    test_nodes = np.array([v for v in range(n_known, n) if v not in skipped])
    test_order = rng.permutation(test_nodes)  # stored shuffled, as in the real files
    for v in skipped:
        x_true[v] = 0.0
    onehot = np.eye(n_classes, dtype=np.int32)
    edges = {(int(a), int(b)) for a, b in rng.integers(0, n, size=(20, 2)) if a != b
             and a not in skipped and b not in skipped}
    adjacency = defaultdict(list)
    for a, b in edges:
        adjacency[a].append(b)  # one direction only: the loader must symmetrise
    adjacency[0].append(0)      # a self-loop, dropped
    parts = {
        "x": sp.csr_matrix(x_true[:n_train]), "y": onehot[y_true[:n_train]],
        "allx": sp.csr_matrix(x_true[:n_known]), "ally": onehot[y_true[:n_known]],
        "tx": sp.csr_matrix(x_true[test_order]), "ty": onehot[y_true[test_order]],
        "graph": adjacency,
    }
    for part, obj in parts.items():
        with open(folder / f"ind.{name}.{part}", "wb") as fh:
            pickle.dump(obj, fh, protocol=2)
    (folder / f"ind.{name}.test.index").write_text("".join(f"{v}\n" for v in test_order))
    labels = y_true.copy()
    labels[list(skipped)] = -1
    return {"x": x_true, "labels": labels, "edges": edges, "test": test_nodes, "n_train": n_train}


def test_load_planetoid_puts_rows_back_in_node_order(tmp_path, rng):
    truth = write_planetoid(tmp_path, "citeseer", rng)
    data = load_planetoid("CiteSeer", root=tmp_path)
    g = data["graph"]
    assert g.n_nodes == 12 and not g.directed and g.n_self_loops == 0
    assert data["features"].shape == (12, 5)
    np.testing.assert_array_equal(data["features"].toarray(), truth["x"])
    np.testing.assert_array_equal(data["labels"], truth["labels"])
    adjacency = g.to_scipy().toarray()
    expected = np.zeros((12, 12))
    for a, b in truth["edges"]:
        expected[a, b] = expected[b, a] = 1
    np.testing.assert_array_equal(adjacency, expected)
    assert np.flatnonzero(data["train_mask"]).tolist() == [0, 1, 2]
    assert np.flatnonzero(data["val_mask"]).tolist() == list(range(3, 12))  # the next 500, clipped
    assert np.flatnonzero(data["test_mask"]).tolist() == sorted(truth["test"].tolist())
    assert data["n_classes"] == 3 and data["name"] == "citeseer"


def test_load_planetoid_reads_graphembed_data(tmp_path, rng, monkeypatch):
    (tmp_path / "planetoid").mkdir()
    truth = write_planetoid(tmp_path / "planetoid", "cora", rng, skipped=())
    monkeypatch.setenv("GRAPHEMBED_DATA", str(tmp_path))
    data = load_planetoid("cora")
    np.testing.assert_array_equal(data["labels"], truth["labels"])
    assert (data["labels"] >= 0).all()


def test_load_planetoid_errors(tmp_path, rng, monkeypatch):
    monkeypatch.delenv("GRAPHEMBED_DATA", raising=False)
    with pytest.raises(InputError, match="GRAPHEMBED_DATA"):
        load_planetoid("cora")
    with pytest.raises(InputError, match="unknown Planetoid"):
        load_planetoid("imagenet", root=tmp_path)
    write_planetoid(tmp_path, "pubmed", rng)
    (tmp_path / "ind.pubmed.allx").unlink()
    with pytest.raises(InputError, match="ind.pubmed.allx"):
        load_planetoid("pubmed", root=tmp_path)
