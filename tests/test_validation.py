"""The validation suite's machinery, and every registered case at its ``tiny`` profile.

The tiny profile checks the pipeline (predict → measure through the scan runner → verdict →
figure → report), not the science: the science runs in the ``cpu`` and ``gpu`` profiles.
"""

import json

import pytest

from validation import framework
from validation.__main__ import main
from validation.framework import Verdict, list_cases, load_case, run_suite

CASES = list_cases()


@pytest.fixture(scope="module")
def tiny_report(tmp_path_factory):
    out = tmp_path_factory.mktemp("validation")
    return out, run_suite("tiny", out, replicates=(0,))


def test_registry_is_complete_and_unique():
    assert len(CASES) == len(set(CASES)) >= 4
    for name in CASES:
        mod = load_case(name)
        assert mod.TITLE and mod.CLAIM
        for profile in framework.PROFILES:
            json.dumps(mod.PROFILES[profile])  # JSON-able settings


def _stored_case(report, name):
    (rec,) = [r for r in report["cases"] if r["name"] == name]
    return rec


@pytest.mark.parametrize("name", CASES)
def test_case_runs_at_tiny_profile(tiny_report, name):
    out, report = tiny_report
    rec = _stored_case(report, name)
    assert rec["verdict"] != "error", rec.get("traceback")
    assert rec["verdict"] in framework.STATUSES
    v = rec["runs"]["0"]
    assert v["criterion"] and v["measurement"]
    assert [c["name"] for c in rec["claims"]] == [c.name for c in load_case(name).CLAIMS]
    for c in rec["claims"]:
        assert c["replicates"] == {"0": c["verdict"]} and c["measurements"]["0"]
    assert (out / rec["figure"]).stat().st_size > 1000
    json.dumps(v["numbers"], allow_nan=False)


def test_report_files(tiny_report):
    out, report = tiny_report
    saved = json.loads((out / "report.json").read_text())
    assert [r["name"] for r in saved["cases"]] == CASES
    assert saved["compute_s"] > 0 and all(r["compute_s"] > 0 for r in saved["cases"])
    md = (out / "report.md").read_text()
    assert md.count("\n| [") == len(CASES)  # one summary row per case (its first claim)
    for r in report["cases"]:
        assert f"figures/{r['name']}.png" in md


def _refuse_to_recompute(monkeypatch, name):
    """Make case ``name`` fail on any unit it would compute: all must come from the store."""

    def refuse(settings, unit):
        raise AssertionError("a stored unit was recomputed")

    monkeypatch.setattr(load_case(name), "measure_unit", refuse)


def test_rerun_resumes_from_stored_units(tiny_report, monkeypatch):
    out, report = tiny_report
    name = CASES[0]
    _refuse_to_recompute(monkeypatch, name)
    res = framework.run_case(name, "tiny", out)
    old = _stored_case(report, name)["runs"]["0"]
    assert res.verdict.status == old["status"]
    assert res.verdict.measurement == old["measurement"]


def test_changed_settings_are_refused(tiny_report, monkeypatch):
    out, _ = tiny_report
    name = CASES[0]
    mod = load_case(name)
    changed = {**mod.PROFILES, "tiny": {**mod.PROFILES["tiny"], "seeds": 99}}
    monkeypatch.setattr(mod, "PROFILES", changed)
    with pytest.raises(ValueError, match="other arguments"):
        framework.run_case(name, "tiny", out)


def test_crashing_case_is_reported_not_fatal(tmp_path, monkeypatch):
    name = CASES[0]
    mod = load_case(name)

    def boom(settings):
        raise RuntimeError("deliberate failure")

    monkeypatch.setattr(mod, "predict", boom)
    report = run_suite("tiny", tmp_path, cases=[name], replicates=(0,))
    (rec,) = report["cases"]
    assert rec["verdict"] == "error"
    assert "deliberate failure" in rec["error"]
    assert "error" in (tmp_path / "report.md").read_text()


def test_verdict_checks_its_fields():
    with pytest.raises(ValueError, match="status must be one of"):
        Verdict("maybe", "a", "b", "c")
    with pytest.raises(ValueError, match="measurement must be a string"):
        Verdict("pass", "a", 0.5, "c")


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--profile", "huge"], "invalid choice: 'huge'"),
        (["--cases", "nope"], "unknown case 'nope'"),
        (["--workers", "0"], "must be >= 1"),
        (["--replicate", "-1"], "must be an integer >= 0, got -1"),
        (["--scheduler", "localhost"], "scheduler address must look like"),
    ],
)
def test_cli_errors_are_one_line_exit_2(argv, message, capsys, tmp_path):
    code = main([*argv, "--out", str(tmp_path / "o"), "--progress", "off"])
    err = capsys.readouterr().err
    assert code == 2
    assert message in err and err.count("\n") == 1


def test_cli_list(capsys):
    assert main(["--list"]) == 0
    out = capsys.readouterr().out
    for name in CASES:
        assert name in out


def test_publish_copies_a_sphinx_ready_report(tiny_report, tmp_path):
    out, report = tiny_report
    page = framework.publish(out, tmp_path / "docs")
    text = page.read_text()
    assert "<a id=" not in text and "](#" not in text  # no in-page anchors for Sphinx
    for r in report["cases"]:
        assert r["title"] in text
        assert (tmp_path / "docs" / r["figure"]).stat().st_size == (out / r["figure"]).stat().st_size
    assert json.loads((tmp_path / "docs" / "report.json").read_text())["profile"] == "tiny"
    with pytest.raises(ValueError, match=r"no readable report\.json"):
        framework.publish(tmp_path / "nothing", tmp_path / "docs2")


def test_failed_positive_control_gives_inconclusive_never_fail():
    from validation.claims import Claim, ClaimVerdict, Control, judge

    claim = Claim("c", "p", "m", "c", control="a control run reaches 90 %", power="w", headline=True)
    held = Control("a control run reaches 90 % test accuracy", held=True, detail="3/3 runs")
    missed = Control("a control run reaches 90 % test accuracy", held=False, detail="0/3 runs")
    assert judge(claim, held, True, measurement="m").status == "pass"
    assert judge(claim, held, False, measurement="m").status == "fail"
    v = judge(claim, missed, False, measurement="m")
    assert v.status == "inconclusive" and "0/3 runs" in v.measurement
    with pytest.raises(ValueError, match="control that held"):
        ClaimVerdict("c", "fail", "m", control=missed)
    with pytest.raises(ValueError, match="control that held"):
        ClaimVerdict("c", "pass", "m")
    with pytest.raises(ValueError, match="positive control"):
        Verdict("pass", "p", "m", "c")
    with pytest.raises(ValueError, match="non-empty"):
        Control("", held=True)


def test_every_claim_states_its_positive_control_and_power(tiny_report):
    _, report = tiny_report
    for r in report["cases"]:
        for c in r["claims"]:
            if c["kind"] != "reported":
                assert c["control"] and c["power"], (r["name"], c["name"])
            if c["verdict"] in ("pass", "fail", "inconclusive"):
                assert c["controls"]["0"]["requirement"], (r["name"], c["name"])


def test_copied_results_folder_resumes(tiny_report, tmp_path, monkeypatch):
    import shutil

    out, report = tiny_report
    name = "predicted_accuracy"
    copy = tmp_path / "copied"
    shutil.copytree(out, copy)
    _refuse_to_recompute(monkeypatch, name)
    res = framework.run_case(name, "tiny", copy)
    old = _stored_case(report, name)["runs"]["0"]
    assert res.verdict.measurement == old["measurement"]
    assert framework.estimate([name], "tiny", copy)["stored_units"] == res.units


def test_estimate_sums_costs_and_names_cases_without_one(tmp_path, monkeypatch):
    a, b = CASES[:2]
    ma, mb = load_case(a), load_case(b)
    monkeypatch.setattr(ma, "cost", lambda s: 60.0, raising=False)
    monkeypatch.delattr(mb, "cost", raising=False)
    est = framework.estimate([a, b], "gpu")
    assert est["total_s"] == 60.0 and est["missing"] == [b] and est["stored_units"] == 0
    line = framework.format_estimate(est, "gpu")
    assert "1.0 min" in line and f"no estimate for: {b}" in line
    monkeypatch.setattr(ma, "cost", lambda s: float("nan"), raising=False)
    with pytest.raises(ValueError, match="cost"):
        framework.estimate([a], "gpu")


def test_cli_prints_the_estimate_first(capsys, tmp_path):
    assert main(["--profile", "tiny", "--cases", "predicted_accuracy", "--out", str(tmp_path)]) == 0
    first = capsys.readouterr().out.splitlines()[0]
    assert first.startswith("estimated compute (tiny profile")


def test_every_case_estimates_its_cost_and_profiles_fit_their_budgets():
    """Each case has cost(); the gpu profiles name their device; one replicate of the whole gpu
    profile fits one ~10-minute device window, and the published cpu run (replicates 0 and 1)
    <= 40 minutes on two cores (compute seconds; two workers halve the wall time)."""
    est = {p: framework.estimate(CASES, p) for p in ("cpu", "gpu")}
    for p, e in est.items():
        assert e["missing"] == [], p
    for name in CASES:
        assert framework.device_of(load_case(name).PROFILES["gpu"]) == "gpu", name
    assert est["gpu"]["total_s"] <= 600
    both = framework.estimate(CASES, "cpu", replicates=(0, 1))
    assert both["total_s"] == pytest.approx(2 * est["cpu"]["total_s"], rel=0.05)
    assert both["total_s"] <= 2 * 40 * 60


def test_cli_refuses_an_out_folder_it_cannot_write(capsys, tmp_path):
    (tmp_path / "f").write_text("x")
    for out in (tmp_path / "f" / "sub", "/proc/effgrok-validation"):
        assert main(["--profile", "tiny", "--cases", CASES[0], "--out", str(out)]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "--out" in err and "Traceback" not in err


def test_report_says_where_the_theory_holds():
    from validation.framework import render_markdown

    def claim(name, kind, verdict, reps):
        return {
            "name": name,
            "kind": kind,
            "headline": name == "law",
            "paper": f"paper says {name}",
            "criterion": "c",
            "threshold": {},
            "measurement": "m",
            "control": "x",
            "power": "y",
            "verdict": verdict,
            "replicates": reps,
            "measurements": {k: f"{name} K{k}" for k in reps},
            "numbers": {},
            "controls": {},
        }

    report = {
        "profile": "cpu", "replicates": [0, 1], "date_utc": "d", "effgrok_version": "v", "device": "cpu",
        "python": "3", "elapsed_s": 1.0, "compute_s": 1.0, "summary": {"fail": 1},
        "cases": [{
            "name": "x", "title": "T", "claim": "C", "verdict": "fail", "units": 1, "compute_s": 1.0,
            "claims": [
                claim("law", "quantitative", "fail", {"0": "fail", "1": "fail"}),
                claim("trend", "qualitative", "pass", {"0": "pass", "1": "pass"}),
                claim("luck", "quantitative", "unstable", {"0": "pass", "1": "fail"}),
            ],
        }],
        "changelog": [{"date": "2026-12-06", "case": "x", "claim": "law", "old": "0.99", "new": "0.85",
                       "why": "w", "old_verdict": "fail (gaps -12)", "seen": [], "fingerprint": ""}],
    }  # fmt: skip
    md = render_markdown(report)
    section = md.split("## Where the theory holds")[1].split("## Criteria changelog")[0]
    assert "**Does not hold**" in section and "paper says law (K=0: fail, K=1: fail)" in section
    assert "**Holds only qualitatively**" in section and "paper says trend" in section
    assert "**Unstable across replicates**" in section and "paper says luck (K=0: pass, K=1: fail)" in section
    assert "**Holds quantitatively**" not in section
    assert "| 2026-12-06 | x · law | 0.99 → 0.85 |" in md
    summary = md.split("**Summary:**")[1].split("## Where")[0]
    assert "| **law** | ❌ fail | ❌ fail | ❌ fail | ❌ fail |" in summary
    assert "| luck | ✅ pass | ❌ fail | ↯ unstable |" in summary


@pytest.mark.parametrize("name", CASES)
def test_case_figure_fits_its_page(tiny_report, name, monkeypatch):
    """Each case's figure, redrawn from the tiny run's stored units: text inside the canvas,
    tick labels of one axis apart, sized for a page (``tests/_figures.py``)."""
    from _figures import checking_save

    import effgrok.plot

    out, _ = tiny_report
    problems = []
    spy = checking_save(effgrok.plot.save, lambda path, found: problems.extend(found))
    monkeypatch.setattr(effgrok.plot, "save", spy)
    _refuse_to_recompute(monkeypatch, name)
    res = framework.run_case(name, "tiny", out)
    assert res.verdict.status != "error"
    assert problems == [], f"{name}: " + "; ".join(problems)
