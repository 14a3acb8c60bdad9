"""The machinery of the validation suite: cases, verdicts, resumable runs and the report.

A *case* is a module ``validation/cases/<name>.py`` that states one prediction of effgrok's
theory and checks it against trained networks.  It defines

``TITLE``, ``CLAIM``
    one line, and what the theory predicts;
``PROFILES``
    ``{"tiny": settings, "cpu": settings, "gpu": settings}`` -- JSON-able dicts.  ``tiny``
    runs in seconds in the test suite (the pipeline, not the science), ``cpu`` is the real
    check on two cores, ``gpu`` the papers' scale; written as one table with
    :func:`validation._common.by_profile` (each setting once, its three values side by side);
``predict(settings) -> dict``
    the theory side (JSON-able);
``units(settings) -> list[dict]``
    independent pieces of measurement work; each is one job of the scan runner, stored as
    soon as it finishes, so an interrupted run resumes where it stopped;
``measure_unit(settings, unit) -> dict[str, array]``
    trains the networks of one unit; plain numeric arrays only;
``CLAIMS``
    the pre-registered claims (:class:`validation.claims.Claim`): the paper's sentence, the
    measurement, the criterion and its thresholds, the positive control, the power; exactly
    one is the headline (the claim as the paper writes it);
``verdict(prediction, measurements, settings) -> Verdict``
    every claim judged on one replicate's numbers (``measurements`` in the order of
    ``units``) with its *positive control* (:class:`Control`): the precondition under which
    the measurement can detect the claimed effect at all.  When the control fails the claim
    is ``inconclusive`` with the reason, never ``fail`` (:func:`validation.claims.judge`);
    :func:`verdict_from_claims` builds the case's verdict from the judged claims;
``plot(prediction, measurements, settings, verdict, path)``
    one PNG figure, laid out and written by :func:`effgrok.plot.save` (``tight=True``);
``cost(settings) -> float`` (optional)
    the estimated seconds of compute of that profile's settings on the profile's target
    device (``tiny``/``cpu``: two CPU cores; ``gpu``: one modern GPU, e.g. an H200): a
    formula in the settings (runs × steps × a measured per-run-step time), not a
    measurement.  :func:`estimate` sums these (scaled by the share of units not yet stored
    in the results folder) and ``python -m validation`` prints the total before it starts,
    naming the cases without an estimate.

**Replicates.**  The framework sets ``settings["replicate"] = K``; every random draw of a case
comes from :func:`validation.claims.replicate_seeds`, so replicates are disjoint seed sets and
data draws.  :func:`run_suite` runs each case on every replicate given and combines each
claim's verdicts (:func:`validation.claims.combine`: pass only if it passes on all).

**Resuming.**  Every finished unit is stored under ``out/cases/<name>/r<K>/chunks/`` with paths
relative to ``out``, so a results folder can be copied elsewhere (or to another machine) and
the same command, pointed at the copy, reuses every stored unit and computes only the rest.
:func:`run_suite` runs cases through :func:`effgrok.scan.run_scan` (in process, on a local
pool or on Dask) and writes ``report.md``, ``report.json`` and ``figures/*.png``.
"""

from __future__ import annotations

import importlib
import json
import platform
import sys
import time
import traceback
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from fnmatch import fnmatch
from pathlib import Path
from types import ModuleType

import numpy as np

from effgrok.results import to_jsonable

from .claims import (
    CASE_STATUSES,
    Claim,
    ClaimVerdict,
    Control,
    Observed,
    case_status,
    check_claims,
    judged,
    replicate_of,
    untested,
)

__all__ = [
    "PROFILES",
    "STATUSES",
    "CaseResult",
    "Control",
    "Observed",
    "Verdict",
    "case_jobs",
    "device_of",
    "estimate",
    "list_cases",
    "load_case",
    "publish",
    "render_markdown",
    "run_case",
    "run_suite",
    "upgrade_unit",
    "verdict_from_claims",
    "verdict_of",
]

PROFILES = ("tiny", "cpu", "gpu")
STATUSES = CASE_STATUSES
_REQUIRED = ("TITLE", "CLAIM", "PROFILES", "predict", "units", "measure_unit", "verdict", "plot")


@dataclass(frozen=True)
class Verdict:
    """The outcome of one case on one replicate.

    ``claims``: one :class:`~validation.claims.ClaimVerdict` per declared claim (the case's
    ``CLAIMS``), in their order.  ``status`` follows from them by
    :func:`~validation.claims.case_status` (``error`` is set by the framework only).
    ``prediction`` is the theory side in one sentence; ``measurement``, ``criterion`` and
    ``control`` are the headline claim's; ``numbers`` holds the case's numbers as JSON.  Build
    it with :func:`verdict_from_claims`.
    """

    status: str
    prediction: str
    measurement: str
    criterion: str
    numbers: dict = field(default_factory=dict)
    control: Control | None = None
    claims: tuple = ()

    def __post_init__(self):
        if self.status not in STATUSES:
            raise ValueError(f"verdict status must be one of {', '.join(STATUSES)}; got {self.status!r}")
        for name in ("prediction", "measurement", "criterion"):
            if not isinstance(getattr(self, name), str):
                raise ValueError(f"verdict {name} must be a string, got {type(getattr(self, name)).__name__}")
        if self.control is not None and not isinstance(self.control, Control):
            raise ValueError(f"verdict control must be a Control, got {type(self.control).__name__}")
        if not all(isinstance(c, ClaimVerdict) for c in self.claims):
            raise ValueError("verdict claims must be ClaimVerdict objects (validation.claims.judge)")
        object.__setattr__(self, "claims", tuple(self.claims))
        if self.status in ("pass", "fail"):
            if self.control is None:
                raise ValueError(f"a {self.status!r} verdict needs its positive control (a Control)")
            if not self.control.held:
                raise ValueError(
                    f"a {self.status!r} verdict needs a positive control that held; this one did not "
                    f"({self.control.requirement}: {self.control.detail}) -- the verdict is 'inconclusive'"
                )

    def claim(self, name: str) -> ClaimVerdict:
        """The verdict of the claim called ``name``."""
        for c in self.claims:
            if c.name == name:
                return c
        raise KeyError(f"no claim {name!r} in this verdict; claims: {[c.name for c in self.claims]}")


def verdict_from_claims(claims, judged, *, prediction: str, numbers: dict | None = None) -> Verdict:
    """The case's :class:`Verdict` from its declared ``claims`` and one judged
    :class:`~validation.claims.ClaimVerdict` per claim (any order; each claim exactly once).

    >>> from validation.claims import Claim, judge
    >>> h = Claim("law", "p", "m", "slope in [0.8, 1.2]", control="c", power="w", headline=True)
    >>> v = verdict_from_claims([h], [judge(h, Control("c", True), False, measurement="0.02")],
    ...                         prediction="steps ∝ n_h")
    >>> v.status, v.criterion, v.claim("law").status
    ('fail', 'slope in [0.8, 1.2]', 'fail')
    """
    claims = check_claims(claims)
    by_name = {}
    for j in judged:
        if not isinstance(j, ClaimVerdict):
            raise ValueError(f"judged claims must be ClaimVerdict objects, got {type(j).__name__}")
        if j.name in by_name:
            raise ValueError(f"claim {j.name!r} judged twice")
        by_name[j.name] = j
    unknown = sorted(set(by_name) - {c.name for c in claims})
    missing = [c.name for c in claims if c.name not in by_name]
    if unknown or missing:
        raise ValueError(f"judged claims do not match CLAIMS: unknown {unknown}, missing {missing}")
    head = next(c for c in claims if c.headline)
    hv = by_name[head.name]
    ordered = tuple(by_name[c.name] for c in claims)
    status = case_status(claims, ordered)
    return Verdict(
        status, prediction, hv.measurement, head.criterion, dict(numbers or {}), hv.control, ordered
    )


def verdict_of(
    claims, observations, *, prediction: str, numbers: dict | None = None, claim_numbers: bool = False
) -> Verdict:
    """The case's :class:`Verdict` from its declared ``claims`` and what it found for each:
    ``observations`` maps each claim's name to a :class:`~validation.claims.Observed` (or an already
    judged :class:`~validation.claims.ClaimVerdict`), or lists them in the order of ``claims``.
    Each is worded by :func:`validation.claims.judged` (control from the claim's requirement,
    ``inconclusive`` when it did not hold); ``claim_numbers`` adds each claim's numbers to
    ``numbers`` under the claim's name.

    >>> from validation.claims import Claim
    >>> h = Claim("law", "p", "m", "slope in [0.8, 1.2]", control="≥ {n} runs", power="w",
    ...           threshold={"n": 10}, headline=True)
    >>> v = verdict_of([h], {"law": Observed("slope 0.97", passed=True, held=True, detail="12 runs")},
    ...                prediction="steps ∝ n_h")
    >>> v.status, v.control.requirement
    ('pass', '≥ 10 runs')
    """
    claims = check_claims(claims)
    if not isinstance(observations, Mapping):
        observations = dict(zip((c.name for c in claims), observations, strict=True))
    unknown = sorted(set(observations) - {c.name for c in claims})
    if unknown:
        raise ValueError(f"observations for claims not in CLAIMS: {unknown}")
    missing = [c.name for c in claims if c.name not in observations]
    if missing:
        raise ValueError(f"no observation for claim(s) {', '.join(missing)}")
    verdicts = [judged(c, observations[c.name]) for c in claims]
    numbers = dict(numbers or {})
    if claim_numbers:
        numbers.update({v.name: v.numbers for v in verdicts})
    return verdict_from_claims(claims, verdicts, prediction=prediction, numbers=numbers)


@dataclass(frozen=True)
class CaseResult:
    name: str
    title: str
    claim: str
    profile: str
    settings: dict
    prediction: dict
    verdict: Verdict
    figure: str | None
    elapsed_s: float
    compute_s: float | None
    units: int
    replicate: int = 0


def list_cases() -> list[str]:
    """Registered case names, in report order."""
    from .cases import CASES

    return list(CASES)


def load_case(name: str) -> ModuleType:
    """Import ``validation.cases.<name>`` and check that it defines the case interface."""
    known = list_cases()
    if name not in known:
        raise ValueError(f"unknown validation case {name!r}; known: {', '.join(known)}")
    mod = importlib.import_module(f"validation.cases.{name}")
    missing = [a for a in _REQUIRED if not hasattr(mod, a)]
    if missing:
        raise ValueError(f"validation case {name!r} lacks {', '.join(missing)}")
    absent = [p for p in PROFILES if p not in mod.PROFILES]
    if absent:
        raise ValueError(f"validation case {name!r} has no profile {', '.join(absent)}")
    return mod


def _settings(mod: ModuleType, profile: str, replicate: int = 0) -> dict:
    """The settings one run of a case measures: its profile's table plus ``replicate`` (the
    seed set and data draw, read by :func:`validation.claims.replicate_seeds`)."""
    if profile not in PROFILES:
        raise ValueError(f"profile must be one of {', '.join(PROFILES)}; got {profile!r}")
    if "replicate" in mod.PROFILES[profile]:
        raise ValueError(
            f"validation case {mod.__name__}: 'replicate' is set by the framework, not a profile"
        )
    settings = json.loads(json.dumps(mod.PROFILES[profile]))
    settings["replicate"] = replicate_of({"replicate": replicate})
    return settings


def device_of(settings: dict) -> str:
    """The target device of a profile's settings: ``settings["device"]`` (``"cpu"`` or ``"gpu"``),
    ``"cpu"`` when absent.  Every gpu profile names its device, so ``cost()`` can tell.

    >>> device_of({"device": "gpu"}), device_of({})
    ('gpu', 'cpu')
    """
    return str(settings.get("device", "cpu"))


def case_dir(out: Path, name: str, replicate: int) -> Path:
    """Where one replicate of a case keeps its stored units: ``out/cases/<name>/r<K>``."""
    return Path(out) / "cases" / name / f"r{replicate_of({'replicate': replicate})}"


def estimate(
    names: Sequence[str], profile: str, out: Path | None = None, replicates: Sequence[int] = (0,)
) -> dict:
    """Estimated compute seconds of running ``names`` at ``profile`` on each of ``replicates``:
    each case's ``cost(settings)`` times the share of its units not already stored under ``out``.

    Returns ``{"total_s": float, "per_case": {name: seconds}, "missing": [names without a
    cost()], "stored_units": int, "units": int}``.
    """
    per_case, missing, stored, total_units = {}, [], 0, 0
    for n in names:
        mod = load_case(n)
        for k in replicates:
            jobs = case_jobs(n, profile, k)
            done = 0
            if out is not None:
                chunks = case_dir(out, n, k) / "chunks"
                done = sum((chunks / f"{j.key}.npz").exists() for j in jobs)
            stored += done
            total_units += len(jobs)
            if not hasattr(mod, "cost"):
                if n not in missing:
                    missing.append(n)
                continue
            c = float(mod.cost(_settings(mod, profile, k)))
            if not (c >= 0 and np.isfinite(c)):
                raise ValueError(f"validation case {n!r}: cost() must be a finite number >= 0, got {c!r}")
            per_case[n] = per_case.get(n, 0.0) + c * (len(jobs) - done) / len(jobs)
    return {
        "total_s": float(sum(per_case.values())),
        "per_case": per_case,
        "missing": missing,
        "stored_units": stored,
        "units": total_units,
    }


def format_estimate(est: dict, profile: str, workers: int | None = None) -> str:
    """One line: the estimated compute time of a run (see :func:`estimate`) and, on the cpu
    target, the wall time it means with ``workers`` processes (units are independent, so the
    wall time is the compute over min(workers, 2 cores); measured: 1555 s of compute took 15.2
    min with 2 workers on 2 cores)."""
    line = (
        f"estimated compute ({profile} profile, its target device): {est['total_s'] / 60:.1f} min "
        f"for {len(est['per_case'])} case(s) with an estimate"
    )
    if profile != "gpu":
        parallel = max(1, min(int(workers or 1), 2))
        line += (
            f", about {est['total_s'] / 60 / parallel:.0f} min wall with {workers or 1} worker(s) on 2 cores"
        )
    if est["stored_units"]:
        line += f" ({est['stored_units']} of {est['units']} units already stored, not counted)"
    if est["missing"]:
        line += f"; no estimate for: {', '.join(est['missing'])}"
    return line


def case_jobs(name: str, profile: str, replicate: int = 0) -> list:
    """The scan-runner jobs of one case on one replicate: one per unit, keyed ``<name>-<index>``."""
    from effgrok.scan import Job

    mod = load_case(name)
    settings = _settings(mod, profile, replicate)
    units = mod.units(settings)
    if not units:
        raise ValueError(f"validation case {name!r} has no measurement units in profile {profile!r}")
    return [
        Job(
            key=f"{name}-{i:04d}",
            kind="validation.framework:measure_timed",
            params={"case": name, "settings": settings, "unit": json.loads(json.dumps(u))},
        )
        for i, u in enumerate(units)
    ]


def steps_text(steps) -> str:
    """First-crossing steps for a report line: whole steps where reached, ``never`` where not
    (``NEVER``/``None``); a list for an array.

    >>> steps_text(np.array([2200.0, np.nan])), steps_text(None), steps_text(25.0)
    ('[2200, never]', 'never', '25')
    """
    if steps is not None and np.ndim(steps) > 0:
        return "[" + ", ".join(steps_text(v) for v in np.asarray(steps, dtype=float).tolist()) + "]"
    if steps is None or not np.isfinite(steps):
        return "never"
    return str(int(steps)) if float(steps).is_integer() else f"{float(steps):g}"


#: Measurement keys that hold first-crossing steps or times (``fnmatch`` patterns).  Units stored
#: before effgrok used one "never reached" sentinel hold −1 there as integers; :func:`upgrade_unit`
#: turns those into ``NaN`` (:data:`effgrok.constants.NEVER`), so earlier stores stay usable.
STEP_KEYS = ("step_*", "t_*", "*_t_*", "memorization_step")


def upgrade_unit(unit: dict) -> dict:
    """A stored measurement unit in today's conventions: an *integer* array under a
    :data:`STEP_KEYS` name (written before issue 17, −1 = never reached) becomes float64 with
    ``NaN`` for −1; everything else (and every unit written since) passes unchanged.

    >>> upgrade_unit({"step_rqi": np.array([40, -1]), "final_rqi": np.array([1.0, 0.2])})["step_rqi"]
    array([40., nan])
    """
    from effgrok.constants import never_from_legacy

    def legacy(k, v):
        return np.issubdtype(np.asarray(v).dtype, np.integer) and any(fnmatch(k, p) for p in STEP_KEYS)

    return {k: never_from_legacy(v) if legacy(k, v) else v for k, v in unit.items()}


def measure_timed(case: str, settings: dict, unit: dict) -> dict:
    """One unit of ``case`` (the scan-runner job): its arrays plus ``_seconds``, the time the
    measurement took where it ran (kept with the stored unit, so resumed reports keep it)."""
    mod = importlib.import_module(f"validation.cases.{case}")
    t0 = time.perf_counter()
    res = dict(mod.measure_unit(settings, unit))
    res["_seconds"] = np.asarray(time.perf_counter() - t0)
    return res


def case_claims(mod: ModuleType) -> tuple[Claim, ...]:
    """A case's declared claims (its ``CLAIMS``), checked."""
    if not hasattr(mod, "CLAIMS"):
        raise ValueError(f"validation case {mod.__name__} declares no CLAIMS (validation.claims.Claim)")
    return check_claims(mod.CLAIMS, mod.__name__)


def _criteria_guard(name: str, claims, folder: Path | None, replicate: int) -> dict:
    """Record the claims' fingerprints with a replicate's stored units the first time; later,
    refuse a criterion changed since (unless logged, :func:`validation.changelog.check_stored`).
    Returns the claims not to judge on this replicate, with the reason."""
    from effgrok.results import write_json_atomic

    from .changelog import check_stored

    current = {c.name: c.fingerprint() for c in claims}
    if folder is None:
        return {}
    path = Path(folder) / "criteria.json"
    if path.exists():
        return check_stored(name, current, json.loads(path.read_text())["fingerprints"], replicate)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_json_atomic(path, {"case": name, "replicate": replicate, "fingerprints": current})
    return {}


def _judge(mod, claims, prediction, measurements, settings, blocked: dict) -> Verdict:
    verdict = mod.verdict(prediction, measurements, settings)
    if not isinstance(verdict, Verdict):
        raise ValueError(f"validation case {mod.__name__} returned {type(verdict).__name__}, not a Verdict")
    if [c.name for c in verdict.claims] != [c.name for c in claims]:
        raise ValueError(
            f"validation case {mod.__name__}: verdict claims differ from CLAIMS (verdict_from_claims)"
        )
    if not blocked:
        return verdict
    by_name = {c.name: c for c in claims}
    judged = [untested(by_name[c.name], blocked[c.name]) if c.name in blocked else c for c in verdict.claims]
    return verdict_from_claims(claims, judged, prediction=verdict.prediction, numbers=verdict.numbers)


def run_case(
    name: str,
    profile: str,
    out: Path | None = None,
    *,
    replicate: int = 0,
    workers: int | None = None,
    scheduler: str | None = None,
    progress: Callable[[int], None] | None = None,
    figure: bool = True,
) -> CaseResult:
    """Predict, measure (resumably, under ``out/cases/<name>/r<K>/``), judge and plot one case
    on one replicate ``K`` (its seed set and data draw)."""
    from effgrok.scan import ScanStore, run_scan

    mod = load_case(name)
    claims = case_claims(mod)
    settings = _settings(mod, profile, replicate)
    started = time.time()
    jobs = case_jobs(name, profile, replicate)
    store, folder = None, None
    if out is not None:
        folder = case_dir(out, name, replicate)
        store = ScanStore(folder, f"validation {name}", {"profile": profile, **settings})
    blocked = _criteria_guard(name, claims, folder, settings["replicate"])
    prediction = to_jsonable(mod.predict(settings))
    results = run_scan(jobs, store=store, workers=workers, scheduler=scheduler, progress=progress)
    measurements = [
        upgrade_unit({k: np.asarray(v) for k, v in results[j.key].items() if k != "_seconds"}) for j in jobs
    ]
    seconds = [results[j.key].get("_seconds") for j in jobs]
    compute_s = None if any(t is None for t in seconds) else float(sum(float(t) for t in seconds))
    verdict = _judge(mod, claims, prediction, measurements, settings, blocked)
    path = None
    if out is not None and figure:
        path = Path(out) / "figures" / f"{name}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        mod.plot(prediction, measurements, settings, verdict, path)
    return CaseResult(  # the case and what it found, in the field order
        name,
        mod.TITLE,
        mod.CLAIM,
        profile,
        settings,
        prediction,
        verdict,
        figure=None if path is None else f"figures/{name}.png",
        elapsed_s=time.time() - started,
        compute_s=compute_s,
        units=len(jobs),
        replicate=settings["replicate"],
    )


def _device() -> str:
    try:
        import jax

        d = jax.devices()[0]
        return f"{d.platform}: {getattr(d, 'device_kind', d)}"
    except Exception as exc:  # pragma: no cover - depends on the machine
        return f"unknown ({exc})"


def case_record(name: str, runs: dict) -> dict:
    """One case of the report from its runs on several replicates (``{K: CaseResult}``): each
    claim with its verdict per replicate and combined (:func:`validation.claims.combine`), and
    the case's verdict from the combined claims."""
    from .claims import combine

    first = runs[min(runs)]
    claims = case_claims(load_case(name))
    entries = []
    for c in claims:
        per = {k: r.verdict.claim(c.name) for k, r in runs.items()}
        entries.append(
            {
                **c.record(),
                "verdict": combine({k: v.status for k, v in per.items()}),
                "replicates": {str(k): v.status for k, v in per.items()},
                "measurements": {str(k): v.measurement for k, v in per.items()},
                "numbers": {str(k): v.numbers for k, v in per.items()},
                "controls": {
                    str(k): None if v.control is None else asdict(v.control) for k, v in per.items()
                },
            }
        )
    status = case_status(claims, {e["name"]: e["verdict"] for e in entries})
    compute = [r.compute_s for r in runs.values()]
    return to_jsonable(
        {
            "name": name,
            "title": first.title,
            "claim": first.claim,
            "profile": first.profile,
            "settings": {k: v for k, v in first.settings.items() if k != "replicate"},
            "prediction": first.prediction,
            "verdict": status,
            "claims": entries,
            "replicates": sorted(runs),
            "runs": {str(k): asdict(r.verdict) for k, r in runs.items()},
            "figure": first.figure,
            "elapsed_s": sum(r.elapsed_s for r in runs.values()),
            "compute_s": None if any(t is None for t in compute) else float(sum(compute)),
            "units": sum(r.units for r in runs.values()),
        }
    )


def _error_record(name: str, profile: str, exc: BaseException) -> dict:
    mod = sys.modules.get(f"validation.cases.{name}")
    return {
        "name": name,
        "title": getattr(mod, "TITLE", name),
        "claim": getattr(mod, "CLAIM", ""),
        "profile": profile,
        "verdict": "error",
        "claims": [],
        "error": f"{type(exc).__name__}: {exc}",
        "traceback": traceback.format_exc(),
        "figure": None,
    }


def run_suite(
    profile: str,
    out: Path,
    *,
    cases: Sequence[str] | None = None,
    replicates: Sequence[int] = (0, 1),
    workers: int | None = None,
    scheduler: str | None = None,
    progress=False,
    keep_going: bool = True,
) -> dict:
    """Run ``cases`` (default: all) on each of ``replicates`` and write ``out/report.md`` and
    ``out/report.json``.  A claim passes only if it passes on every replicate run.

    ``progress``: ``True`` for a tqdm bar on stderr, or any reporter with ``update(n)`` and
    ``close()`` (the command passes a line every 10 s when stderr is no terminal).  A case that
    raises is reported with status ``error`` and the suite goes on (unless
    ``keep_going=False``); Ctrl-C stops the suite and keeps every finished unit.
    """
    from effgrok import __version__
    from effgrok.results import write_json_atomic, write_text_atomic

    names = list_cases() if cases is None else list(cases)
    replicates = sorted({replicate_of({"replicate": k}) for k in replicates})
    if not replicates:
        raise ValueError("give at least one replicate")
    for n in names:
        case_claims(load_case(n))  # fail fast on a bad name or a case without claims
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    started = time.time()
    bar = None
    if progress is True:
        from tqdm import tqdm

        total = sum(len(case_jobs(n, profile, k)) for n in names for k in replicates)
        bar = tqdm(total=total, desc=f"validation ({profile})", unit="unit", file=sys.stderr)
    elif progress:  # a reporter of the caller's (update, close), e.g. a line every 10 s in a log
        bar = progress
    records = []
    try:
        for n in names:
            if hasattr(bar, "set_postfix_str"):
                bar.set_postfix_str(n)
            try:
                runs = {
                    k: run_case(
                        n,
                        profile,
                        out,
                        replicate=k,
                        workers=workers,
                        scheduler=scheduler,
                        progress=None if bar is None else bar.update,
                        figure=k == replicates[0],
                    )
                    for k in replicates
                }
                records.append(case_record(n, runs))
            except KeyboardInterrupt:
                raise
            except Exception as exc:
                if not keep_going:
                    raise
                records.append(_error_record(n, profile, exc))
    finally:
        if bar is not None:
            bar.close()
    report = {
        "profile": profile,
        "replicates": replicates,
        "date_utc": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(started)),
        "elapsed_s": time.time() - started,
        "compute_s": None
        if any(r.get("compute_s") is None for r in records)
        else sum(r["compute_s"] for r in records),
        "effgrok_version": __version__,
        "device": _device(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cases": records,
        "summary": {s: sum(r["verdict"] == s for r in records) for s in STATUSES},
        "changelog": [c.record() for c in _changes(names)],
    }
    report = to_jsonable(report)
    write_json_atomic(out / "report.json", report)
    write_text_atomic(out / "report.md", render_markdown(report))
    return report


def _changes(names):
    from .changelog import CHANGES

    return [c for c in CHANGES if c.case in names]


def _seconds(t) -> str:
    return "not recorded" if t is None else f"{t:.0f} s"


_HOLDS = {
    ("pass", "quantitative"): "Holds quantitatively",
    ("pass", "qualitative"): "Holds only qualitatively",
    ("fail", "quantitative"): "Does not hold",
    ("fail", "qualitative"): "Does not hold",
}
_HOLDS_ORDER = (
    "Holds quantitatively",
    "Holds only qualitatively",
    "Does not hold",
    "Unstable across replicates",
    "Undecided here",
)


def _holds(status: str, kind: str) -> str | None:
    if kind == "reported":
        return None
    if status == "unstable":
        return "Unstable across replicates"
    return _HOLDS.get((status, kind), "Undecided here")


def _where_it_holds(cases: list[dict]) -> list[str]:
    """The report's "Where the theory holds" lines: every judged claim of every case under its
    combined verdict (pass → holds quantitatively or only qualitatively, as the claim is stated;
    fail → does not hold; disagreeing replicates → unstable; inconclusive/untested → undecided)."""
    groups = {k: [] for k in _HOLDS_ORDER}
    for r in cases:
        for c in r.get("claims", []):
            level = _holds(c["verdict"], c["kind"])
            if level is None:
                continue
            per = ", ".join(f"K={k}: {v}" for k, v in c["replicates"].items())
            groups[level].append(f"- *{_cell(r['title'])}* — {_cell(c['paper'])} ({per})")
    lines = ["## Where the theory holds", ""]
    for level, items in groups.items():
        if items:
            lines += [f"**{level}**", "", *items, ""]
    return lines if len(lines) > 2 else []


def _control(c: dict | None) -> str:
    if not c:
        return "none stated"
    return f"{c['requirement']} -- {'held' if c['held'] else 'NOT met'}" + (
        f" ({c['detail']})" if c.get("detail") else ""
    )


def _cell(text: str) -> str:
    return " ".join(str(text).split()).replace("|", "\\|")


_BADGE = {
    "pass": "✅ pass",
    "partial": "◐ partial",
    "fail": "❌ fail",
    "unstable": "↯ unstable",
    "inconclusive": "❔ inconclusive",
    "untested": "— untested",
    "reported": "📏 reported",
    "error": "💥 error",
}


def publish(run_dir: Path, docs_dir: Path) -> Path:
    """Copy a finished run's report into the documentation: ``docs_dir/index.md`` (rendered
    for Sphinx: no in-page anchors), ``report.json`` and the figures."""
    import shutil

    from effgrok.results import write_json_atomic, write_text_atomic

    run_dir, docs_dir = Path(run_dir), Path(docs_dir)
    try:
        report = json.loads((run_dir / "report.json").read_text())
    except (OSError, ValueError) as exc:
        raise ValueError(f"no readable report.json in {run_dir}: {exc}") from None
    (docs_dir / "figures").mkdir(parents=True, exist_ok=True)
    for r in report["cases"]:
        if r.get("figure"):
            shutil.copyfile(run_dir / r["figure"], docs_dir / r["figure"])
    write_json_atomic(docs_dir / "report.json", report)
    write_text_atomic(docs_dir / "criteria.md", render_criteria())
    head, _, rest = render_markdown(report, anchors=False).partition("\n")
    how = (
        "Made by `uv run python -m validation --profile "
        f"{report['profile']} --out DIR --publish {docs_dir.as_posix()}`; the machine-readable "
        "version is `report.json` beside this page.  How to run the suite and write a case: "
        "{doc}`../howto/validation`.  The pre-registered criteria of every claim: {doc}`criteria`.\n\n"
        "```{toctree}\n:hidden:\n\ncriteria\n```\n"
    )
    return write_text_atomic(docs_dir / "index.md", f"{head}\n\n{how}\n{rest}")


def _claims_table(r: dict, reps: list) -> list[str]:
    head = "| claim | kind | criterion | " + " | ".join(f"K={k}" for k in reps) + " | verdict |"
    lines = [head, "|" + "---|" * (4 + len(reps))]
    for c in r["claims"]:
        per = " | ".join(_BADGE.get(c["replicates"].get(str(k), ""), "—") for k in reps)
        name = f"**{c['name']}**" if c["headline"] else c["name"]
        lines.append(f"| {name} | {c['kind']} | {_cell(c['criterion'])} | {per} | {_BADGE[c['verdict']]} |")
    return lines


def _claim_details(c: dict, reps: list) -> list[str]:
    lines = [
        "",
        f"**{c['name']}**{' (headline)' if c['headline'] else ''} — {_cell(c['paper'])}",
        "",
        f"- *Measurement:* {_cell(c['measurement'])}",
        f"- *Criterion:* {_cell(c['criterion'])}"
        + (f" `{json.dumps(c['threshold'], ensure_ascii=False)}`" if c.get("threshold") else ""),
        f"- *Positive control:* {_cell(c['control'])}; *power:* {_cell(c['power'])}",
    ]
    for k in reps:
        key = str(k)
        if key in c["measurements"]:
            ctl = c["controls"].get(key)
            lines.append(
                f"- *K={k}:* {_BADGE[c['replicates'][key]]} — {_cell(c['measurements'][key])}"
                + (
                    f" (control held: {_cell(ctl['detail'])})"
                    if ctl and ctl["held"] and ctl["detail"]
                    else ""
                )
            )
    return lines


def _changelog(report: dict) -> list[str]:
    changes = report.get("changelog") or []
    if not changes:
        return []
    lines = [
        "## Criteria changelog",
        "",
        "Every criterion changed after runs of it existed: the new criterion is judged only on "
        "replicates not listed under *seen*.",
        "",
        "| date | case · claim | old → new | why | verdict under the old criterion | seen |",
        "|---|---|---|---|---|---|",
    ]
    for ch in changes:
        lines.append(
            f"| {ch['date']} | {ch['case']} · {ch['claim']} | {_cell(ch['old'])} → {_cell(ch['new'])} "
            f"| {_cell(ch['why'])} | {_cell(ch['old_verdict'])} | {', '.join(map(str, ch['seen'])) or '—'} |"
        )
    return [*lines, ""]


def render_markdown(report: dict, anchors: bool = True) -> str:
    """The report as markdown: the summary (each claim with its verdict per replicate), where
    the theory holds, the criteria changelog, then one section per case (``anchors``: link each
    summary row to its section with raw HTML anchors)."""
    s = report["summary"]
    reps = report.get("replicates", [0])
    lines = [
        f"# effgrok validation report — profile `{report['profile']}`",
        "",
        f"{report['date_utc']} · effgrok {report['effgrok_version']} · device {report['device']} · "
        f"Python {report['python']} · replicates {', '.join(f'K={k}' for k in reps)} · measurement "
        f"{_seconds(report.get('compute_s'))} of compute (this invocation {report['elapsed_s']:.0f} s wall; "
        "finished units are reused)",
        "",
        "Each case declares its claims before any run (criteria: `criteria.md`); every claim is judged on "
        "each replicate K (a seed set and data draw disjoint from every other K). *pass*: the criterion "
        "holds on every replicate; *fail*: it fails on every replicate; *unstable*: the replicates "
        "disagree; *inconclusive*: the claim's positive control did not hold; *untested*: this profile "
        "does not measure it (reason given). A case passes only if all its claims pass; *partial*: its "
        "headline claim passes and another does not.",
        "",
        "**Summary:** " + ", ".join(f"{s[k]} {k}" for k in STATUSES if s.get(k)),
        "",
        "| case | claim | " + " | ".join(f"K={k}" for k in reps) + " | claim verdict | case |",
        "|---|---|" + "---|" * len(reps) + "---|---|",
    ]
    for r in report["cases"]:
        title = f"[{_cell(r['title'])}](#{r['name']})" if anchors else _cell(r["title"])
        rows = r.get("claims") or [{"name": "—", "replicates": {}, "verdict": r["verdict"], "headline": True}]
        for i, c in enumerate(rows):
            per = " | ".join(_BADGE.get(c["replicates"].get(str(k), ""), "—") for k in reps)
            name = f"**{c['name']}**" if c.get("headline") else c["name"]
            lines.append(
                f"| {title if i == 0 else ''} | {name} | {per} | {_BADGE[c['verdict']]} "
                f"| {_BADGE[r['verdict']] if i == 0 else ''} |"
            )
    lines += ["", *_where_it_holds(report["cases"]), *_changelog(report)]
    for r in report["cases"]:
        lines += ["", f'<a id="{r["name"]}"></a>'] if anchors else []
        lines += ["", f"## {r['title']}", "", f"**Claim.** {r['claim']}", ""]
        lines.append(
            f"**Verdict:** {_BADGE[r['verdict']]}"
            + (f" ({_seconds(r.get('compute_s'))} of compute, {r['units']} units)" if "units" in r else "")
        )
        if r.get("error"):
            lines += ["", f"Error: {_cell(r['error'])}"]
        if r.get("claims"):
            lines += ["", *_claims_table(r, reps)]
            for c in r["claims"]:
                lines += _claim_details(c, reps)
        if r.get("settings"):
            lines += ["", f"- **Settings:** `{json.dumps(r['settings'], separators=(',', ':'))}`"]
        if r.get("figure"):
            lines += ["", f"![{_cell(r['title'])}]({r['figure']})"]
        if r.get("traceback"):
            lines += ["", "```", r["traceback"].rstrip(), "```"]
    return "\n".join(lines) + "\n"


def render_criteria(names: Sequence[str] | None = None) -> str:
    """``docs/validation/criteria.md``: every case's declared claims (the pre-registration),
    generated from the cases' ``CLAIMS``, with each claim's fingerprint and the changelog."""
    from .changelog import CHANGES

    names = list_cases() if names is None else list(names)
    lines = [
        "# Validation criteria (pre-registered)",
        "",
        "Generated from each case's `CLAIMS` by "
        "`python -m validation --criteria docs/validation/criteria.md`; "
        "a test keeps this page equal to the code. A criterion changed after its runs exist is refused "
        "unless it is logged in the criteria changelog (`validation/changelog.py`), and the new criterion "
        "is judged only on fresh replicates.",
    ]
    for n in names:
        mod = load_case(n)
        lines += ["", f"## {n} — {_cell(mod.TITLE)}", ""]
        for c in case_claims(mod):
            lines += [
                f"### `{c.name}`{' (headline)' if c.headline else ''} — {c.kind}",
                "",
                f"- **Paper:** {_cell(c.paper)}",
                f"- **Measurement:** {_cell(c.measurement)}",
                f"- **Criterion:** {_cell(c.criterion)}",
                f"- **Thresholds:** `{json.dumps(c.record()['threshold'], ensure_ascii=False)}`",
                f"- **Positive control:** {_cell(c.control) or '—'}",
                f"- **Power:** {_cell(c.power) or '—'}",
                f"- **Fingerprint:** `{c.fingerprint()}`",
                "",
            ]
    if CHANGES:
        lines += ["## Criteria changelog", ""]
        for ch in CHANGES:
            lines.append(
                f"- {ch.date} · {ch.case} · `{ch.claim}`: {_cell(ch.old)} → {_cell(ch.new)}. "
                f"Why: {_cell(ch.why)} "
                f"Old criterion on the same runs: {_cell(ch.old_verdict)}. Seen replicates: "
                f"{', '.join(map(str, ch.seen)) or 'none (pre-replicate runs)'}."
            )
    return "\n".join(lines).rstrip() + "\n"
