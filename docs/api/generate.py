"""Write the pages of ``docs/api/names/``: one page per package, generated from its ``__all__``.

Each page lists every name the package exports, grouped by the module it comes from, with its
signature and the first paragraph of its docstring (the full documentation is on the module
pages next to it).  Run after changing a package's ``__all__``, a signature or a summary line::

    uv run python docs/api/generate.py           # rewrite the pages
    uv run python docs/api/generate.py --check   # exit 1 if a page is out of date

``tests/test_public_api.py`` checks that the pages are up to date and that every exported name
is documented, with :func:`docstring` below (a function's or class's own docstring, a module's
docstring, or for data the ``#:`` comment above its assignment).
"""

from __future__ import annotations

import argparse
import ast
import importlib
import inspect
import re
import sys
from pathlib import Path

DOCS = Path(__file__).resolve().parents[1]
ROOT = DOCS.parent
OUT = DOCS / "api" / "names"
if str(ROOT) not in sys.path:  # the checkout's effgrok, also when not installed
    sys.path.insert(0, str(ROOT))

#: Packages without a page: the command line's only public name is its entry point.
SKIP = ("effgrok.cli",)


def packages() -> list[str]:
    """``effgrok`` and every package below it (found on disk, so new ones get a page)."""
    found = sorted(
        ".".join(p.parent.relative_to(ROOT).parts) for p in (ROOT / "effgrok").rglob("__init__.py")
    )
    return [p for p in found if not any(part.startswith("_") for part in p.split("."))]


def modules() -> list[str]:
    """Every public module and package under ``effgrok`` (no part of the name starts with ``_``).

    The modules inside ``effgrok/cli/`` are the command line's implementation: their interface
    is the command line itself (``effgrok --help``), and the package's Python API is
    ``effgrok.cli.main`` alone, so only the package is listed."""
    found = []
    for path in sorted((ROOT / "effgrok").rglob("*.py")):
        parts = list(path.relative_to(ROOT).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        if parts[:2] == ["effgrok", "cli"] and len(parts) > 2:
            continue
        if not any(part.startswith("_") for part in parts):
            found.append(".".join(parts))
    return found


# --------------------------------------------------------------------------- documentation of a name
def _comment_doc(source: list[str], node: ast.stmt) -> str:
    """The ``#:`` comment lines right above an assignment (Sphinx's attribute comments)."""
    lines, i = [], node.lineno - 2
    while i >= 0 and source[i].lstrip().startswith("#:"):
        lines.insert(0, source[i].lstrip()[2:].strip())
        i -= 1
    return " ".join(lines)


def _data_doc(module_name: str, name: str, seen: frozenset = frozenset()) -> tuple[str, str]:
    """(defining module, documentation) of module-level data: ``#:`` above its assignment,
    following re-exports; ``("", "")`` if there is none."""
    if module_name in seen:
        return "", ""
    module = importlib.import_module(module_name)
    path = getattr(module, "__file__", None)
    if not path:
        return "", ""
    text = Path(path).read_text(encoding="utf-8")
    tree, source = ast.parse(text), text.splitlines()
    body = tree.body
    for k, node in enumerate(body):
        targets = node.targets if isinstance(node, ast.Assign) else [getattr(node, "target", None)]
        if any(isinstance(t, ast.Name) and t.id == name for t in targets):
            doc = _comment_doc(source, node)
            nxt = body[k + 1] if k + 1 < len(body) else None
            if not doc and isinstance(nxt, ast.Expr) and isinstance(nxt.value, ast.Constant):
                doc = str(nxt.value.value) if isinstance(nxt.value.value, str) else ""
            if doc:
                return module_name, doc
    package = module_name if path.endswith("__init__.py") else module_name.rpartition(".")[0]
    for node in body:  # re-exported: follow ``from X import name`` and ``from X import *``
        if isinstance(node, ast.ImportFrom) and any(a.name in (name, "*") for a in node.names):
            base = package
            for _ in range(node.level - 1):
                base = base.rpartition(".")[0]
            source_module = f"{base}.{node.module}" if node.level and node.module else node.module or base
            found = _data_doc(source_module, name, seen | {module_name})
            if found[1]:
                return found
    return "", ""


def docstring(module_name: str, name: str) -> str:
    """The documentation of ``module_name.name``: its own docstring, or ``#:`` comments for data."""
    module = importlib.import_module(module_name)
    obj = getattr(module, name)
    if name in getattr(module, "_ORIGIN", {}):  # the lazy top level: where the name comes from
        return docstring(f"{module_name}.{module._ORIGIN[name]}", name)
    if inspect.ismodule(obj) or inspect.isclass(obj) or inspect.isroutine(obj) or _is_jitted(obj):
        doc = obj.__doc__ if not inspect.isclass(obj) else obj.__dict__.get("__doc__")
        return inspect.cleandoc(doc) if doc else ""
    return _data_doc(module_name, name)[1]


def _is_jitted(obj) -> bool:
    return hasattr(obj, "py_func") and callable(obj)  # numba dispatchers


def summary(doc: str) -> str:
    """The first paragraph of a docstring, on one line, as MyST markdown."""
    first = doc.strip().split("\n\n")[0]
    text = " ".join(line.strip() for line in first.splitlines())
    text = re.sub(r"`([^`<]+?)\s*<([^`>]+)>`_", r"[\1](\2)", text)  # `text <url>`_
    text = re.sub(r":(?:py:)?(\w+):`", r"{\1}`", text)  # :func:`x` -> {func}`x`
    text = re.sub(r"``(.+?)``", r"`\1`", text)  # ``code`` -> `code`
    return re.sub(r"::$", ":", text)


def signature(name: str, obj) -> str:
    """``name(params) -> return`` for a callable, ``class Name(params)``, or ``name: type`` for data."""
    if inspect.ismodule(obj):
        return f"module {obj.__name__}"
    target = obj.py_func if _is_jitted(obj) else obj
    if inspect.isclass(obj) or callable(target):
        try:
            sig = str(_unquoted(inspect.signature(target)))
        except (TypeError, ValueError):
            sig = "(...)"
        sig = re.sub(r" at 0x[0-9a-fA-F]+", "", sig)  # no memory addresses in default values
        return f"class {name}{sig.removesuffix(' -> None')}" if inspect.isclass(obj) else f"{name}{sig}"
    return f"{name}: {type(obj).__name__}"


class _Source(str):
    """An annotation kept as source text (``from __future__ import annotations``), shown unquoted."""

    def __repr__(self) -> str:
        return str(self)


def _unquoted(sig: inspect.Signature) -> inspect.Signature:
    """The signature with its string annotations written as in the source, without quotes."""

    def raw(annotation):
        return _Source(annotation) if isinstance(annotation, str) else annotation

    params = [p.replace(annotation=raw(p.annotation)) for p in sig.parameters.values()]
    return sig.replace(parameters=params, return_annotation=raw(sig.return_annotation))


# --------------------------------------------------------------------------- pages
def _origin(package: str, name: str, obj) -> str:
    """The direct submodule of ``package`` that exports ``name`` (the package itself if none).

    The top level says where each name comes from (``effgrok._ORIGIN``, its lazy map).
    """
    pkg = importlib.import_module(package)
    lazy = getattr(pkg, "_ORIGIN", {})
    if name in lazy:
        return f"{package}.{lazy[name]}"
    prefix = package + "."
    for child in (m for m in modules() if m.startswith(prefix) and "." not in m[len(prefix) :]):
        module = importlib.import_module(child)
        if name in getattr(module, "__all__", ()) and getattr(module, name, None) is obj:
            return child
    return package


def _target(module_name: str, name: str, obj) -> str:
    """The dotted path of the documented object (where autodoc puts it)."""
    if inspect.ismodule(obj):
        return obj.__name__
    home = getattr(obj, "__module__", None)
    if (
        (inspect.isclass(obj) or inspect.isroutine(obj) or _is_jitted(obj))
        and home
        and home.startswith("effgrok")
    ):
        return f"{home}.{getattr(obj, '__qualname__', name)}"
    home = _data_doc(module_name, name)[0]
    return f"{home or module_name}.{name}"


def page(package: str) -> str:
    """The markdown page of one package."""
    pkg = importlib.import_module(package)
    objects = {name: getattr(pkg, name) for name in pkg.__all__ if name != "__version__"}
    groups: dict[str, list[str]] = {}
    for name, obj in objects.items():
        groups.setdefault(_origin(package, name, obj), []).append(name)
    lines = [
        f"# {package}",
        "",
        f"<!-- generated from {package}.__all__ by docs/api/generate.py; do not edit -->",
        "",
        summary(inspect.cleandoc(pkg.__doc__ or "")),
        "",
        f"`{package}` exports {len(objects)} names.",
    ]
    current = None
    for origin in sorted(groups):
        lines += ["", f"## From `{origin}`" if origin != package else f"## `{package}`"]
        targets = {name: _target(origin, name, objects[name]) for name in groups[origin]}
        homes = {n: t if inspect.ismodule(objects[n]) else t.rpartition(".")[0] for n, t in targets.items()}
        for name in sorted(groups[origin], key=lambda n: (homes[n], n.lower(), n)):
            obj, target, home = objects[name], targets[name], homes[name]
            if home != current:  # short references in the summary resolve where the name lives
                lines += ["", f"```{{py:currentmodule}} {home}", "```"]
                current = home
            role = "py:mod" if inspect.ismodule(obj) else "py:obj"
            doc = summary(docstring(origin, name))
            lines += ["", f"### `{name}`", "", "```python", signature(name, obj), "```", ""]
            lines += [f"{doc} ({{{role}}}`more <{target}>`)"]
    return "\n".join(lines) + "\n"


def pages() -> dict[Path, str]:
    """Every page of ``docs/api/names/`` with its text, the index included."""
    names = [p for p in packages() if p not in SKIP]
    out = {OUT / f"{p}.md": page(p) for p in names}
    index = [
        "# Public names by package",
        "",
        "<!-- generated by docs/api/generate.py; do not edit -->",
        "",
        "Every name each package exports (its `__all__`), with its signature and summary line,",
        "generated from the code.  `import effgrok as eg` loads these lazily: `import effgrok`",
        "imports neither numba nor JAX nor matplotlib.",
        "",
        "```{toctree}",
        ":maxdepth: 1",
        "",
        *names,
        "```",
    ]
    out[OUT / "index.md"] = "\n".join(index) + "\n"
    return out


def stale() -> list[Path]:
    """Pages that differ from what :func:`pages` writes, and pages that should not be there."""
    want = pages()
    wrong = [p for p, text in want.items() if not p.is_file() or p.read_text(encoding="utf-8") != text]
    extra = [p for p in sorted(OUT.glob("*.md")) if p not in want]
    return wrong + extra


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="only report pages that are out of date")
    args = parser.parse_args(argv)
    if args.check:
        bad = stale()
        for path in bad:
            print(f"out of date: {path.relative_to(ROOT)}")
        return 1 if bad else 0
    OUT.mkdir(parents=True, exist_ok=True)
    want = pages()
    for path in sorted(OUT.glob("*.md")):
        if path not in want:
            path.unlink()
    for path, text in want.items():
        path.write_text(text, encoding="utf-8")
        print(f"wrote {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
