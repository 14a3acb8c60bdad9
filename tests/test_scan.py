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


# Interrupted and killed scans, resumed: tests/test_interrupt.py (real signals, deterministic).


def test_workers_and_scheduler_exclude_each_other():
    jobs = critical_jobs("add", [6], 10)
    with pytest.raises(ValueError, match=r"workers=2 and scheduler='tcp://127.0.0.1:1' exclude each other"):
        run_scan(jobs, workers=2, scheduler="tcp://127.0.0.1:1")
    with pytest.raises(ValueError, match="exclude each other"):
        eg.critical_fraction("add", p=10, splits=10, workers=2, scheduler="tcp://127.0.0.1:1")
    code = main(
        ["critical", "--task", "add", "--p", "10", "--workers", "2", "--scheduler", "tcp://127.0.0.1:1"]
    )
    assert code == 2


def test_an_unreachable_scheduler_is_given_up_after_the_connect_timeout(capsys):
    pytest.importorskip("distributed")
    import inspect

    assert inspect.signature(run_scan).parameters["connect_timeout"].default == 10.0
    assert inspect.signature(eg.critical_scan).parameters["connect_timeout"].default == 10.0
    jobs = critical_jobs("add", [6], 10)
    run_scan(jobs[:0], scheduler="tcp://127.0.0.1:9")  # nothing to do: no connection needed
    t0 = time.perf_counter()
    with pytest.raises(ValueError, match=r"cannot connect to the Dask scheduler at tcp://127\.0\.0\.1:9"):
        run_scan(jobs, scheduler="tcp://127.0.0.1:9", connect_timeout=1.5)
    assert 1.0 < time.perf_counter() - t0 < 8.0
    argv = ["critical", "--task", "add", "--p", "6", "--splits", "10", "--scheduler", "tcp://127.0.0.1:9"]
    assert main([*argv, "--connect-timeout", "1"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "cannot connect" in err[0] and "after 1" in err[0]
    with pytest.raises(ValueError, match="connect_timeout"):
        run_scan(jobs, scheduler="tcp://127.0.0.1:9", connect_timeout=0)


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
