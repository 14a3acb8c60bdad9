"""The command line every tutorial shares: ``python docs/tutorials/NAME.py [--out DIR] [--small]``."""

from __future__ import annotations

import argparse
from pathlib import Path


def run(main, doc: str, small: str = "the quick version (seconds)") -> None:
    """Parse ``--out`` and ``--small`` and call ``main(out, small=...)``."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("runs/tutorials"), help="output folder")
    parser.add_argument("--small", action="store_true", help=small)
    args = parser.parse_args()
    main(args.out, small=args.small)
