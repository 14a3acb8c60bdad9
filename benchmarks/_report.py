"""How a benchmark talks: its command line (its docstring as help, ``--json PATH``), one
summary line on stdout and, with ``--json``, its record."""

from __future__ import annotations

import argparse
import json


def parser(doc: str | None) -> argparse.ArgumentParser:
    """A benchmark's argument parser, ``--json PATH`` already declared."""
    ap = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--json", type=str, default=None, help="also write the record to this JSON file")
    return ap


def report(record: dict, line: str, path: str | None) -> None:
    """Print ``line``; write ``record`` as indented JSON to ``path`` when one is given."""
    print(line)
    if path:
        with open(path, "w") as fh:
            json.dump(record, fh, indent=2)
