"""How a benchmark reports: one summary line on stdout and, with ``--json PATH``, its record."""

from __future__ import annotations

import json


def report(record: dict, line: str, path: str | None) -> None:
    """Print ``line``; write ``record`` as indented JSON to ``path`` when one is given."""
    print(line)
    if path:
        with open(path, "w") as fh:
            json.dump(record, fh, indent=2)
