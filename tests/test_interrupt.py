"""Ctrl-C (SIGINT) sent to real processes: one line, exit 130, finished chunks kept, nothing
half-written, no worker left behind, and the rerun resumes to the uninterrupted result (issue 25).

The runner tests are deterministic: their jobs (``_scan_jobs:gated``) block until a file
appears, so the scan is stopped at a known point whatever the machine's speed.  The command
tests signal ``effgrok critical`` and ``effgrok simulate --ensemble`` at start-up (as soon as
the estimated time is printed) and mid-scan (after a third of the chunks), then compare the
resumed outputs with an uninterrupted run byte for byte.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from effgrok.cli import main

HERE = Path(__file__).resolve().parent
ENV = dict(os.environ, PYTHONUNBUFFERED="1", PYTHONPATH=str(HERE))
ONE_LINE = r"^effgrok: interrupted: (\d+) of (\d+) chunks kept in (.+); rerun the same command to resume$"


def _wait(predicate, proc, timeout=300.0) -> bool:
    t0 = time.time()
    while time.time() - t0 < timeout:
        if predicate():
            return True
        if proc.poll() is not None:
            return False
        time.sleep(0.02)
    return False


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def _interrupt(proc, grace: float = 30.0, group: bool = False) -> tuple[str, float]:
    """SIGINT ``proc`` (``group``: its whole process group, as Ctrl-C in a terminal does; else
    the process alone, as ``uv run`` passes it on); its stderr and the seconds it took to exit."""
    if group:
        os.killpg(proc.pid, signal.SIGINT)
    else:
        proc.send_signal(signal.SIGINT)
    t0 = time.time()
    _, err = proc.communicate(timeout=grace)
    return err, time.time() - t0


def _said(err: str) -> list[str]:
    """The lines of ``err`` other than the estimate and the progress lines."""
    import re

    skipped = r"^(effgrok: estimated time|[\w ()]+: \d+/\d+ )"  # the estimate, progress lines
    return [x for x in err.strip().splitlines() if not re.match(skipped, x)]


def _one_line(err: str):
    """The interrupt's one line (after the estimate and any progress lines; nothing else)."""
    import re

    lines = _said(err)
    assert len(lines) == 1, err
    m = re.match(ONE_LINE, lines[0])
    assert m, lines[0]
    return int(m.group(1)), int(m.group(2)), m.group(3)


# --------------------------------------------------------------------------- the runner, gated jobs
def _gated(tmp_path, where: str):
    out, gate, pids = tmp_path / "out", tmp_path / "gate", tmp_path / "pids"
    pids.mkdir()
    argv = [sys.executable, str(HERE / "_scan_jobs.py"), str(out), str(gate), "3", str(pids), where]
    return argv, out, gate, pids


def _run_gated(tmp_path, where: str):
    argv, out, gate, pids = _gated(tmp_path, where)
    group = where == "2"  # a terminal's Ctrl-C reaches the pool's workers too: they leave it to us
    proc = subprocess.Popen(
        argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=ENV, start_new_session=group
    )
    # jobs 0-2 finish, the others wait for the gate: the scan stands still at 3 of 8 once every
    # executor waits (in process: job 3; a pool: a worker at job 3, this process at job 7, the
    # workers' results not stored yet; Dask: two jobs of 3..7, results stored as they come)
    blocked = 1 if where == "in-process" else 2
    started = _wait(lambda: len(list(pids.iterdir())) >= blocked, proc)
    assert started, proc.communicate()[1]
    if where != "2":
        assert _wait(lambda: len(list((out / "chunks").glob("*.npz"))) >= 3, proc)
    time.sleep(0.5)
    err, seconds = _interrupt(proc, group=group)
    assert proc.returncode == 130, err
    done, total, folder = _one_line(err)
    assert (done, total, folder) == (3, 8, str(out))
    assert seconds < 10
    kept = sorted(p.name for p in (out / "chunks").iterdir())
    assert kept == ["g00.npz", "g01.npz", "g02.npz"]  # nothing half-written (no temporary file left)
    manifest = json.loads((out / "manifest.json").read_text())
    assert (manifest["chunks_done"], manifest["complete"]) == (3, False)
    return argv, out, gate, pids


@pytest.mark.parametrize("where", ["in-process", "2"])
def test_ctrl_c_stops_a_gated_scan_at_once_and_the_rerun_completes_it(tmp_path, where):
    argv, out, gate, pids = _run_gated(tmp_path, where)
    if where == "2":  # the pool's worker (blocked in its job) was ended, not left waiting
        workers = {int(p.name.split("-")[1]) for p in pids.iterdir()} - {os.getpid()}
        t0 = time.time()
        while any(_alive(w) for w in workers) and time.time() - t0 < 10:
            time.sleep(0.05)
        assert not any(_alive(w) for w in workers)
    gate.touch()
    again = subprocess.run(argv, capture_output=True, text=True, env=ENV, timeout=300)
    assert again.returncode == 0 and again.stdout.strip() == "complete", again.stderr
    for x in range(8):  # an independent oracle: x squared
        with np.load(out / "chunks" / f"g{x:02d}.npz") as z:
            assert int(z["square"]) == x * x
    assert json.loads((out / "manifest.json").read_text())["complete"] is True


def test_ctrl_c_stops_a_gated_scan_on_dask(tmp_path):
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
    ) as cl:
        argv, out, gate, _ = _run_gated(tmp_path, cl.scheduler_address)
        gate.touch()  # the jobs blocked on the cluster end; the rerun computes the rest there
        again = subprocess.run(argv, capture_output=True, text=True, env=ENV, timeout=300)
    assert again.returncode == 0, again.stderr
    assert len(list((out / "chunks").glob("*.npz"))) == 8


# --------------------------------------------------------------------------- the commands
CRIT = ("critical", "--task", "add-mod", "--p", "300", "--splits", "1500", "--seed", "5", "--workers", "2")
ENSEMBLE = (
    "simulate",
    "--task",
    "add",
    "--p",
    "12",
    "--train-frac",
    "0.6",
    "--ensemble",
    "4000",
    "--dim",
    "2",
)
ENSEMBLE += ("--steps", "2000", "--workers", "2")


def _cli(*args):
    return [sys.executable, "-m", "effgrok", *args]


@pytest.fixture(scope="module")
def references(tmp_path_factory):
    """The uninterrupted outputs (in this process)."""
    refs = {}
    for name, args in (("critical", CRIT), ("simulate", ENSEMBLE)):
        refs[name] = tmp_path_factory.mktemp("ref") / name
        assert main([*args, "--out", str(refs[name])]) == 0
    return refs


def _data_files(folder: Path, name: str) -> dict[str, bytes]:
    """The output files except the provenance (elapsed time, date) and the figures."""
    files = {p.name: p.read_bytes() for p in folder.glob("*.csv")}
    body = json.loads((folder / f"{name}.json").read_text())
    files[f"{name}.json"] = json.dumps({k: v for k, v in body.items() if k != "provenance"}).encode()
    return files


@pytest.mark.parametrize(
    "name, moment, sig",
    [
        ("critical", "start-up", signal.SIGINT),
        ("critical", "mid-scan", signal.SIGINT),
        ("critical", "mid-scan", signal.SIGKILL),
        ("simulate", "mid-scan", signal.SIGINT),
    ],
)
def test_interrupted_command_resumes_to_identical_outputs(tmp_path, references, name, moment, sig):
    args = CRIT if name == "critical" else ENSEMBLE
    out = tmp_path / "out"
    proc = subprocess.Popen(
        _cli(*args, "--out", str(out)), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=ENV
    )
    chunks = out / "chunks"
    if moment == "start-up":  # the first line on stderr is the estimate, printed before any work
        first = proc.stderr.readline()
        assert first.startswith("effgrok: estimated time: about "), first
    else:
        total = len(list((references[name] / "chunks").glob("*.npz")))
        assert _wait(lambda: len(list(chunks.glob("*.npz"))) >= total // 3, proc), "finished too soon"
    if sig == signal.SIGKILL:
        proc.kill()
        proc.communicate(timeout=30)
    else:
        err, seconds = _interrupt(proc)
        assert proc.returncode == 130, err
        assert seconds < 30  # a few seconds on an idle machine: one chunk of this process's own
        if moment == "start-up" and err.strip().endswith("\neffgrok: interrupted: nothing kept"):
            assert not list(chunks.glob("*.npz"))  # stopped before the scan began
        else:
            done, total, folder = _one_line(err)
            assert folder == str(out) and done == len(list(chunks.glob("*.npz"))) < total
        assert not list(out.glob("*.csv"))  # no final file from a partial scan
        assert not [p for p in chunks.glob("*") if not p.name.endswith(".npz")]  # no temporary file
    resumed = subprocess.run(
        _cli(*args, "--out", str(out)), capture_output=True, text=True, env=ENV, timeout=600
    )
    assert resumed.returncode == 0, resumed.stderr
    assert _data_files(out, name) == _data_files(references[name], name)
    assert json.loads((out / "manifest.json").read_text())["complete"] is True


def test_interrupt_without_out_says_nothing_is_kept():
    proc = subprocess.Popen(_cli(*CRIT), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=ENV)
    first = proc.stderr.readline()
    assert first.startswith("effgrok: estimated time: about "), first
    time.sleep(1.0)
    err, _ = _interrupt(proc)
    assert proc.returncode == 130
    assert _said(err) == ["effgrok: interrupted: nothing kept (no --out)"]


def test_ctrl_c_stops_the_whole_validation_suite(tmp_path):
    """The running case is not recorded as an error and the next case does not start."""
    out = tmp_path / "val"
    argv = [sys.executable, "-m", "validation", "--profile", "tiny", "--out", str(out)]
    argv += ["--cases", "grokking_rate", "phase_diagram", "--replicate", "0"]
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=ENV)
    units = out / "cases" / "grokking_rate" / "r0" / "chunks"
    assert _wait(lambda: len(list(units.glob("*.npz"))) >= 1, proc, timeout=600)
    err, _ = _interrupt(proc, grace=120)
    assert proc.returncode == 130, err
    lines = _said(err)  # a progress line ("validation (tiny): 0/7 unit ...") may come first
    assert len(lines) == 1 and lines[0].startswith("validation: interrupted: "), err
    assert lines[0].endswith(f"units kept in {out}; rerun the same command to resume")
    kept = int(lines[0].split()[2])
    assert kept == len(list(units.glob("*.npz"))) >= 1
    assert not (out / "cases" / "phase_diagram").exists() and not (out / "report.json").exists()
