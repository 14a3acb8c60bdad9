"""The README as a test: every command it shows runs as written, and prints what it shows.

The README is parsed, not copied: every ```` ```console ```` block (``$ `` lines are commands,
the lines under one are its output) and every ```` ```bash ```` block (one command a line).
Each command either

* runs here, in one scratch folder shared by the whole README (so a later command sees what an
  earlier one wrote, as for a reader who follows the tour), with ``uv run`` replaced by this
  interpreter; its standard output must equal the lines the README shows under it, to the
  printed digit; or
* is marked ``# long: <time>`` at the end of its line: too long for a test (its time is then
  stated on the line, with the machine; ``uv run pytest``, the whole suite, says "not timed").

Commands stated to take more than :data:`SLOW_SECONDS` run with ``-m slow``.  A time stated
at the end of a line that runs here (``# ~3 s on 2 cores``) must be within a factor
2 of the time measured here.  The measured time is the smaller of the wall-clock time and the
CPU time of the command, so that a machine busy with other work does not count as slowness.

Every ```` ```python ```` block runs, in a fresh interpreter, in the scratch folder.

The commands of the *Your own networks* section read the user's checkpoints and training split;
the test writes stand-ins with the names the commands give (random embeddings, a random split).
"""

from __future__ import annotations

import json
import os
import re
import resource
import shlex
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"

#: ``# long: ~6 min on 2 cores`` / ``# ~3 s on 2 cores``: an optional mark, then a time.
TIME = re.compile(r"(?P<value>\d+(?:\.\d+)?)\s*(?P<unit>s|min)\b")


@dataclass(frozen=True)
class Command:
    line: str  # as written, without the "$ " prompt
    argv: tuple[str, ...]
    output: tuple[str, ...]  # what the README shows under it (console blocks)
    long: bool
    seconds: float | None  # the stated time, if any
    number: int  # 1-based line number in README.md


def _stated(comment: str) -> tuple[bool, float | None]:
    long = comment.strip().startswith("long:")
    m = TIME.search(comment)
    return long, float(m["value"]) * (60 if m["unit"] == "min" else 1) if m else None


def _command(text: str, output: list[str], number: int) -> Command:
    code, _, comment = text.partition(" #")
    argv = tuple(shlex.split(code))
    long, seconds = _stated(comment)
    return Command(text.strip(), argv, tuple(output), long, seconds, number)


def parse_readme(text: str) -> tuple[list[Command], list[str]]:
    """The commands of the console and bash blocks, and the sources of the python blocks."""
    commands, python = [], []
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        fence = re.match(r"^```(\w+)\s*$", lines[i])
        if not fence:
            i += 1
            continue
        kind, start = fence.group(1), i + 1
        end = start
        while not lines[end].startswith("```"):
            end += 1
        body = lines[start:end]
        if kind == "python":
            python.append("\n".join(body))
        elif kind == "bash":
            for k, line in enumerate(body):
                if line.strip() and not line.lstrip().startswith("#"):
                    commands.append(_command(line, [], start + k + 1))
        elif kind == "console":
            current = None
            for k, line in enumerate(body):
                if line.startswith("$ "):
                    if current:
                        commands.append(_command(*current))
                    current = (line[2:], [], start + k + 1)
                elif current:
                    current[1].append(line)
            if current:
                commands.append(_command(*current))
        i = end + 1
    return commands, python


COMMANDS, PYTHON_BLOCKS = parse_readme(README.read_text(encoding="utf-8"))


def test_the_readme_is_parsed():
    """The parser finds the tour (an oracle: the README's own fences, counted independently)."""
    text = README.read_text(encoding="utf-8")
    dollar_lines = [line for line in text.splitlines() if line.startswith("$ uv run")]
    assert len(dollar_lines) >= 15
    assert sum(1 for c in COMMANDS if c.argv[:2] == ("uv", "run")) >= len(dollar_lines)
    assert len(PYTHON_BLOCKS) == text.count("```python")


def test_the_parser_on_a_small_readme():
    text = (
        "Intro\n```bash\nuv run a --x 1   # ~3 s on 2 cores\n# a comment\n```\n"
        "```console\n$ uv run b\nline 1\n  line 2\n$ uv run c --out d   # long: ~2.5 min on 2 cores\n```\n"
        "```python\nx = 1\n```\n"
    )
    commands, python = parse_readme(text)
    assert [c.argv for c in commands] == [
        ("uv", "run", "a", "--x", "1"),
        ("uv", "run", "b"),
        ("uv", "run", "c", "--out", "d"),
    ]
    assert [(c.long, c.seconds, c.number) for c in commands] == [
        (False, 3.0, 3),
        (False, None, 7),
        (True, 150.0, 10),
    ]
    assert commands[1].output == ("line 1", "  line 2") and commands[2].output == ()
    assert python == ["x = 1"]


def test_every_command_runs_here_or_states_its_time():
    for c in COMMANDS:
        assert c.argv[:2] == ("uv", "run"), f"README line {c.number}: not a `uv run` command: {c.line}"
        if c.long:  # a time, or an explicit "not timed" (the whole test suite)
            stated = c.seconds or "not timed" in c.line
            assert stated, f"README line {c.number}: marked long without its time: {c.line}"
            assert not c.output, f"README line {c.number}: a long command's output is not checked"
    # the tour as written: no two commands write the same --out folder (the second is refused)
    outs = [c.argv[c.argv.index("--out") + 1] for c in COMMANDS if "--out" in c.argv]
    assert len(outs) == len(set(outs)), f"two README commands write the same folder: {sorted(outs)}"


def _argv(c: Command) -> list[str]:
    """The command as this test runs it: ``uv run X`` with this interpreter (the same
    environment), ``effgrok`` as ``python -m effgrok``."""
    rest = list(c.argv[2:])
    if rest[0] == "effgrok":
        return [sys.executable, "-m", "effgrok", *rest[1:]]
    if rest[0] == "python":
        return [sys.executable, *rest[1:]]
    raise AssertionError(f"README line {c.number}: unknown program {rest[0]!r}")


def _option(argv, name: str) -> str | None:
    return argv[argv.index(name) + 1] if name in argv else None


def _stand_in_inputs(c: Command, folder: Path) -> None:
    """Files a command reads that a reader brings (checkpoints, a training split), written with
    the names the command gives: random embeddings of the right shape and a random split."""
    argv = list(c.argv)
    pattern = _option(argv, "--embedding")
    if pattern is None:
        return
    from safetensors.numpy import save_file

    import effgrok as eg

    task = eg.make_task(_option(argv, "--task"), int(_option(argv, "--p")))
    rng = np.random.default_rng(c.number)
    tensor = _option(argv, "--tensor") or "embedding"
    paths = [pattern.replace("*", f"{s:06d}") for s in (0, 1000, 2000)] if "*" in pattern else [pattern]
    for path in paths:
        (folder / path).parent.mkdir(parents=True, exist_ok=True)
        save_file({tensor: rng.normal(size=(task.n_slots, 8))}, str(folder / path))
    split = eg.random_split(task, fraction=0.6, seed=0)
    train = _option(argv, "--train-file")
    if train.endswith(".npy"):  # a mask over the task's examples
        mask = np.zeros(task.n_examples, bool)
        mask[split.train] = True
        np.save(folder / train, mask)
    else:  # pairs of symbol labels a,b
        pairs = task.symbols[task.pairs[split.train]]
        np.savetxt(folder / train, pairs, fmt="%d", delimiter=",", header="a,b", comments="")


@pytest.fixture(scope="module")
def scratch(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("readme")


#: Commands stated to take longer than this run with the slow tests (``pytest -m slow``).
SLOW_SECONDS = 20
RUN_HERE = [
    pytest.param(c, id=f"line{c.number}", marks=[pytest.mark.slow] if (c.seconds or 0) > SLOW_SECONDS else [])
    for c in COMMANDS
    if not c.long
]


@pytest.mark.parametrize("c", RUN_HERE)
def test_readme_command(c: Command, scratch: Path):
    """The command runs as written and prints what the README shows, in the stated time."""
    _stand_in_inputs(c, scratch)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}  # `python -m validation` from the checkout
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    proc = subprocess.run(_argv(c), cwd=scratch, env=env, capture_output=True, text=True, timeout=900)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    assert proc.returncode == 0, f"README line {c.number} failed: {c.line}\n{proc.stderr[-2000:]}"
    printed = [line.rstrip() for line in proc.stdout.splitlines()]
    if c.output:
        shown = [line.rstrip() for line in c.output]
        assert printed == shown, f"README line {c.number} prints otherwise:\n" + "\n".join(printed)
    elif "--json" in c.argv:
        json.loads(proc.stdout)  # one JSON object on stdout
    if c.seconds is not None:
        measured = min(wall, cpu)
        assert c.seconds / 2 <= measured <= 2 * c.seconds, (
            f"README line {c.number} states {c.seconds:g} s; measured {measured:.1f} s "
            f"(wall {wall:.1f} s, CPU {cpu:.1f} s)"
        )


@pytest.mark.parametrize("k", range(len(PYTHON_BLOCKS)))
def test_readme_python_block(k: int, scratch: Path):
    """Each Python block runs as written, in a fresh interpreter."""
    proc = subprocess.run(
        [sys.executable, "-c", PYTHON_BLOCKS[k]],
        cwd=scratch,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, f"README python block {k + 1} failed:\n{proc.stderr[-3000:]}"
