"""Pre-registration and replication in the validation framework (issue 23), on a toy case.

The toy case measures one number per replicate K that is known in advance (its seed set), so
every verdict below is a known answer: a claim that passes on one seed set and fails on another
must come out *unstable*, a criterion edited after its runs exist must be refused unless the
criteria changelog lists it, and then it must not be judged on the runs that motivated it.
"""

import json
import sys
import types
from pathlib import Path

import numpy as np
import pytest

from validation import changelog, claims, framework
from validation.claims import (
    REPLICATE_STRIDE,
    Claim,
    Control,
    case_status,
    combine,
    judge,
    replicate_seed,
    replicate_seeds,
    untested,
)

ROOT = Path(__file__).resolve().parents[1]


def _toy_module(threshold=0.5):
    """A case whose measurement is the parity of its replicate's seed: odd for K = 0, 2, ...
    (seed (K+1)·STRIDE + 0 → K + 1 after division), so the claim "x is odd" passes on K = 0 and
    fails on K = 1; a second, qualitative claim holds on every replicate."""
    mod = types.ModuleType("validation.cases.toy_parity")
    mod.TITLE = "toy parity"
    mod.CLAIM = "x is odd"
    mod.PROFILES = {p: {"n": 3} for p in framework.PROFILES}
    mod.CLAIMS = (
        Claim(
            "odd",
            paper="x is odd",
            measurement="x = seed // STRIDE",
            criterion="x mod 2 ≥ threshold",
            threshold={"threshold": threshold},
            control="x is an integer",
            power="exact",
            headline=True,
        ),
        Claim(
            "positive",
            paper="x > 0",
            measurement="x",
            criterion="x > 0",
            control="x is an integer",
            power="exact",
            kind="qualitative",
        ),
    )
    mod.predict = lambda s: {"x": "odd"}
    mod.units = lambda s: [{"i": i} for i in range(s["n"])]

    def measure_unit(settings, unit):
        return {"x": np.asarray(replicate_seed(settings, unit["i"]) // REPLICATE_STRIDE)}

    def verdict(prediction, measurements, settings):
        x = int(measurements[0]["x"])
        ok = Control("x is an integer", held=True, detail=f"x = {x}")
        head, pos = mod.CLAIMS
        judged = [
            judge(head, ok, x % 2 >= head.threshold["threshold"], measurement=f"x = {x}"),
            judge(pos, ok, x > 0, measurement=f"x = {x}"),
        ]
        return framework.verdict_from_claims(mod.CLAIMS, judged, prediction="odd", numbers={"x": x})

    mod.measure_unit, mod.verdict = measure_unit, verdict
    mod.plot = lambda *a: None
    mod.cost = lambda s: 1.0
    return mod


@pytest.fixture
def toy(monkeypatch):
    from validation import cases

    mod = _toy_module()
    monkeypatch.setitem(sys.modules, mod.__name__, mod)
    monkeypatch.setattr(cases, "CASES", [*cases.CASES, "toy_parity"])
    return mod


def test_replicate_seeds_are_disjoint_across_replicates_and_from_old_runs():
    sets = [set(replicate_seeds({"replicate": k}, 64, base=2000 * 54).tolist()) for k in range(4)]
    for i in range(4):
        assert min(sets[i]) >= REPLICATE_STRIDE  # no seed of a pre-replicate run (all < 1e6)
        for j in range(i):
            assert not sets[i] & sets[j]
    with pytest.raises(ValueError, match="replicate must be an integer >= 0"):
        replicate_seed({"replicate": -1})
    with pytest.raises(ValueError, match="seed base"):
        replicate_seed({"replicate": 0}, REPLICATE_STRIDE)


def test_a_claim_that_passes_on_one_seed_set_and_fails_on_another_is_unstable(toy, tmp_path):
    report = framework.run_suite("tiny", tmp_path, cases=["toy_parity"], replicates=(0, 1))
    (rec,) = report["cases"]
    odd, pos = rec["claims"]
    assert odd["replicates"] == {"0": "pass", "1": "fail"} and odd["verdict"] == "unstable"
    assert pos["replicates"] == {"0": "pass", "1": "pass"} and pos["verdict"] == "pass"
    assert rec["verdict"] == "unstable"
    assert odd["measurements"] == {"0": "x = 1", "1": "x = 2"}  # both numbers shown
    md = (tmp_path / "report.md").read_text()
    assert "↯ unstable" in md and "x = 1" in md and "x = 2" in md
    # replicates 0 and 2 agree: a pass
    report = framework.run_suite("tiny", tmp_path / "b", cases=["toy_parity"], replicates=(0, 2))
    assert report["cases"][0]["verdict"] == "pass"


def test_a_criterion_edited_after_its_runs_is_refused_unless_logged(toy, tmp_path, monkeypatch):
    framework.run_case("toy_parity", "tiny", tmp_path, replicate=0)
    edited = _toy_module(threshold=0.0)  # "x mod 2 ≥ 0": passes always -- moved after the runs
    monkeypatch.setattr(toy, "CLAIMS", edited.CLAIMS)
    with pytest.raises(ValueError, match="criterion of claim 'odd' changed after its runs of replicate 0"):
        framework.run_case("toy_parity", "tiny", tmp_path, replicate=0)
    entry = changelog.CriterionChange(
        date="2026-12-06",
        case="toy_parity",
        claim="odd",
        old="x mod 2 ≥ 0.5",
        new="x mod 2 ≥ 0",
        why="test",
        old_verdict="pass (x = 1)",
        seen=(0,),
        fingerprint=edited.CLAIMS[0].fingerprint(),
    )
    monkeypatch.setattr(changelog, "CHANGES", (entry,))
    seen = framework.run_case("toy_parity", "tiny", tmp_path, replicate=0)
    assert seen.verdict.claim("odd").status == "untested"  # not judged on the runs that motivated it
    assert "motivated the criterion change of 2026-12-06" in seen.verdict.claim("odd").measurement
    assert seen.verdict.status == "inconclusive"
    fresh = framework.run_case("toy_parity", "tiny", tmp_path, replicate=1)  # a fresh replicate
    assert fresh.verdict.claim("odd").status == "pass"


_HEADLINE = Claim("law", "p", "m", "c", control="x", power="y", headline=True)
_QUALITATIVE = Claim("trend", "p", "m", "c", control="x", power="y", kind="qualitative")
_REPORTED = Claim("size", "p", "m", "c", kind="reported")


@pytest.mark.parametrize(
    ("headline", "qualitative", "want"),
    [
        ("pass", "pass", "pass"),
        ("pass", "fail", "partial"),  # a qualitative claim never rescues, nor sinks, the headline
        ("pass", "untested", "partial"),
        ("fail", "pass", "fail"),
        ("inconclusive", "pass", "inconclusive"),
        ("untested", "pass", "inconclusive"),
        ("unstable", "pass", "unstable"),
        ("pass", "unstable", "partial"),
    ],
)
def test_case_status_from_the_headline_and_a_qualitative_claim(headline, qualitative, want):
    judged = {"law": headline, "trend": qualitative, "size": "reported"}
    assert case_status([_HEADLINE, _QUALITATIVE, _REPORTED], judged) == want


def test_case_status_rules():
    assert combine({0: "inconclusive", 1: "inconclusive"}) == "inconclusive"
    with pytest.raises(ValueError, match="exactly one claim is the headline"):
        claims.check_claims([_QUALITATIVE])
    with pytest.raises(ValueError, match="states its control and its power"):
        Claim("law", "p", "m", "c", headline=True)
    assert untested(_HEADLINE, "out of budget").status == "untested"


def test_fingerprint_follows_the_criterion_not_the_prose():
    a = Claim("law", "paper one", "m", "slope in [lo, hi]", {"lo": 0.8}, control="x", power="y")
    b = Claim("law", "paper two", "m", "slope in [lo, hi]", {"lo": 0.8}, control="x2", power="y2")
    c = Claim("law", "paper one", "m", "slope in [lo, hi]", {"lo": 0.7}, control="x", power="y")
    assert a.fingerprint() == b.fingerprint() != c.fingerprint()


def test_every_case_declares_claims_and_the_criteria_page_is_generated_from_them():
    page = ROOT / "docs" / "validation" / "criteria.md"
    for name in framework.list_cases():
        framework.case_claims(framework.load_case(name))
    assert page.read_text() == framework.render_criteria(), (
        "docs/validation/criteria.md is out of date: run "
        "`uv run python -m validation --criteria docs/validation/criteria.md`"
    )


def test_published_criteria_changed_since_the_report_are_in_the_changelog():
    """Every claim of the published report whose criterion has changed since must be logged."""
    report = json.loads((ROOT / "docs" / "validation" / "report.json").read_text())
    for rec in report["cases"]:
        mod = framework.load_case(rec["name"])
        now = {c.name: c.fingerprint() for c in framework.case_claims(mod)}
        for c in rec.get("claims", []):
            if c["name"] in now and now[c["name"]] != c["fingerprint"]:
                logged = [
                    e
                    for e in changelog.changes_for(rec["name"], c["name"])
                    if e.fingerprint == now[c["name"]]
                ]
                assert logged, (
                    f"{rec['name']}.{c['name']}: criterion changed since the published report, not logged"
                )


def test_changelog_entries_are_complete():
    names = set(framework.list_cases())
    for e in changelog.CHANGES:
        assert e.case in names, e
        claim_names = {c.name for c in framework.load_case(e.case).CLAIMS}
        assert e.claim in claim_names, e
        for part in ("date", "old", "new", "why", "old_verdict"):
            assert getattr(e, part).strip(), (e, part)
