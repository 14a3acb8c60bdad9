"""The ``effgrok`` command.

One module per command group (:mod:`.theory`, :mod:`.simulate`, :mod:`.kernels`, :mod:`.train`,
:mod:`.phase`, :mod:`.diagnostics`, :mod:`.weight_norm`, :mod:`.solvable`, :mod:`.inspect`);
each registers its options and returns an :class:`~._output.Outcome` that :mod:`._output`
writes.  The library is imported inside the commands, so ``effgrok --help`` and bad input
import neither numba, JAX nor matplotlib.

Every command keeps JAX's compiled programs in a persistent cache (:mod:`._jax_cache`:
``~/.cache/effgrok/jax``, moved or turned off by ``EFFGROK_JAX_CACHE``).

Bad input ends with one line on stderr (``effgrok: error: ...``) and exit code 2;
Ctrl-C with one line (``effgrok: interrupted: N of M chunks kept in DIR; rerun the same
command to resume``, or ``effgrok: interrupted: nothing kept``) and exit code 130.
"""

from __future__ import annotations

import sys
import time

from .._interrupt import sticky_sigint
from ._jax_cache import enable_jax_cache
from ._options import Parser, UsageError, parse_pairs
from ._output import Outcome, emit

__all__ = [
    "EXIT_INTERRUPTED",
    "EXIT_USAGE",
    "Outcome",
    "UsageError",
    "build_parser",
    "console",
    "main",
    "parse_pairs",
]

#: exit code of bad input (one line on stderr)
EXIT_USAGE = 2
#: exit code after Ctrl-C (what is computed so far is kept)
EXIT_INTERRUPTED = 130


def build_parser() -> Parser:
    """The ``effgrok`` argument parser with every command."""
    from .. import __version__
    from ..tasks import TASK_NAMES
    from . import (
        diagnostics,
        inspect,
        kernels,
        learning_time,
        phase,
        simulate,
        solvable,
        theory,
        train,
        weight_norm,
    )

    parser = Parser(prog="effgrok", description="Effective theory of grokking: fast, checkable numbers.")
    parser.add_argument("--version", action="version", version=f"effgrok {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=Parser)
    theory.register(sub, TASK_NAMES)
    simulate.register(sub, TASK_NAMES)
    kernels.register(sub)
    train.register(sub)
    phase.register(sub)
    diagnostics.register(sub)  # issue 10: predict-grok, progress
    solvable.register(sub)  # issue 11: solvable linear|dichotomy
    weight_norm.register(sub)  # issue 10: weight-norm, tickets
    inspect.register(sub, TASK_NAMES)  # issue 18: inspect
    learning_time.register(sub, TASK_NAMES)  # issue 27: predict-time
    return parser


def _check_out(out) -> None:
    """Refuse an ``--out`` folder that cannot be created or written before any work is done."""
    if out is not None:
        from ..results import writable_folder

        try:
            writable_folder(out, "--out")
        except ValueError as exc:
            raise UsageError(str(exc)) from None


def _interrupted(exc: KeyboardInterrupt, argv: list[str]) -> str:
    """The one line after Ctrl-C: the scan's chunks kept, or that nothing was kept."""
    from ..scan import ScanInterrupted

    if isinstance(exc, ScanInterrupted):
        return str(exc)
    if "--out" in argv or any(a.startswith("--out=") for a in argv):
        return "interrupted: nothing kept"
    return "interrupted: nothing kept (no --out)"


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``effgrok`` console script; returns the exit code."""
    argv = sys.argv[1:] if argv is None else list(argv)
    started = time.time()
    try:
        args = build_parser().parse_args(argv)
        _check_out(args.out)
        enable_jax_cache()  # before any command compiles (sets JAX's variables; imports no JAX)
        with sticky_sigint():  # a Ctrl-C that Python drops is raised again (effgrok._interrupt)
            outcome = args.run(args)
        emit(outcome, args, started, time.time() - started)
        return 0
    except ValueError as exc:  # UsageError, and the library's checks
        msg = " ".join(str(exc).split())
        print(f"effgrok: error: {msg}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt as exc:
        print(f"effgrok: {_interrupted(exc, argv)}", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:  # e.g. `effgrok ... --json | head`: the reader left, nothing to report
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


def console() -> None:
    """The ``effgrok`` process: :func:`main` on ``sys.argv``, then exit with its code.

    After Ctrl-C the process ends at once (``os._exit``, once its one line is flushed) instead of
    running the interpreter's shutdown: that shutdown joins the process pool's manager thread
    (which could wait tens of seconds on a loaded machine) and collects objects that the
    interrupt left half-built inside numba's compiler (whose ``__del__`` then printed
    tracebacks), and a late ``KeyboardInterrupt`` there made the process die of SIGINT (exit
    -2) after it had printed its line.  What a command keeps is on disk before :func:`main`
    returns (chunks are written whole, then renamed).
    """
    code = main()
    if code == EXIT_INTERRUPTED:
        import os

        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except (OSError, ValueError):  # a closed or broken pipe: nothing more to say
                pass
        os._exit(code)
    sys.exit(code)


if __name__ == "__main__":  # pragma: no cover
    console()
