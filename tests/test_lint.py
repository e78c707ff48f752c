"""Hygiene: ruff (pyproject.toml's [tool.ruff]) passes, and docstrings link only to design notes that exist."""
import ast
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LINTED = ["graphembed", "plugins", "tests", "benchmarks"]
DECISION_LINK = re.compile(r"docs/decisions/[A-Za-z0-9_.-]+\.md")


def test_ruff_check_passes():
    result = subprocess.run([sys.executable, "-m", "ruff", "check", "--no-cache", *LINTED],
                            cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, f"ruff check found problems:\n{result.stdout}{result.stderr}"


def docstrings(path):
    """(name, docstring) of the module and of every class and function in ``path``."""
    tree = ast.parse(path.read_text(), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            doc = ast.get_docstring(node, clean=False)
            if doc:
                yield getattr(node, "name", "<module>"), doc


def test_docstring_decision_links_exist():
    missing, seen = [], 0
    for top in ("graphembed", "plugins"):
        for path in sorted((ROOT / top).rglob("*.py")):
            for name, doc in docstrings(path):
                for link in DECISION_LINK.findall(doc):
                    seen += 1
                    if not (ROOT / link).is_file():
                        missing.append(f"{path.relative_to(ROOT)}:{name}: {link}")
    assert seen, "no docstring links to docs/decisions: is the pattern still right?"
    assert not missing, "docstrings link to missing design notes:\n" + "\n".join(missing)


def test_design_notes_moved_out_of_docstrings():
    """The measured notes live in docs/decisions; these docstrings keep a one-line pointer."""
    import graphembed.embed.fastrp as fastrp
    import graphembed.embed.node2vec as node2vec

    assert "docs/decisions/node2vec-skipgram.md" in node2vec.Node2Vec.__doc__
    assert "docs/decisions/fastrp-new-nodes.md" in fastrp.FastRP.transform_new.__doc__
    for doc in (node2vec.__doc__, node2vec.Node2Vec.__doc__, fastrp.FastRP.transform_new.__doc__):
        assert "Macro-F1" not in doc and "measured" not in doc.lower()


HINTED = ["graphembed.graph", "graphembed.embedding", "graphembed.base", "graphembed.embed.fastrp",
          "graphembed.embed.line", "graphembed.embed.node2vec", "graphembed.embed.grf",
          "graphembed.embed.orbit_features"]

RESOLVE_HINTS = """
import importlib, inspect, sys, typing
import collections.abc, networkx, numpy.typing, scipy.sparse, tqdm, typing_extensions  # before the flag flips
typing.TYPE_CHECKING = True  # run the modules' `if TYPE_CHECKING:` imports, as a type checker reads them
for name in sys.argv[1:]:
    mod = importlib.import_module(name)
    for obj in vars(mod).values():
        if getattr(obj, "__module__", None) != name:
            continue
        funcs = [obj] if inspect.isfunction(obj) else []
        if inspect.isclass(obj):
            typing.get_type_hints(obj)
            for v in vars(obj).values():
                v = getattr(v, "__func__", getattr(v, "fget", v))
                if inspect.isfunction(v):
                    funcs.append(v)
        for f in funcs:
            typing.get_type_hints(inspect.unwrap(f), globalns=vars(mod))
"""


def test_public_type_hints_resolve():
    """Every annotation of the hinted modules names something real (in a child: the flag is global)."""
    pytest.importorskip("typing_extensions")
    result = subprocess.run([sys.executable, "-c", RESOLVE_HINTS, *HINTED], cwd=ROOT, capture_output=True,
                            text=True)
    assert result.returncode == 0, result.stderr


def test_only_the_public_base_is_imported():
    """The plugin and the package import ``graphembed.base``; the private ``graphembed.embed._base``
    stays only as a shim for old imports."""
    shim = ROOT / "graphembed" / "embed" / "_base.py"
    users = []
    for top in ("graphembed", "plugins"):
        for path in sorted((ROOT / top).rglob("*.py")):
            if path != shim and "graphembed.embed._base" in path.read_text():
                users.append(str(path.relative_to(ROOT)))
    assert shim.is_file() and users == []
