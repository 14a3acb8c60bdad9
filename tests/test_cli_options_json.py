"""One name per concept from flag to JSON (issue 26): every option of every command, walked from
the argparse parsers themselves (not a hand list), reaches the command's JSON record once,
under its name in the naming glossary (``docs/glossary.md``).

An option's name is its ``dest`` (``--learning-rate`` and its alias ``--lr`` fill
``args.learning_rate``).  Each command runs with ``--out``, which writes the record beside the
options as they ran (``provenance.arguments``, defaults filled).  In the record, the option's
name must be a key at exactly one place holding the option's value (the rows of a list count
as one place, ``runs[*].learning_rate``; a list option's values are spread over the rows; an
option left unset, ``null``, matches whatever is there).  A second place with the same value
(``config.learning_rate`` beside ``runs[*].learning_rate``) fails, and so does a key the
glossary replaces (``lr``, ``wd``, ``eta0``, ``train_size``, ``val_acc`` ...) anywhere in the
record.  The options that say how or where a command runs or prints (``--json``, ``--out``,
``--workers`` ...), inputs given as files or pairs, options parsed into other keys (the
phase diagram's axis specs) and a value the library's rows repeat (``critical``'s splits) are
listed below with the reason; nothing else is exempt.

Each command runs on the small inputs of the golden outputs (``tests/golden/commands.py``).
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import io
import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("golden_commands", ROOT / "tests" / "golden" / "commands.py")
golden = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(golden)

#: options that say how or where a command runs or prints, not what it computes: never in the record
RUN_ONLY = {
    "json": "prints the record",
    "out": "where the files go",
    "progress": "progress on stderr",
    "workers": "how many processes compute the same numbers",
    "scheduler": "where the same numbers are computed",
    "connect_timeout": "how long to wait for the scheduler",
    "full": "how much of the record --json prints",
    "batch": "runs per compiled chunk: the same numbers",
}
#: inputs given as files or data, echoed under "arguments" in the --out provenance: (command, dest)
INPUTS = {
    ("predict-grok", "csv"): "the loss log (the record names it as 'file')",
    ("inspect", "embedding"): "the embedding file or folder (the record's 'source')",
    ("inspect", "table"): "an operation table file, in place of --task",
    ("inspect", "train"): "the training pairs (the record's 'split')",
    ("rate", "train"): "the training pairs (the record's n_train and train_fraction)",
    ("simulate", "train"): "the training pairs (the record's n_train and train_fraction)",
    ("inspect", "train_file"): "the training pairs as a file (the record's 'split')",
    ("inspect", "metrics"): "the user's training log, drawn on the figure",
    ("inspect", "tensor"): "the tensor's name in the file (the record's 'source')",
}
#: options whose record holds what they were parsed into: (command, dest)
PARSED = {
    ("phase-diagram", "x"): "NAME:START:STOP:NUM: the record's x is NAME, the cells hold the values",
    ("phase-diagram", "y"): "as --x",
}
#: a scalar setting repeated, by the library's result, in each row of a table: (command, dest)
REPEATED = {
    ("critical", "splits"): "each point of the P(pinned) curve states its number of splits",
}
#: a per-run value of a list option is named in the singular in each run's row
SINGULAR = {"seeds": "seed"}

#: the leaf commands whose golden command lines are not enough, and extra command lines
EXTRA = {
    "predict-time": ["predict-time", "--n-train", "30"],
    "solvable linear": ["solvable", "linear", "--lam", "0.5", "--simulate", "--d-in", "20", "--steps", "50",
                        "--seeds", "1", "3"],
    "solvable dichotomy": ["solvable", "dichotomy", "--alpha", "2", "--weight-decay", "0.05",
                           "--learning-rate", "0.1", "--simulate", "--p", "5", "--hidden", "8",
                           "--steps", "20"],
}  # fmt: skip


def glossary() -> tuple[set[str], set[str]]:
    """(names, replaced names) of the tables of ``docs/glossary.md``: a row's first cell holds
    its names, the last cell ("replaces") the names it replaces."""
    names, replaced = set(), set()
    for line in (ROOT / "docs" / "glossary.md").read_text().splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if not line.startswith("|") or len(cells) < 5 or set(cells[0]) <= set("-: "):
            continue
        names.update(re.findall(r"`([a-z_0-9]+)`", cells[0]))
        head, _, note = cells[-1].partition("(")  # the note names the places where a name stays
        replaced.update(set(re.findall(r"`([a-z_0-9]+)`", head)) - set(re.findall(r"`([a-z_0-9]+)=?`", note)))
    return names, replaced - names


def leaf_parsers(parser, path=()):
    """``(command words, parser)`` of every leaf command."""
    subs = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    if not subs:
        yield " ".join(path), parser
        return
    for name, sub in subs[0].choices.items():
        yield from leaf_parsers(sub, (*path, name))


def options(parser) -> dict[str, list[str]]:
    """dest -> flags of every option (``--help`` and ``--version`` aside)."""
    out: dict[str, list[str]] = {}
    for action in parser._actions:
        if isinstance(action, (argparse._HelpAction, argparse._VersionAction)):
            continue
        out.setdefault(action.dest, []).extend(action.option_strings or [action.dest])
    return out


def values_at(record, name: str) -> dict[str, list]:
    """place -> the values of key ``name`` there (a place in a list: the values of every item)."""
    found: dict[str, list] = {}

    def walk(obj, path):
        if isinstance(obj, dict):
            for k, v in obj.items():
                if k == name:
                    found.setdefault(f"{path}.{k}", []).append(v)
                walk(v, f"{path}.{k}")
        elif isinstance(obj, list):
            for v in obj:
                walk(v, f"{path}[*]")

    walk(record, "$")
    return found


def holds(value, found: list) -> bool:
    """Whether the values ``found`` at one place are the option's ``value``: equal, or (a list
    option) its items spread over the rows, or (a scalar option) the same in every row;
    ``None`` (an option left unset) and ``"auto"`` (the library chooses) match anything."""
    if value is None or value == "auto":
        return True
    if found == [value]:
        return True
    items = value if isinstance(value, list) else [value]
    flat = [v for f in found for v in (f if isinstance(f, list) else [f])]
    return bool(flat) and all(v in items for v in flat) and not isinstance(found[0], dict)


def problems(command: str, opts: dict[str, list[str]], arguments: dict, record: dict) -> list[str]:
    """What is wrong with the options of ``command`` against its record (empty: nothing)."""
    _, replaced = glossary()
    out = [
        f"{command}: the record has the key {name!r}, a name the glossary replaces"
        for name in sorted(replaced)
        if values_at(record, name)
    ]
    for dest, flags in opts.items():
        if dest in RUN_ONLY or (command, dest) in INPUTS or (command, dest) in PARSED:
            continue
        if dest in replaced:
            out.append(f"{command} {flags[0]}: option name {dest!r} is one the glossary replaces")
        found = values_at(record, dest) | values_at(record, SINGULAR.get(dest, dest))
        places = [p for p, v in found.items() if holds(arguments[dest], v)]
        rows = [p for p in places if "[*]" in p]
        if len(rows) > 1 and isinstance(arguments[dest], list):  # a grid axis labels every table's rows
            places = [p for p in places if "[*]" not in p] + rows[:1]
        if (command, dest) in REPEATED:
            places = [p for p in places if "[*]" not in p]
        if len(places) != 1:
            value = json.dumps(arguments[dest])
            where = ", ".join(places) or f"nowhere (keys named so: {', '.join(found) or 'none'})"
            out.append(f"{command} {flags[0]} {value}: in the record {len(places)} times: {where}")
    return out


def _command_lines() -> dict[str, list[str]]:
    from effgrok.cli import build_parser

    leaves = dict(leaf_parsers(build_parser()))
    lines = dict(EXTRA)
    for argv in golden.COMMANDS.values():
        words = " ".join(argv[:2]) if " ".join(argv[:2]) in leaves else argv[0]
        lines.setdefault(words, argv)
    return lines


def run_saved(argv: list[str], inputs: Path, out: Path) -> dict:
    """Run ``argv`` with ``--out out``; the JSON file it wrote (provenance and result)."""
    from effgrok.cli import main

    argv = [a.replace("{inputs}", str(inputs)) for a in argv] + ["--out", str(out)]
    err = io.StringIO()
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(err):
        code = main(argv)
    assert code == 0, f"{argv}: exit {code}: {err.getvalue().strip()}"
    (saved,) = [p for p in out.glob("*.json") if "provenance" in json.loads(p.read_text())]
    return json.loads(saved.read_text())


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    return golden.write_inputs(tmp_path_factory.mktemp("options") / "inputs")


def test_every_command_is_run():
    from effgrok.cli import build_parser

    assert set(_command_lines()) == {c for c, _ in leaf_parsers(build_parser())}


@pytest.mark.parametrize("command", sorted(_command_lines()))
def test_every_option_is_in_the_record_once_under_its_glossary_name(command, inputs, tmp_path):
    from effgrok.cli import build_parser

    parser = dict(leaf_parsers(build_parser()))[command]
    saved = run_saved(_command_lines()[command], inputs, tmp_path)
    records = saved["results"] if "results" in saved else [saved["result"]]
    for record in records:
        found = problems(command, options(parser), saved["provenance"]["arguments"], record)
        assert not found, "\n".join(found)


# ---------------------------------------------------------------------------------------------
# the check can fail


def _modular_record():
    """A record as ``train modular`` writes it (learning_rate per run), and its options."""
    from effgrok.cli import build_parser

    parser = dict(leaf_parsers(build_parser()))["train modular"]
    arguments = {dest: None for dest in options(parser)}
    arguments.update(learning_rate=0.001, weight_decay=1.0, seeds=[0, 7], train_fraction=[0.6])
    runs = [{"seed": s, "learning_rate": 0.001, "weight_decay": 1.0, "train_fraction": 0.6} for s in (0, 7)]
    return options(parser), arguments, {"config": {"loss": "mse"}, "runs": runs}


def _only(found: list[str], option: str) -> list[str]:
    return [f for f in found if f.startswith(f"train modular {option} ") or f"key {option!r}" in f]


def test_a_renamed_or_repeated_key_is_caught():
    opts, arguments, record = _modular_record()
    for key in ("learning_rate", "weight_decay", "train_fraction", "seeds"):
        assert not _only(problems("train modular", opts, arguments, record), f"--{key.replace('_', '-')}")
    # the value twice: once in the configuration, once per run
    record["config"]["learning_rate"] = 0.001
    found = _only(problems("train modular", opts, arguments, record), "--learning-rate")
    assert found == ["train modular --learning-rate 0.001: in the record 2 times: $.config.learning_rate, "
                     "$.runs[*].learning_rate"]  # fmt: skip
    del record["config"]["learning_rate"]
    # renamed to a name the glossary replaces: the old name is refused and the option is missing
    for run in record["runs"]:
        run["wd"] = run.pop("weight_decay")
    found = problems("train modular", opts, arguments, record)
    assert "train modular: the record has the key 'wd', a name the glossary replaces" in found
    assert any(f.startswith("train modular --weight-decay 1.0: in the record 0 times") for f in found)
    # another value under the right name is not the option's
    for run in record["runs"]:
        run["weight_decay"] = 0.5
    assert _only(problems("train modular", opts, arguments, record), "--weight-decay")
    # a seed that did not run
    record["runs"][1]["seed"] = 8
    assert _only(problems("train modular", opts, arguments, record), "--seeds")


def test_an_option_with_a_replaced_name_is_caught():
    opts, arguments, record = _modular_record()
    opts = {("lr" if d == "learning_rate" else d): f for d, f in opts.items()}
    arguments["lr"] = arguments.pop("learning_rate")
    found = problems("train modular", opts, arguments, record)
    assert "train modular --learning-rate: option name 'lr' is one the glossary replaces" in found


def test_the_glossary_is_read():
    names, replaced = glossary()
    assert {"learning_rate", "weight_decay", "train_fraction", "n_train", "seeds", "test_acc"} <= names
    assert {"lr", "wd", "eta0", "train_size", "val_acc"} <= replaced
    assert "fraction" not in replaced  # stays where a function takes a fraction and a size


# ---------------------------------------------------------------------------------------------
# one seed rule, one flag per optimiser setting, in every command


def test_every_command_with_seeds_has_the_one_seed_rule():
    from effgrok.cli import UsageError, build_parser

    parser = build_parser()
    with_seeds = [c for c, p in leaf_parsers(parser) if "seeds" in options(p)]
    assert len(with_seeds) >= 10
    for command in with_seeds:
        words = command.split()
        assert options(dict(leaf_parsers(parser))[command])["seeds"] == ["--seeds", "--n-seeds"], command
        extra: list[str] = []
        assert parser.parse_args([*words, *extra, "--seeds", "7"]).seeds == [7], command
        assert parser.parse_args([*words, *extra, "--seeds", "0", "1", "7"]).seeds == [0, 1, 7], command
        assert parser.parse_args([*words, *extra, "--n-seeds", "3"]).seeds == [0, 1, 2], command
        with pytest.raises(UsageError, match="not allowed with"):
            parser.parse_args([*words, *extra, "--seeds", "1", "--n-seeds", "2"])
        with pytest.raises(UsageError, match=r"--n-seeds must be an integer in 1\.\.4096, got 0"):
            parser.parse_args([*words, *extra, "--n-seeds", "0"])


def test_learning_rate_and_weight_decay_have_one_flag_in_every_command():
    from effgrok.cli import build_parser

    flags = {"learning_rate": ["--learning-rate", "--lr"], "weight_decay": ["--weight-decay", "--wd"]}
    seen = set()
    for command, parser in leaf_parsers(build_parser()):
        for dest, given in options(parser).items():
            if dest in flags:
                seen.add((command, dest))
                assert given[:2] == flags[dest], f"{command}: {given}"
            assert not set(given) & {"--lr", "--wd"} or dest in flags, f"{command}: {given} fill {dest!r}"
    assert len(seen) >= 10, seen


# ---------------------------------------------------------------------------------------------
# defaults are the library's


def test_train_modular_defaults_are_the_library_demo_protocol():
    import inspect

    from effgrok.cli import build_parser
    from effgrok.cli.train import _fill_modular
    from effgrok.nets.modular import DEMO, EMBED_SUM_HIDDEN, train_modular
    from effgrok.nets.transformer import train_transformer

    defaults = {k: v.default for k, v in inspect.signature(train_modular).parameters.items()}
    args = build_parser().parse_args(["train", "modular"])
    _fill_modular(args)
    assert (args.task, args.p, args.train_fraction) == (DEMO["task"], DEMO["p"], [DEMO["train_fraction"]])
    assert (args.loss, args.activation, args.steps) == (DEMO["loss"], DEMO["activation"], DEMO["steps"])
    assert (args.learning_rate, args.weight_decay) == (DEMO["learning_rate"], DEMO["weight_decay"])
    adam = defaults["optimizer"]
    assert (args.hidden, args.beta1, args.beta2, args.eps) == (
        defaults["hidden"],
        adam.beta1,
        adam.beta2,
        adam.eps,
    )
    assert args.embed_dim is None  # the mlp has no embedding
    # the README's protocol: MSE, quadratic units, 3000 steps at fraction 0.6 of add-mod 23
    assert DEMO | {"task": "add-mod", "p": 23, "loss": "mse", "activation": "quadratic"} == DEMO
    args = build_parser().parse_args(["train", "modular", "--model", "embed-sum", "--steps", "7"])
    _fill_modular(args)
    assert (args.hidden, args.embed_dim, args.steps) == (EMBED_SUM_HIDDEN, defaults["embed_dim"], 7)
    args = build_parser().parse_args(["train", "modular", "--model", "transformer"])
    _fill_modular(args)
    assert args.beta2 == inspect.signature(train_transformer).parameters["optimizer"].default.beta2
    assert args.loss is None and args.hidden is None  # the transformer's own


def test_train_toy_defaults_are_the_library_s():
    import inspect

    from effgrok.cli import build_parser
    from effgrok.cli.train import toy_setup
    from effgrok.nets.toy import ToyConfig, train_toy

    args = build_parser().parse_args(["train", "toy"])
    _, cfg, _ = toy_setup(args)
    default = ToyConfig()
    assert (cfg.steps, cfg.dim, cfg.variant, cfg.batch_size) == (
        default.steps, default.dim, default.variant, default.batch_size
    )  # fmt: skip
    rates = inspect.signature(train_toy).parameters
    assert {k: getattr(args, k) for k in ("lr_emb", "wd_emb", "lr_dec", "wd_dec")} == {
        k: rates[k].default for k in ("lr_emb", "wd_emb", "lr_dec", "wd_dec")
    }


def test_lazy_rich_and_ntk_defaults_are_the_library_s():
    import inspect

    from effgrok.cli import build_parser
    from effgrok.cli.train import _fill_lazy_rich
    from effgrok.kernels.lazy_rich import make_problem
    from effgrok.kernels.study import ntk_study
    from effgrok.nets.lazy_rich import train_lazy_rich

    def default(function, name):
        return inspect.signature(function).parameters[name].default

    args = build_parser().parse_args(["train", "lazy-rich", "--width", "9"])
    _fill_lazy_rich(args)
    assert [args.dim, args.samples, args.test_samples, args.target] == [
        default(make_problem, k) for k in ("dim", "samples", "test_samples", "target")
    ]
    assert [args.epsilon, args.theta] == [default(train_lazy_rich, k) for k in ("epsilon", "theta")]
    assert args.steps == default(train_lazy_rich, "schedule").steps
    assert args.base_learning_rate == default(train_lazy_rich, "base_learning_rate") and args.width == 9
    assert args.alpha == [default(train_lazy_rich, "alpha")]
    args = build_parser().parse_args(["ntk", "--dim", "4", "--samples", "10", "--test-samples", "10",
                                      "--width", "8", "--top-k", "2"])  # fmt: skip
    from effgrok.cli import kernels

    args.width = 10**8  # refused by the first check after the fill: nothing is computed
    with pytest.raises(ValueError, match="too large"):
        kernels.run(args)
    assert args.epsilon == default(ntk_study, "epsilon") and args.seed == default(ntk_study, "seed")
    assert args.alpha == list(default(ntk_study, "alphas")) and args.target == default(ntk_study, "target")


#: command line (a golden one, or the name of one with options left out) -> the library's
#: defaults edited, ``(module:object, keyword, new value[, the option it fills])``: an object
#: that is a dict is a named protocol (its entry is edited), else a function (its signature's
#: default is edited, as a change to the library would)
LIBRARY_EDITS = {
    "critical": (["critical", "--task", "add", "--p", "6"], [
        ("effgrok.effective.critical:critical_scan", "splits", 60),
        ("effgrok.effective.critical:critical_scan", "confidence", 0.9),
        ("effgrok.effective.critical:critical_scan", "method", "bisect"),
        ("effgrok.effective.critical:critical_scan", "connect_timeout", 3.0),
    ]),
    "phase_diagram": ("phase_diagram", [
        ("effgrok.nets.phases:phase_diagram", "gap", 7),
        ("effgrok.nets.phases:phase_diagram", "connect_timeout", 4.0),
    ]),
    "simulate": ("simulate", [("effgrok.effective.simulation:simulate_ensemble", "connect_timeout", 5.0)]),
    "progress_modular": (["progress", "modular", "--hidden", "8", "--steps", "20", "--stride", "10",
                          "--n-seeds", "1"], [
        ("effgrok.nets.modular:DEMO", "task", "sub-mod"),
        ("effgrok.nets.modular:DEMO", "p", 7),
        ("effgrok.diagnostics.progress:modular_progress", "k", 3),
    ]),
    "predict_grok": ("predict_grok", [
        ("effgrok.diagnostics.early:spectral_scores", "cutoff", 3.0),
        ("effgrok.diagnostics.early:spectral_scores", "degree", 1),
        ("effgrok.diagnostics.early:spectral_scores", "log", False),
        ("effgrok.diagnostics.early:spectral_scores", "floor", 1e-6),
        ("effgrok.diagnostics.early:EarlyPrediction.earliest", "threshold", 0.6),
    ]),
    "predict_time": (["predict-time", "--n-train", "30"], [
        ("effgrok._learning_time:predict_learning_time", "optimizer", "gd-embedding"),
        ("effgrok._learning_time:predict_learning_time", "width", 150),
    ]),
    "ntk": ("ntk", [("effgrok.kernels.study:ntk_study", "model", "mlp")]),
    "inspect_series": ("inspect_series", [
        ("effgrok.diagnostics.inspection:inspect_series", "time", "lr", "flow_time"),
        ("effgrok.diagnostics.network:recognise_network", "arch", "none"),
        ("effgrok.diagnostics.network:recognise_network", "activation", "tanh"),
    ]),
    "weight_norm_alpha": ("weight_norm_alpha", [
        ("effgrok.nets.digits:load_digits_split", "seed", 3, "data_seed"),
    ]),
}  # fmt: skip


@pytest.mark.parametrize("name", sorted(LIBRARY_EDITS))
def test_the_defaults_are_the_librarys_own(name, inputs, tmp_path, monkeypatch):
    """The commands restate no default of the library: edit the library's, and the command runs
    with the edited value (its options as they ran, and its record where it holds them)."""
    import importlib

    from _cli import with_default

    argv, edits = LIBRARY_EDITS[name]
    argv = golden.COMMANDS[argv] if isinstance(argv, str) else argv
    for target, keyword, value, *_ in edits:
        module, _, path = target.partition(":")
        obj = importlib.import_module(module)
        for part in path.split("."):
            obj = getattr(obj, part)
        if isinstance(obj, dict):
            monkeypatch.setitem(obj, keyword, value)
        else:
            with_default(monkeypatch, obj, keyword, value)
    saved = run_saved(argv, inputs, tmp_path)
    arguments = saved["provenance"]["arguments"]
    expected = {(option[0] if option else keyword): v for _, keyword, v, *option in edits}
    assert {k: arguments[k] for k in expected} == expected
    for record in saved["results"] if "results" in saved else [saved["result"]]:
        recorded = {k: record[k] for k in expected if k in record}
        assert recorded == {k: expected[k] for k in recorded}


def test_a_real_record_with_a_renamed_key_fails(inputs, tmp_path):
    """``train modular``'s own saved record passes; renaming its per-run ``learning_rate`` to
    ``lr``, or copying it into the configuration, fails."""
    from effgrok.cli import build_parser

    opts = options(dict(leaf_parsers(build_parser()))["train modular"])
    saved = run_saved(golden.COMMANDS["train_modular"], inputs, tmp_path)
    arguments, record = saved["provenance"]["arguments"], saved["result"]
    assert not problems("train modular", opts, arguments, record)
    renamed = json.loads(json.dumps(record).replace('"learning_rate"', '"lr"'))
    found = problems("train modular", opts, arguments, renamed)
    assert "train modular: the record has the key 'lr', a name the glossary replaces" in found
    assert any(f.startswith("train modular --learning-rate 0.001: in the record 0 times") for f in found)
    twice = {**record, "config": {**record["config"], "learning_rate": arguments["learning_rate"]}}
    assert problems("train modular", opts, arguments, twice) == [
        "train modular --learning-rate 0.001: in the record 2 times: $.config.learning_rate, "
        "$.runs[*].learning_rate"
    ]
