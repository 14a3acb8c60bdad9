"""What a command returns (:class:`Outcome`) and the one writer of every command's output.

A command computes, then describes its result once: the JSON-ready record(s), the CSV tables,
the figures (callables drawing into a path), the ``.npz`` arrays and the human summary.
:func:`emit` prints ``--json`` or the summary; :func:`save` writes everything under ``--out``:
the tables, the arrays, ``<name>.json`` (with provenance) and the figures, in that order.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class Outcome:
    """The result of one command.

    ``records`` are JSON-ready dicts: ``--json`` prints the one record, or ``{"results": [...]}``
    for several; ``<name>.json`` holds ``{"provenance", "result": record}`` (``"results"`` with
    ``many``).  ``tables`` maps a CSV file stem to its rows (columns: the first row's keys) or
    to ``(rows, columns)``; ``figures`` a PNG stem to a callable taking the path; ``arrays`` an
    ``.npz`` stem to its arrays; ``text`` is the human summary; ``printed``, if set, is what
    ``--json`` prints in place of the record.
    """

    name: str
    records: list[dict]
    text: str
    tables: dict[str, list[dict] | tuple[list[dict], list[str]]] = field(default_factory=dict)
    figures: dict[str, Callable[[Path], object]] = field(default_factory=dict)
    arrays: dict[str, dict] = field(default_factory=dict)
    many: bool = False
    #: what ``--json`` prints instead of the record, if set (e.g. an ensemble's summary)
    printed: dict | None = None

    @property
    def record(self) -> dict:
        """The record saved under ``--out`` (and printed by ``--json`` unless ``printed``)."""
        return self.records[0] if len(self.records) == 1 else {"results": self.records}


def figure(name: str, *args, **kwargs) -> Callable[[Path], object]:
    """The figure ``effgrok.plot.<name>(*args, path, **kwargs)``, drawn (and matplotlib imported)
    only when the outcome is saved."""

    def draw(path: Path):
        from .. import plot

        return getattr(plot, name)(*args, path, **kwargs)

    return draw


def merged_tables(results) -> dict[str, list[dict]]:
    """The ``tables()`` of several results, each table's rows one after the other."""
    merged: dict[str, list[dict]] = {}
    for result in results:
        for name, rows in result.tables().items():
            merged.setdefault(name, []).extend(rows)
    return merged


def arguments(args) -> dict:
    """The parsed options as JSON-ready values (paths as strings)."""
    return {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items() if k != "run"}


def save(outcome: Outcome, out: Path, prov: dict) -> None:
    """Write ``outcome`` under the folder ``out``: tables, arrays, ``<name>.json``, then figures."""
    from ..results import save as save_files

    body = {"results": outcome.records} if outcome.many else {"result": outcome.records[0]}
    save_files(out, outcome.name, body, provenance=prov, tables=outcome.tables, arrays=outcome.arrays)
    for stem, draw in outcome.figures.items():
        draw(out / f"{stem}.png")


def emit(outcome: Outcome, args, started: float, elapsed: float) -> None:
    """Write ``--out`` (if given), then print ``--json`` or the summary."""
    if args.out is not None:
        from ..results import provenance

        save(outcome, args.out, provenance(arguments(args), elapsed, started))
    if args.json:
        from ..results import to_jsonable

        shown = outcome.record if outcome.printed is None else outcome.printed
        print(json.dumps(to_jsonable(shown), allow_nan=False))
    else:
        print(outcome.text)
        if args.out is not None:
            print(f"results written to {args.out}/")
