"""The layers of docs/architecture.md, enforced on the imports of every module under effgrok/.

Every ``import`` and ``from ... import`` is read from the source (``ast``), at module level and
inside functions alike, so a deferred import counts the same as one at the top.  A module
belongs to the group of its first name under ``effgrok`` (``effgrok.plot_inspect`` and
``effgrok.plot.figures`` are both ``plot``; ``effgrok.cli`` and ``effgrok.cli.train`` are both
``cli``), so the rules hold for modules and packages alike.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "effgrok"

#: The layers, bottom up, as on docs/architecture.md.  The foundation holds the tasks and the
#: generic machinery every layer may use: input checks, constants, threads, the job runner and
#: store (``scan``), the file writers (``results``); every private top-level module
#: (``effgrok/_*.py``) belongs to it as well.
LAYERS = (
    ("foundation", ("effgrok", "tasks", "constants", "_checks", "_parallel", "scan", "results")),
    ("models", ("effective", "kernels", "nets")),
    ("measurements", ("diagnostics", "solvable")),
    ("outputs", ("plot",)),
    ("interface", ("cli",)),
)
GROUP_LAYER = {group: depth for depth, (_, groups) in enumerate(LAYERS) for group in groups}

#: Imports allowed inside one layer (any lower layer is always allowed): the foundation's
#: modules use each other; the networks use the toy model's start and the lazy→rich problem.
SAME_LAYER = {"nets": {"effective", "kernels"}}
OPEN_LAYERS = {0}  # layers whose groups may all import each other

#: Third-party packages a group must not import.
JAX = {"jax", "jaxlib", "neural_tangents", "optax", "flax"}
FORBIDDEN = {"effective": JAX}  # and the foundation (below)
#: matplotlib belongs to plot alone (the backend is chosen once there).
MATPLOTLIB_GROUPS = {"plot"}

#: Known breaks of the rules, with the reason; each fails loudly once fixed (strict xfail), and
#: its entry must then go.
KNOWN = {}


def layer(group: str) -> int | None:
    """The layer of a group; private top-level modules are foundation."""
    return 0 if group.startswith("_") else GROUP_LAYER.get(group)


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def group(name: str) -> str:
    """``effgrok.effective.spectrum`` -> ``effective``; ``effgrok.plot_x`` -> ``plot``."""
    parts = name.split(".")
    if len(parts) == 1:
        return "effgrok"
    first = parts[1]
    if first == "__main__":
        return "cli"
    if first == "__version__":
        return "effgrok"
    if first.startswith("plot_"):
        return "plot"
    return first


def _imported(path: Path):
    """Every import of ``path`` as ``(module, names)``, relative ones made absolute.

    ``import a.b`` and ``import_module("a.b")`` are ``("a.b", ())``; ``from m import x, y`` is
    ``("m", ("x", "y"))``; ``from . import a`` takes ``a`` for a module of the package:
    ``("<package>.a", ())``.
    """
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            yield from ((alias.name, ()) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            names = tuple(alias.name for alias in node.names)
            if node.level == 0:
                yield node.module, names
                continue
            base = package
            for _ in range(node.level - 1):
                base = base.rpartition(".")[0]
            if node.module:
                yield f"{base}.{node.module}", names
            else:  # from . import a, b
                yield from ((f"{base}.{a}", ()) for a in names)
        elif isinstance(node, ast.Call) and _is_import_call(node):
            yield node.args[0].value, ()


def imports(path: Path) -> set[str]:
    """Absolute names of everything ``path`` imports, wherever in the file the import stands."""
    return {module for module, _ in _imported(path)}


def _is_import_call(node: ast.Call) -> bool:
    """``importlib.import_module("x")`` or ``__import__("x")`` with a literal absolute name."""
    func = node.func
    named = (isinstance(func, ast.Attribute) and func.attr == "import_module") or (
        isinstance(func, ast.Name) and func.id in ("import_module", "__import__")
    )
    literal = node.args and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str)
    return bool(named and literal and not node.args[0].value.startswith("."))


def violations(path: Path) -> list[str]:
    """The imports of ``path`` that break a rule, each with the rule."""
    name = module_name(path)
    own = group(name)
    if layer(own) is None:
        return [f"{name} is in no layer: add {own!r} to LAYERS here and to docs/architecture.md"]
    bad = []
    for target in sorted(imports(path)):
        top = target.split(".")[0]
        if top == "validation":
            bad.append(f"{name} imports {target}: nothing under effgrok imports validation")
        elif top == "effgrok":
            other = group(target)
            if other == own:
                continue
            if layer(other) is None:
                bad.append(f"{name} imports {target}, which is in no layer")
            elif layer(other) > layer(own) or (
                layer(other) == layer(own)
                and layer(own) not in OPEN_LAYERS
                and other not in SAME_LAYER.get(own, ())
            ):
                bad.append(f"{name} ({own}) imports {target} ({other}): not allowed by the layers")
        elif top in FORBIDDEN.get(own, ()) or (layer(own) == 0 and top in JAX):
            bad.append(f"{name} ({own}) imports {target}: {own} must not import JAX")
        elif top == "matplotlib" and own not in MATPLOTLIB_GROUPS:
            bad.append(f"{name} ({own}) imports {target}: only plot imports matplotlib")
    return bad


MODULES = sorted(PACKAGE.rglob("*.py"))


def _param(path: Path):
    name = module_name(path)
    marks = [pytest.mark.xfail(reason=KNOWN[name], strict=True)] if name in KNOWN else []
    return pytest.param(path, id=name, marks=marks)


@pytest.mark.parametrize("path", [_param(p) for p in MODULES])
def test_imports_follow_the_layers(path):
    assert violations(path) == []


def test_the_rules_catch_what_they_should(tmp_path, monkeypatch):
    """The checker itself: function-level imports, relative imports, JAX and validation."""
    fake = tmp_path / "effgrok"
    (fake / "effective").mkdir(parents=True)
    (fake / "effective" / "bad.py").write_text(
        "import numpy\n"
        "def f():\n"
        "    import jax.numpy as jnp\n"
        "    from ..plot import save\n"
        "    from validation import framework\n"
        "    return importlib.import_module('neural_tangents')\n"
    )
    monkeypatch.setattr(sys.modules[__name__], "ROOT", tmp_path)
    found = violations(fake / "effective" / "bad.py")
    assert len(found) == 4, found
    assert any("jax.numpy" in v for v in found) and any("neural_tangents" in v for v in found)
    assert any("effgrok.plot" in v for v in found) and any("validation" in v for v in found)
    (fake / "_helpers.py").write_text("from . import scan, results\nfrom .nets import toy\n")
    found = violations(fake / "_helpers.py")  # private modules are foundation: no models
    assert found == ["effgrok._helpers (_helpers) imports effgrok.nets (nets): not allowed by the layers"]


def test_the_page_shows_every_layer():
    page = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    for _, groups in LAYERS:
        for name in groups:
            assert f"`{name}`" in page, f"docs/architecture.md does not mention {name}"
    assert "tests/test_architecture.py" in page


# --------------------------------------------------------------------------- no import circles (issue 26)
def module_imports(path: Path, modules: set[str]) -> set[str]:
    """The modules of ``modules`` that ``path`` imports, at any level of the file.

    ``from .x import f`` and ``from . import x`` both name the module ``x`` when ``x`` is one;
    an imported name that is not a module counts as its package (``from .. import tasks`` is the
    module ``effgrok.tasks``; ``from ..tasks import Task`` is too).
    """
    name = module_name(path)
    named = set()
    for module, names in _imported(path):
        named.update(f"{module}.{a}" if f"{module}.{a}" in modules else module for a in names)
        if not names:
            named.add(module)
    found = set()
    for target in named:
        while target and target not in modules:  # a name inside a module -> that module
            target = target.rpartition(".")[0]
        if target and target != name:
            found.add(target)
    return found


def mutual_imports(root: Path = PACKAGE) -> list[str]:
    """Every pair of modules under ``root`` that import each other (``a <-> b``)."""
    paths = {module_name(p): p for p in sorted(root.rglob("*.py"))}
    graph = {name: module_imports(path, set(paths)) for name, path in paths.items()}
    return sorted(f"{a} <-> {b}" for a, targets in graph.items() for b in targets if a < b and a in graph[b])


def test_no_two_modules_import_each_other():
    """A circle of two modules is one module in two files (or a layer upside down): each half
    needs the other to import.  Function-level imports count as well."""
    assert mutual_imports() == []


def test_the_circle_rule_can_fail(tmp_path, monkeypatch):
    fake = tmp_path / "effgrok" / "effective"
    fake.mkdir(parents=True)
    (fake / "__init__.py").write_text("")
    (fake / "a.py").write_text("from .b import f\n")
    (fake / "b.py").write_text("def f():\n    from . import a\n")  # deferred: still a circle
    (fake / "c.py").write_text("from effgrok.effective.b import f\n")  # one way only: fine
    monkeypatch.setattr(sys.modules[__name__], "ROOT", tmp_path)
    assert mutual_imports(tmp_path / "effgrok") == ["effgrok.effective.a <-> effgrok.effective.b"]


# --------------------------------------------------------------------------- sizes (issue 17)
#: The longest a function may be: its lines without its docstring (the docstring is the
#: documentation -- the math, the parameters, the examples -- and is not limited).
MAX_FUNCTION_LINES = 80
#: The longest a module of the command-line package may be.
MAX_CLI_MODULE_LINES = 600


def _code_lines(node: ast.FunctionDef | ast.AsyncFunctionDef) -> int:
    lines = node.end_lineno - node.lineno + 1
    first = node.body[0]
    if (
        isinstance(first, ast.Expr)
        and isinstance(first.value, ast.Constant)
        and isinstance(first.value.value, str)
    ):
        lines -= first.end_lineno - first.lineno + 1
    return lines


def _explained_numba_kernel(node, source: list[str]) -> bool:
    """A ``numba`` kernel whose length is explained in a comment right above its decorators."""
    decorators = [ast.unparse(d) for d in node.decorator_list]
    if not any(d.startswith(("nb.njit", "njit", "numba.njit")) for d in decorators):
        return False
    top = min(d.lineno for d in node.decorator_list) - 2
    return (
        top >= 0
        and source[top].lstrip().startswith("#")
        and "80 lines" in " ".join(source[top - 3 : top + 1])
    )


def long_functions(root: Path = PACKAGE) -> list[str]:
    found = []
    for path in sorted(root.rglob("*.py")):
        text = path.read_text(encoding="utf-8")
        source = text.splitlines()
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                n = _code_lines(node)
                if n > MAX_FUNCTION_LINES and not _explained_numba_kernel(node, source):
                    found.append(f"{path.name}:{node.lineno} {node.name} ({n} lines)")
    return found


#: The trees the length rule covers: the library and the validation suite (its cases included).
LENGTH_ROOTS = (PACKAGE, ROOT / "validation")


@pytest.mark.parametrize("root", LENGTH_ROOTS, ids=lambda p: p.name)
def test_no_function_is_longer_than_80_lines(root):
    assert long_functions(root) == []


def test_the_length_rule_can_fail(tmp_path):
    body = "\n".join(f"    x{k} = {k}" for k in range(81))
    (tmp_path / "m.py").write_text(f'def f():\n    """doc\n\n    more doc\n    """\n{body}\n')
    assert long_functions(tmp_path) == ["m.py:1 f (82 lines)"]


def test_no_cli_module_is_longer_than_600_lines():
    sizes = {p.name: len(p.read_text(encoding="utf-8").splitlines()) for p in (PACKAGE / "cli").glob("*.py")}
    assert sizes and max(sizes.values()) <= MAX_CLI_MODULE_LINES, sizes


#: The trainers that stay as wrappers over the driver (issue 26: at most 20 lines of body each).
WRAPPERS = (
    ("effgrok/nets/modular.py", "train_modular"),
    ("effgrok/nets/transformer.py", "train_transformer"),
    ("effgrok/nets/digits.py", "train_digits"),
    ("effgrok/nets/lazy_rich.py", "train_lazy_rich"),
    ("effgrok/nets/toy.py", "train_toy"),
)
MAX_WRAPPER_LINES = 20


@pytest.mark.parametrize(("path", "name"), WRAPPERS, ids=[n for _, n in WRAPPERS])
def test_every_trainer_is_a_thin_wrapper_over_the_driver(path, name):
    """At most 20 lines of body (after the signature and the docstring), and a call of the
    driver's ``train``."""
    tree = ast.parse((ROOT / path).read_text(encoding="utf-8"))
    node = next(n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == name)
    body = node.body[1:] if isinstance(node.body[0], ast.Expr) else node.body
    lines = body[-1].end_lineno - body[0].lineno + 1
    driver_train = {  # the name the module gives the driver's train (toy.py: train_driver)
        a.asname or a.name
        for n in ast.walk(tree)
        if isinstance(n, ast.ImportFrom) and n.module == "driver"
        for a in n.names
        if a.name == "train"
    }
    calls = {c.func.id for c in ast.walk(node) if isinstance(c, ast.Call) and isinstance(c.func, ast.Name)}
    assert lines <= MAX_WRAPPER_LINES and calls & driver_train, (lines, sorted(calls), driver_train)
