"""Option types and option groups of the ``effgrok`` command, each written once.

The types check a value as it is parsed, with the library's own checks (:mod:`effgrok._checks`),
so ``effgrok`` and a library function say the same thing about the same bad value; the parser
turns argparse's ``argument --x: must be ...`` into ``--x must be ...``.  Nothing here imports
numba, JAX or matplotlib.
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path

from .. import _checks
from .._record import never_to_none, step_or_none  # noqa: F401  (the commands' record helpers)

MAX_STEPS = 10_000_000
MAX_SEEDS = 4096


class UsageError(ValueError):
    """Bad command-line input (reported in one line, exit code 2)."""


class Parser(argparse.ArgumentParser):
    """An argument parser whose errors are one line, without the usage dump."""

    def error(self, message):
        m = re.match(r"argument (\S+?)(?:/\S+)?: (must .*)$", message, flags=re.S)
        raise UsageError(f"{m.group(1)} {m.group(2)}" if m else message)


def _checked(check, convert):
    """An argparse type: ``convert`` the text, then ``check("", value)``; the name is filled in by
    :meth:`Parser.error` from the option's flag."""

    def parse(text: str):
        try:
            value = convert(text)
        except ValueError:
            kind = "an integer" if convert is int else "a number"
            raise argparse.ArgumentTypeError(f"must be {kind}, got {text!r}") from None
        try:
            return check("", value)
        except ValueError as exc:
            raise argparse.ArgumentTypeError(str(exc).strip()) from None

    return parse


def integer(lo: int | None = None, hi: int | None = None):
    """An integer in ``lo..hi`` (either bound optional)."""
    return _checked(lambda n, v: _checks.integer(n, v, lo=lo, hi=hi), int)


def finite(text: str) -> float:
    """A finite number."""
    return _checked(_checks.real, float)(text)


def positive(text: str) -> float:
    """A finite number > 0."""
    return _checked(_checks.positive, float)(text)


def nonnegative(text: str) -> float:
    """A finite number >= 0."""
    return _checked(_checks.nonnegative, float)(text)


def fraction(closed: str = "right"):
    """A number in (0, 1] (``closed="right"``), [0, 1], [0, 1) or (0, 1)."""
    return _checked(lambda n, v: _checks.fraction(n, v, closed=closed), float)


# ---------------------------------------------------------------------------------------------
# option groups


def add_options(p, specs) -> None:
    """Register options written as data: ``(flag, kind, default, help)`` each, where ``kind`` is
    the type (a callable), the choices (a tuple), ``None`` (text) or ``bool`` (a switch, default
    ``False``) or an ``argparse.Action`` class; ``flag`` may be a tuple (the name, then
    aliases); a fifth item, a dict, adds keywords of ``add_argument`` (``nargs``, ``required``,
    ...).

    >>> p = Parser(prog="demo")
    >>> add_options(p, [("--n", integer(lo=1), 2, "count"), ("--mode", ("a", "b"), "a", "mode"),
    ...                 ("--v", bool, False, "verbose"), ("--xs", finite, None, "values", {"nargs": "+"})])
    >>> p.parse_args(["--v", "--xs", "1", "2.5"])
    Namespace(n=2, mode='a', v=True, xs=[1.0, 2.5])
    >>> p.parse_args(["--n", "0"])
    Traceback (most recent call last):
    effgrok.cli._options.UsageError: --n must be an integer >= 1, got 0
    """
    for flag, kind, default, text, *more in specs:
        flags = (flag,) if isinstance(flag, str) else flag
        if kind is bool:
            how = {"action": "store_true"}
        elif isinstance(kind, type) and issubclass(kind, argparse.Action):
            how = {"action": kind}
        else:
            how = {"choices": kind} if isinstance(kind, tuple) else {"type": kind}
        p.add_argument(*flags, **{**how, "default": default, "help": text, **(more[0] if more else {})})


def io_options(p, what: str = "CSV + JSON + PNG") -> None:
    """``--json`` and ``--out``."""
    p.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    p.add_argument("--out", type=Path, default=None, help=f"folder for {what} results")


class _NSeeds(argparse.Action):
    """``--n-seeds N``: stores the seeds ``0..N-1`` (in the ``seeds`` of ``--seeds``)."""

    def __call__(self, parser, namespace, value, option_string=None):
        setattr(namespace, self.dest, list(range(value)))


def seeds_option(p, default: int) -> None:
    """The one seed rule of every command: ``--seeds A B ...`` are exactly those seeds, and
    ``--n-seeds N`` the seeds ``0..N-1`` (default ``N = default``); both fill ``args.seeds``
    with the list of seeds that run (the JSON's ``seeds``/``seed``).

    >>> p = Parser(prog="demo")
    >>> seeds_option(p, 2)
    >>> p.parse_args([]).seeds, p.parse_args(["--seeds", "7"]).seeds, p.parse_args(["--n-seeds", "3"]).seeds
    ([0, 1], [7], [0, 1, 2])
    """
    g = p.add_mutually_exclusive_group()
    g.add_argument(
        "--seeds",
        type=integer(lo=0),
        nargs="+",
        default=list(range(default)),
        metavar="SEED",
        help=f"exactly these seeds, e.g. --seeds 0 1 7 (default: --n-seeds {default})",
    )
    g.add_argument(
        "--n-seeds",
        type=integer(1, MAX_SEEDS),
        dest="seeds",
        action=_NSeeds,
        default=argparse.SUPPRESS,
        metavar="N",
        help=f"the seeds 0..N-1 (default {default})",
    )


def seed_list(values: list[int]) -> list[int]:
    """The seeds of ``--seeds``/``--n-seeds`` (see :func:`seeds_option`), each once."""
    seeds = [int(v) for v in values]
    if len(set(seeds)) != len(seeds):
        raise UsageError(f"--seeds must be different seeds, got {' '.join(map(str, seeds))}")
    if len(seeds) > MAX_SEEDS:
        raise UsageError(f"--seeds takes at most {MAX_SEEDS} seeds, got {len(seeds)}")
    return seeds


def schedule_options(p, steps: int | None, what: str = "steps") -> None:
    """``--steps`` and ``--stride``."""
    shown = "" if steps is None else f" (default {steps})"
    p.add_argument("--steps", type=integer(1, MAX_STEPS), default=steps, help=f"{what}{shown}")
    p.add_argument("--stride", type=integer(lo=1), default=None, help="record every this many steps")


def stride(args) -> int:
    """The recording stride: ``--stride``, or the largest divisor of ``--steps`` up to steps/100."""
    _usage(_checks.integer, "--steps", args.steps, lo=1, hi=MAX_STEPS)
    value = args.stride if args.stride is not None else max(1, args.steps // 100)
    while args.stride is None and args.steps % value:
        value -= 1
    if value < 1 or args.steps % value:
        raise UsageError(f"--stride must be >= 1 and divide --steps {args.steps}, got {value}")
    return value


def float64_option(p, what: str = "train") -> None:
    p.add_argument("--float64", action="store_true", help=f"{what} in float64 (default float32)")


def progress_option(
    p, what: str = "progress on stderr (auto: a bar on a terminal, else a line every 10 s)"
) -> None:
    p.add_argument("--progress", choices=("auto", "on", "off"), default="auto", help=what)


def scale_options(p) -> None:
    """``--workers`` and ``--scheduler`` of the scans."""
    p.add_argument(
        "--workers",
        type=integer(lo=1),
        default=None,
        help="local worker processes (default: all cores for long scans, in-process for short ones)",
    )
    p.add_argument(
        "--scheduler",
        type=str,
        default=None,
        help="Dask distributed scheduler address, e.g. tcp://host:8786 (not with --workers)",
    )
    p.add_argument(
        "--connect-timeout",
        type=positive,
        default=None,
        help="seconds to wait for the --scheduler before giving up (default: the scan function's "
        "connect_timeout, filled by the command)",
    )


def check_scale(args) -> None:
    """``--scheduler`` is an address, and not given together with ``--workers``."""
    if args.scheduler is not None:
        from ..scan import check_scheduler_address

        check_scheduler_address(args.scheduler)
        if args.workers is not None:
            raise UsageError(
                "--workers and --scheduler exclude each other (the Dask cluster has its own workers); "
                "give one of them"
            )


def task_options(p, task_names) -> None:
    """``--task`` (required) and ``--p`` (several allowed) of the theory commands, with ``--seed``."""
    p.add_argument("--task", required=True, choices=task_names, help="binary operation")
    p.add_argument("--p", type=integer(), nargs="+", default=None, help="number of symbols (several allowed)")
    p.add_argument("--seed", type=integer(lo=0), default=0, help="random seed (default 0)")


def modular_task_options(p, p_help: str, library: str | None = None) -> None:
    """``--task`` and ``--p`` (``p`` filled from the library, ``p_help`` says where); ``--task``
    too where ``library`` names the protocol that holds it (else add-mod)."""
    task, shown = (None, f"default: {library}") if library else ("add-mod", "default add-mod")
    p.add_argument("--task", default=task, help=f"add-mod, sub-mod, mul-mod, ... ({shown})")
    p.add_argument("--p", type=integer(), default=None, help=p_help)


_TOY_MODEL = (  # (flag, type or choices, default, help); see add_options; None: ToyConfig's default
    ("--dim", integer(1, 256), None, "embedding dimension (default: ToyConfig's, 1)"),
    ("--batch-size", integer(), None, "training examples per step, drawn without replacement "
     "(default: ToyConfig's, 45, the reference code's); 0: full batch"),
    ("--variant", ("regression", "classification"), None,
     "regression onto random templates (ToyConfig's default) or classification"),
)  # fmt: skip


def toy_options(p) -> None:
    """The toy model's task, training set size, schedule and model options (defaults: the
    library's, :class:`effgrok.nets.toy.ToyConfig`; filled by ``train.toy_setup``)."""
    p.add_argument("--task", default="add", help="binary operation (default add)")
    p.add_argument("--p", type=integer(), default=10, help="number of symbols (default 10)")
    g = p.add_mutually_exclusive_group()
    g.add_argument("--n-train", type=integer(), default=None, help="training pairs (default 45)")
    train_fraction_option(g, "training fraction in (0, 1]")
    schedule_options(p, None, "training steps (default: ToyConfig's, 5000)")
    add_options(p, _TOY_MODEL)
    float64_option(p)
    io_options(p)


def toy_optimizer_options(p, *, wd_emb: bool = True) -> None:
    """Learning rates and weight decays of the toy model's embedding and decoder (defaults:
    :func:`effgrok.nets.toy.train_toy`'s)."""
    flags = (
        ["--lr-emb", "--wd-emb", "--lr-dec", "--wd-dec"] if wd_emb else ["--lr-emb", "--lr-dec", "--wd-dec"]
    )
    for flag in flags:
        kind, what = (positive, "learning rate") if flag.startswith("--lr") else (nonnegative, "weight decay")
        part = "embedding" if flag.endswith("emb") else "decoder"
        p.add_argument(flag, type=kind, default=None, help=f"{part} {what} (default: train_toy's)")


#: the flags of the two optimiser settings in every command: the glossary's name, then the
#: short alias; the option (``args.learning_rate``) and the JSON key are the glossary's name
LEARNING_RATE = ("--learning-rate", "--lr")
WEIGHT_DECAY = ("--weight-decay", "--wd")


def train_fraction_option(p, text: str, *, default=None, nargs=None, closed: str = "right") -> None:
    """``--train-frac``, alias ``--train-fraction``, into the parser or group ``p``: the training
    fraction (``args.train_fraction``, the glossary's name), a number in (0, 1] (``closed``: as
    :func:`fraction`), several with ``nargs``."""
    p.add_argument(
        "--train-frac",
        "--train-fraction",
        dest="train_fraction",
        type=fraction(closed),
        nargs=nargs,
        default=default,
        help=text,
    )


def _shown(value, library: str) -> str:
    return f"default {value:g}" if value is not None else f"default: {library}"


def mlp_options(
    p,
    *,
    hidden: int | None,
    hidden_help: str | None = None,
    library: str = "the library's",
) -> None:
    """``--hidden``, ``--learning-rate`` and ``--weight-decay`` of the MLP trainers (AdamW);
    a default ``None`` is filled from the library (``library`` names where, in the help)."""
    p.add_argument(
        "--hidden",
        type=integer(1, 65536),
        default=hidden,
        help=hidden_help or f"hidden width ({_shown(hidden, library)})",
    )
    p.add_argument(*LEARNING_RATE, type=positive, help=f"AdamW learning rate (default: {library})")
    p.add_argument(*WEIGHT_DECAY, type=nonnegative, help=f"AdamW weight decay (default: {library})")


def library_defaults(args, function, names, *presets: dict, keyword: dict | None = None) -> None:
    """Fill each option of ``names`` that ``args`` holds as ``None``: from the first of
    ``presets`` (the library's named protocols, e.g. :data:`effgrok.nets.modular.DEMO`) that
    names it, else from ``function``'s default for that keyword (where it has one that is not
    ``None``) -- so a command's defaults are the library's, never restated.  ``keyword`` maps an
    option to the keyword of ``function`` that takes it where their names differ.  An option
    that is no keyword of ``function`` but a field of a keyword's default object -- ``steps`` of
    ``schedule=Schedule(...)``, ``beta2`` of ``optimizer=AdamW(...)`` -- reads that field.

    >>> from dataclasses import dataclass
    >>> @dataclass(frozen=True)
    ... class Plan:
    ...     steps: int = 10
    >>> def train(task, *, plan=Plan(), loss="mse", learning_rate=None): ...
    >>> ns = argparse.Namespace(steps=None, loss=None, learning_rate=None, p=None)
    >>> library_defaults(ns, train, ["steps", "loss", "learning_rate", "p"], {"loss": "ce", "p": 5})
    >>> ns
    Namespace(steps=10, loss='ce', learning_rate=None, p=5)
    """
    import dataclasses
    import inspect

    params = inspect.signature(function).parameters
    defaults = [p.default for p in params.values() if p.default is not inspect.Parameter.empty]
    objects = [d for d in defaults if dataclasses.is_dataclass(d) and not isinstance(d, type)]
    for name in names:
        if getattr(args, name) is not None:
            continue
        value = next((d[name] for d in presets if name in d), None)
        kw = (keyword or {}).get(name, name)
        if value is None and kw in params and params[kw].default is not inspect.Parameter.empty:
            value = params[kw].default
        elif value is None and kw not in params:
            value = next(
                (getattr(d, kw) for d in objects if kw in {f.name for f in dataclasses.fields(d)}), None
            )
        setattr(args, name, value)


def schedule(args, **fields):
    """The :class:`~effgrok.nets.driver.Schedule` of ``--steps`` and ``--stride`` (see
    :func:`stride`), with the other ``fields`` of the schedule (``snapshot_stride``, ...)."""
    from ..nets.driver import Schedule

    return Schedule(args.steps, stride(args), **fields)


def run_rows(runs, steps: str = "", seeds=None, **columns) -> list[dict]:
    """The per-run rows of a trainer's result, JSON- and CSV-ready: ``runs.tables()["runs"]``
    (the library's per-run values and each curve's final value) with each run's seed as
    ``seed`` (``seeds`` where the result has none), the space-separated ``steps`` columns
    (first-crossing steps) as integers (``None``: never), then the extra ``columns``
    (name -> one value per run)."""
    from .._record import jsonable

    rows = []
    for r, row in enumerate(runs.tables()["runs"]):
        row = {("seed" if k == "seeds" else k): v for k, v in row.items()}
        if seeds is not None:
            row["seed"] = int(seeds[r])
        row.update({k: step_or_none(row[k]) for k in steps.split()})
        row.update({k: v[r] for k, v in columns.items()})
        rows.append(jsonable(row))
    return rows


def digits_options(p) -> None:
    """The digits MLP of ``weight-norm``: data, seeds, network, schedule."""
    p.add_argument("--n-train", type=integer(), default=500, help="training images (default 500)")
    p.add_argument(
        "--data-seed",
        type=integer(lo=0),
        default=None,
        help="seed of the train/test split (default: load_digits_split's seed)",
    )
    seeds_option(p, 1)
    library = "reduced_landscape's and alpha_sweep's"
    p.add_argument("--width", type=integer(1, 4096), default=None, help=f"hidden width (default: {library})")
    p.add_argument("--depth", type=integer(1, 16), default=None, help=f"weight layers (default: {library})")
    p.add_argument(
        *LEARNING_RATE, type=positive, default=None, help=f"AdamW learning rate (default: {library})"
    )
    schedule_options(p, None, f"training steps (default: {library})")
    float64_option(p)
    io_options(p)


def committee_options(p, samples_hi: int, library: str) -> None:
    """The lazy→rich problem and committee network (``ntk``, ``train lazy-rich``); the defaults
    are ``library``'s, filled by the command (:func:`library_defaults`)."""
    add_options(p, [
        ("--target", None, None, "'paper' (½(β·x)²) or 'hermite:k'"),
        ("--dim", integer(1, 4096), None, "input dimension D"),
        ("--samples", integer(2, samples_hi), None, "training samples P"),
        ("--test-samples", integer(2, samples_hi), None, "test samples"),
        ("--width", integer(1, 100_000), None, "hidden width N"),
        ("--epsilon", nonnegative, None, "quadratic part ε of φ"),
        ("--alpha", positive, None, "output scale(s) α", {"nargs": "+"}),
    ])  # fmt: skip
    for action in p._actions[-7:]:
        action.help += f" (default: {library})"


# ---------------------------------------------------------------------------------------------
# small helpers of the commands


def _usage(check, *args, **kwargs):
    """``check(*args, **kwargs)`` with its ``ValueError`` as a :class:`UsageError`."""
    try:
        return check(*args, **kwargs)
    except ValueError as exc:
        raise UsageError(str(exc)) from None


def parse_pairs(text: str) -> list[tuple[int, int]]:
    """Parse ``"a,b c,d ..."`` (whitespace- or semicolon-separated) into symbol pairs."""
    tokens = text.replace(";", " ").split()
    if not tokens:
        raise UsageError("--train is empty; expected pairs like '0,1 2,3'")
    pairs = []
    for tok in tokens:
        parts = tok.split(",")
        try:
            if len(parts) != 2:
                raise ValueError
            pairs.append((int(parts[0]), int(parts[1])))
        except ValueError:
            raise UsageError(
                f"malformed --train entry {tok!r}: expected 'a,b' with integer symbols"
            ) from None
    return pairs


def keywords(args, names: str) -> dict:
    """Options of ``args`` as a library function's keyword arguments, each of the
    space-separated ``names`` under its own name (an option is named as the library names it).

    >>> keywords(argparse.Namespace(steps=10, seed=0, learning_rate=0.1), "steps learning_rate")
    {'steps': 10, 'learning_rate': 0.1}
    """
    return {name: getattr(args, name) for name in names.split()}


def echo(record: dict, args, names: str) -> dict:
    """``record`` with each of the space-separated option ``names`` that it lacks at its top
    level added, as the option ran: a setting the result does not know (the command's own, or
    the trainer's) is recorded once, under its option's name.

    >>> echo({"steps": 10}, argparse.Namespace(steps=20, float64=False), "steps float64")
    {'steps': 10, 'float64': False}
    """
    return {**record, **{n: getattr(args, n) for n in names.split() if n not in record}}


def joined(values) -> str:
    return " ".join(f"{v:g}" if isinstance(v, float) else str(v) for v in values)


def table_text(head: list[str], row: str, rows) -> str:
    """The lines ``head``, then ``row.format(**r)`` for each of ``rows`` ("never" for a value that
    is ``None``), joined into one text.

    >>> print(table_text(["  seed   step"], "  {seed:>4}  {step:>5}", [{"seed": 0, "step": None}]))
      seed   step
         0  never
    """
    lines = [row.format(**{k: "never" if v is None else v for k, v in r.items()}) for r in rows]
    return "\n".join([*head, *lines])


def never(v, fmt: str = "{}") -> str:
    """``v`` formatted, or "never" where it is ``None``."""
    return "never" if v is None else fmt.format(v)
