import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

import effgrok as eg
from effgrok.cli import main
from effgrok.effective.critical import _jobs as _critical_chunks
from effgrok.scan import Job, ScanStore, StoreMismatch, chunk_jobs, gather, run_scan

ADD10 = eg.make_task("add", 10)
ENSEMBLE = {"fraction": 0.6, "steps": 400, "dim": 2, "seed": 3, "method": "rk4"}


def critical_jobs(task, ps, splits, seed=0, method="auto"):
    return [j for p in ps for j in _critical_chunks(eg.make_task(task, p), splits, seed, method, None)]


def _same_critical(a, b):
    for x, y in zip(a, b, strict=True):
        np.testing.assert_array_equal(x.pinning_sizes, y.pinning_sizes)
        assert x.r_c == y.r_c and x.r_c_ci == y.r_c_ci


def test_critical_identical_in_process_and_on_a_pool():
    one = eg.critical_scan("add-mod", [7, 11], 700, seed=2, workers=1)
    pool = eg.critical_scan("add-mod", [7, 11], 700, seed=2, workers=2)
    _same_critical(one, pool)
    # and equal to the library call without the runner
    lib = eg.critical_fraction(eg.make_task("add-mod", 11), 700, seed=2, coords=(11,))
    np.testing.assert_array_equal(np.sort(lib.pinning_sizes), one[1].pinning_sizes)
    # one entry for one task: the same numbers through the runner, whatever the workers
    for workers in (1, 2):
        alone = eg.critical_fraction(eg.make_task("add-mod", 11), 700, seed=2, coords=(11,), workers=workers)
        np.testing.assert_array_equal(alone.pinning_sizes, lib.pinning_sizes)
        assert alone.r_c == lib.r_c


def test_identical_on_a_dask_cluster():
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
    ) as cl:
        dask_crit = eg.critical_scan("add", [8, 12], 600, seed=1, scheduler=cl.scheduler_address)
        dask_ens = eg.simulate_ensemble(
            eg.make_task("add", 10), 150, scheduler=cl.scheduler_address, **ENSEMBLE
        )
    _same_critical(dask_crit, eg.critical_scan("add", [8, 12], 600, seed=1, workers=1))
    local = eg.simulate_ensemble(ADD10, 150, workers=1, **ENSEMBLE)
    for name in ("loss", "rqi", "z", "steps_to_rqi", "n_h"):
        np.testing.assert_array_equal(getattr(dask_ens, name), getattr(local, name))


def test_ensemble_chunks_equal_one_call():
    ens = eg.simulate_ensemble(ADD10, 200, workers=1, **ENSEMBLE)  # several chunks of 64
    ref = eg.simulate_ensemble(ADD10, 200, **ENSEMBLE)
    np.testing.assert_array_equal(ens.loss, ref.loss)
    np.testing.assert_array_equal(ens.rqi, ref.rqi)
    np.testing.assert_array_equal(ens.pinned, ref.pinned)
    pooled = eg.simulate_ensemble(ADD10, 200, workers=2, **ENSEMBLE)
    np.testing.assert_array_equal(pooled.loss, ref.loss)


def test_resume_skips_finished_chunks_and_gives_the_same_result(tmp_path):
    out = tmp_path / "scan"
    first = eg.critical_scan("add", [10], 2000, seed=4, workers=1, out=out)
    chunks = sorted((out / "chunks").glob("*.npz"))
    assert len(chunks) == len(critical_jobs("add", [10], 2000)) > 4
    for c in chunks[::3]:
        c.unlink()
    before = {c.name: c.stat().st_mtime_ns for c in (out / "chunks").glob("*.npz")}
    units = []
    again = eg.critical_scan("add", [10], 2000, seed=4, workers=1, out=out, progress=units.append)
    _same_critical(first, again)
    assert sum(units) == 2000
    after = {c.name: c.stat().st_mtime_ns for c in (out / "chunks").glob("*.npz")}
    assert all(after[k] == v for k, v in before.items())  # finished chunks were not recomputed
    assert len(after) == len(chunks)


def test_changed_arguments_are_refused(tmp_path, capsys):
    out = tmp_path / "scan"
    eg.critical_scan("add", [10], 300, seed=0, workers=1, out=out)
    with pytest.raises(StoreMismatch, match=r"splits: 300 ≠ 400"):
        eg.critical_scan("add", [10], 400, seed=0, workers=1, out=out)
    code = main(
        ["critical", "--task", "add", "--p", "10", "--splits", "300", "--seed", "1", "--out", str(out)]
    )
    err = capsys.readouterr().err
    assert code == 2 and "seed: 0 ≠ 1" in err and len(err.strip().splitlines()) == 1


def test_store_never_unpickles(tmp_path):
    store = ScanStore(tmp_path, "critical", {})
    job = Job("x", "_scan_jobs:square", {})
    store.chunks.mkdir(parents=True)
    np.savez(store.path(job), a=np.array([{"evil": 1}], dtype=object))
    with pytest.raises(ValueError, match="allow_pickle"):
        store.load(job)


def test_runner_rejects_bad_configuration():
    jobs = critical_jobs("add", [6], 10)
    with pytest.raises(ValueError, match="workers must be an integer >= 1, got 0"):
        run_scan(jobs, workers=0)
    with pytest.raises(ValueError, match="scheduler address must look like tcp://host:port"):
        run_scan(jobs, scheduler="localhost")
    with pytest.raises(ValueError, match="unique"):
        run_scan(jobs + jobs[:1])
    with pytest.raises(ValueError, match="job key"):
        Job("a/b", "_scan_jobs:square", {})


def _cli(*args):
    return [sys.executable, "-m", "effgrok", *args]


CRIT_ARGS = (
    "critical",
    "--task",
    "add",
    "--p",
    "200",
    "--splits",
    "1200",
    "--method",
    "bisect",
    "--workers",
    "1",
    "--seed",
    "3",
)


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory):
    ref = tmp_path_factory.mktemp("ref") / "out"
    assert main([*CRIT_ARGS, "--out", str(ref)]) == 0
    return ref


def _wait_for_chunks(folder, n, proc, timeout=120):
    t0 = time.time()
    while time.time() - t0 < timeout:
        if folder.exists() and len(list(folder.glob("*.npz"))) >= n:
            return True
        if proc.poll() is not None:
            return False
        time.sleep(0.02)
    return False


def _results_without_provenance(folder):
    return json.loads((folder / "critical.json").read_text())["results"]


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGINT])
def test_killed_scan_resumes_to_the_uninterrupted_result(tmp_path, sig, uninterrupted):
    out = tmp_path / "killed"
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    proc = subprocess.Popen(
        _cli(*CRIT_ARGS, "--out", str(out)),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    assert _wait_for_chunks(out / "chunks", 3, proc), "scan finished before it could be interrupted"
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=120)
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["complete"] is False and manifest["chunks_done"] < manifest["chunks"]
    assert not (out / "curve.csv").exists()  # no final file from a partial scan
    if sig == signal.SIGINT:
        assert proc.returncode == 130
        assert "rerun the same command to resume" in err and "Traceback" not in err
    partial = len(list((out / "chunks").glob("*.npz")))
    assert 3 <= partial < manifest["chunks"]
    resumed = subprocess.run(_cli(*CRIT_ARGS, "--out", str(out)), capture_output=True, text=True, timeout=300)
    assert resumed.returncode == 0, resumed.stderr
    ref = uninterrupted
    for name in ("curve.csv", "critical.csv"):
        assert (out / name).read_bytes() == (ref / name).read_bytes()
    assert _results_without_provenance(out) == _results_without_provenance(ref)
    assert json.loads((out / "manifest.json").read_text())["complete"] is True


# --------------------------------------------------------------------------- importable job kinds
def test_dotted_job_kinds_run_in_process_and_on_a_pool():
    jobs = [Job(f"k{i}", "_scan_jobs:square", {"x": i}) for i in range(6)]
    here = run_scan(jobs)
    pool = run_scan(jobs, workers=2)
    for j in jobs:
        assert int(here[j.key]["square"]) == int(pool[j.key]["square"]) == j.params["x"] ** 2
    assert len({int(r["pid"]) for r in pool.values()}) == 2  # the child imported the module itself


@pytest.mark.parametrize(
    "kind, message",
    [
        ("nosuchkind", "unknown job kind"),
        ("no_such_module_xyz:f", "does not name an importable function"),
        ("_scan_jobs:missing", "does not name an importable function"),
        ("_scan_jobs:NOT_CALLABLE", "not a function"),
        ("bad kind:f", "unknown job kind"),
    ],
)
def test_bad_job_kinds_are_named(kind, message):
    with pytest.raises(ValueError, match=message):
        Job("k", kind, {})


def test_chunk_jobs_cover_the_range_and_gather_in_order():
    jobs = chunk_jobs("_scan_jobs:square", 10, 4, lambda start, n: {"x": start * 100 + n}, prefix="c")
    assert [j.key for j in jobs] == ["c-00000", "c-00001", "c-00002"]
    assert [j.units for j in jobs] == [4, 4, 2]
    res = run_scan(jobs)
    np.testing.assert_array_equal(gather(res, jobs)["x"], [4, 404, 802])
