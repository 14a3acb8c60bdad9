"""The public API: every public module says what it exports (``__all__``), every exported name
exists, is public and documented, the lazy top level gives the subpackages' objects without
importing numba, JAX or matplotlib, and the generated pages of ``docs/api/names`` are current.

The checks read whatever the modules export, so new modules and names are covered as they come.
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import subprocess
import sys
from pathlib import Path

import pytest

import effgrok

ROOT = Path(__file__).resolve().parents[1]


def _load_generator():
    spec = importlib.util.spec_from_file_location("effgrok_docs_api_generate", ROOT / "docs/api/generate.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


GENERATE = _load_generator()
MODULES = GENERATE.modules()  # every public module and package under effgrok/, found on disk
PACKAGES = GENERATE.packages()
HEAVY = ("numba", "jax", "matplotlib")


def exports(module_name: str) -> list[str]:
    return list(importlib.import_module(module_name).__all__)


def test_the_module_list_is_found():
    assert {"effgrok", "effgrok.effective", "effgrok.kernels", "effgrok.nets"} <= set(PACKAGES)
    assert {"effgrok.tasks", "effgrok.effective.simulation", "effgrok.solvable.linear"} <= set(MODULES)
    assert not [m for m in MODULES if any(part.startswith("_") for part in m.split("."))]


@pytest.mark.parametrize("module_name", MODULES)
def test_every_public_module_declares_its_exports(module_name):
    module = importlib.import_module(module_name)
    assert hasattr(module, "__all__"), f"{module_name} has no __all__"
    names = module.__all__
    assert isinstance(names, list | tuple) and all(isinstance(n, str) for n in names)
    assert len(names) == len(set(names)), f"{module_name}.__all__ repeats a name"


@pytest.mark.parametrize("module_name", MODULES)
def test_every_exported_name_exists_is_public_and_documented(module_name):
    module = importlib.import_module(module_name)
    names = [n for n in module.__all__ if not (module_name == "effgrok" and n == "__version__")]
    assert not [n for n in names if not hasattr(module, n)], f"{module_name}.__all__ names what it lacks"
    assert not [n for n in names if n.startswith("_")], f"{module_name} exports private names"
    undocumented = [n for n in names if not GENERATE.docstring(module_name, n).strip()]
    assert not undocumented, f"{module_name}: no docstring, or no '#:' comment above data: {undocumented}"


@pytest.mark.parametrize("package", [p for p in PACKAGES if p != "effgrok"])
def test_a_package_exports_its_modules_objects(package):
    """A name a package exports from one of its modules is that module's object (no shadowing)."""
    pkg = importlib.import_module(package)
    prefix = package + "."
    for child in (m for m in MODULES if m.startswith(prefix) and "." not in m[len(prefix) :]):
        module = importlib.import_module(child)
        for name in set(module.__all__) & set(pkg.__all__):
            assert getattr(pkg, name) is getattr(module, name), f"{package}.{name} is not {child}.{name}"
        assert getattr(pkg, child.rpartition(".")[2]) is module, f"an exported name hides the module {child}"


@pytest.mark.parametrize("package", [p for p in PACKAGES if p != "effgrok" and p not in GENERATE.SKIP])
def test_a_package_exports_all_its_modules(package):
    """Complete: each public module's names are in the package's ``__all__``, or the module is."""
    exported = set(exports(package))
    prefix = package + "."
    for child in (m for m in MODULES if m.startswith(prefix) and "." not in m[len(prefix) :]):
        missing = set(exports(child)) - exported
        assert child.rpartition(".")[2] in exported or not missing, (
            f"{package}.__all__ lacks {sorted(missing)} of {child} (export them, or the module itself)"
        )


# --------------------------------------------------------------------------- the lazy top level
def test_top_level_names_are_the_subpackages_objects():
    for name in effgrok.__all__:
        if name == "__version__":
            continue
        home = f"effgrok.{effgrok._ORIGIN[name]}"
        assert name in exports(home), f"effgrok.{name} is not exported by {home}"
        assert getattr(effgrok, name) is getattr(importlib.import_module(home), name)
    from effgrok import make_task, simulate  # the usual import still works

    assert simulate is effgrok.effective.simulate and make_task is effgrok.tasks.make_task
    assert effgrok.solvable.simulate_linear is not simulate  # the linear model's own name
    assert not hasattr(effgrok.solvable, "simulate")


def test_top_level_dir_lists_names_and_submodules():
    listed = dir(effgrok)
    assert set(effgrok.__all__) <= set(listed)
    assert {"effective", "kernels", "nets", "diagnostics", "solvable", "scan"} <= set(listed)
    with pytest.raises(AttributeError, match="no attribute 'not_a_name'"):
        effgrok.not_a_name  # noqa: B018


def test_import_effgrok_imports_no_numba_jax_or_matplotlib():
    code = (
        "import sys, effgrok\n"
        "assert 'make_task' in dir(effgrok)\n"
        f"print(' '.join(h for h in {HEAVY!r} if h in sys.modules))"
    )
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "", f"import effgrok imported: {proc.stdout.strip()}"


# --------------------------------------------------------------------------- docs/api/names
def test_api_name_pages_are_up_to_date():
    stale = [str(p.relative_to(ROOT)) for p in GENERATE.stale()]
    assert not stale, f"out of date (run `uv run python docs/api/generate.py`): {stale}"


def test_api_name_pages_list_every_exported_name():
    for package in PACKAGES:
        if package in GENERATE.SKIP:
            continue
        text = (GENERATE.OUT / f"{package}.md").read_text(encoding="utf-8")
        for name in exports(package):
            if name != "__version__":
                assert f"### `{name}`" in text, f"{name} missing from the page of {package}"


def test_summary_turns_rst_into_myst():
    doc = inspect.cleandoc(
        """First line with ``code`` and :func:`~effgrok.rqi` and
        :math:`x^2`, see `the paper <https://example.org>`_::

        Second paragraph."""
    )
    assert GENERATE.summary(doc) == (
        "First line with `code` and {func}`~effgrok.rqi` and {math}`x^2`, "
        "see [the paper](https://example.org):"
    )
