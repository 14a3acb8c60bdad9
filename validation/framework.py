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
``verdict(prediction, measurements, settings) -> Verdict``
    the stated criterion applied to the numbers (``measurements`` in the order of ``units``),
    with the case's *positive control* (:class:`Control`): the precondition under which the
    measurement can detect the claimed effect at all (feasible splits, a control run that
    succeeds within the budget, both labels present, an effect size the budget resolves).
    When the control fails the verdict is ``inconclusive`` with the reason, never ``fail``;
    :func:`decide` applies that rule;
``plot(prediction, measurements, settings, verdict, path)``
    one PNG figure;
``cost(settings) -> float`` (optional)
    the estimated seconds of compute of that profile's settings on the profile's target
    device (``tiny``/``cpu``: two CPU cores; ``gpu``: one modern GPU, e.g. an H200): a
    formula in the settings (runs × steps × a measured per-run-step time), not a
    measurement.  :func:`estimate` sums these (scaled by the share of units not yet stored
    in the results folder) and ``python -m validation`` prints the total before it starts,
    naming the cases without an estimate.

**Resuming.**  Every finished unit is stored under ``out/cases/<name>/chunks/`` with paths
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
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from fnmatch import fnmatch
from pathlib import Path
from types import ModuleType

import numpy as np

from effgrok.results import to_jsonable

__all__ = [
    "PROFILES",
    "STATUSES",
    "CaseResult",
    "Control",
    "Finding",
    "Verdict",
    "case_jobs",
    "decide",
    "device_of",
    "estimate",
    "list_cases",
    "load_case",
    "publish",
    "render_markdown",
    "run_case",
    "run_suite",
    "upgrade_unit",
]

PROFILES = ("tiny", "cpu", "gpu")
STATUSES = ("pass", "fail", "inconclusive", "reported", "error")
_REQUIRED = ("TITLE", "CLAIM", "PROFILES", "predict", "units", "measure_unit", "verdict", "plot")


@dataclass(frozen=True)
class Control:
    """A case's positive control: the precondition under which its measurement can see the
    claimed effect.

    ``requirement`` says what must hold (a sentence with the thresholds), ``held`` whether it
    did, ``detail`` the numbers behind it.  A verdict whose control did not hold can only be
    ``inconclusive`` (or ``reported``): a failed precondition says nothing about the theory.
    """

    requirement: str
    held: bool
    detail: str = ""

    def __post_init__(self):
        if not isinstance(self.requirement, str) or not self.requirement:
            raise ValueError(f"control requirement must be a non-empty string, got {self.requirement!r}")
        if not isinstance(self.held, (bool, np.bool_)):
            raise ValueError(f"control held must be True or False, got {self.held!r}")
        object.__setattr__(self, "held", bool(self.held))


LEVELS = ("quantitatively", "qualitatively", "not", "undecided")


@dataclass(frozen=True)
class Finding:
    """How far one claim of a paper holds on effgrok's runs: ``holds`` is one of
    :data:`LEVELS` (``quantitatively``: the stated law or number; ``qualitatively``: the
    direction or ordering only; ``not``; ``undecided``), ``evidence`` the numbers."""

    claim: str
    holds: str
    evidence: str = ""

    def __post_init__(self):
        if self.holds not in LEVELS:
            raise ValueError(f"finding level must be one of {', '.join(LEVELS)}; got {self.holds!r}")
        if not isinstance(self.claim, str) or not self.claim:
            raise ValueError(f"finding claim must be a non-empty string, got {self.claim!r}")


@dataclass(frozen=True)
class Verdict:
    """The outcome of one case.

    ``status``: ``pass`` / ``fail`` (the stated criterion holds / does not), ``inconclusive``
    (the positive control did not hold, or too few usable runs to decide), ``reported`` (the
    case states a measured quantity, not a pass), ``error`` (the case crashed; set by the
    framework only).  ``prediction``, ``measurement`` and ``criterion`` are short sentences
    with the numbers; ``numbers`` holds them as JSON; ``control`` is the case's positive
    control (required for ``pass`` and ``fail``, and it must have held).
    """

    status: str
    prediction: str
    measurement: str
    criterion: str
    numbers: dict = field(default_factory=dict)
    control: Control | None = None

    def __post_init__(self):
        if self.status not in STATUSES:
            raise ValueError(f"verdict status must be one of {', '.join(STATUSES)}; got {self.status!r}")
        for name in ("prediction", "measurement", "criterion"):
            if not isinstance(getattr(self, name), str):
                raise ValueError(f"verdict {name} must be a string, got {type(getattr(self, name)).__name__}")
        if self.control is not None and not isinstance(self.control, Control):
            raise ValueError(f"verdict control must be a Control, got {type(self.control).__name__}")
        if self.status in ("pass", "fail"):
            if self.control is None:
                raise ValueError(f"a {self.status!r} verdict needs its positive control (a Control)")
            if not self.control.held:
                raise ValueError(
                    f"a {self.status!r} verdict needs a positive control that held; this one did not "
                    f"({self.control.requirement}: {self.control.detail}) -- the verdict is 'inconclusive'"
                )


def decide(
    control: Control,
    passed: bool,
    *,
    prediction: str,
    measurement: str,
    criterion: str,
    numbers: dict | None = None,
) -> Verdict:
    """The verdict of a case: ``inconclusive`` (with the control's reason) when ``control`` did
    not hold, else ``pass`` or ``fail`` as ``passed`` says.

    >>> c = Control("both labels present (>= 2 runs each)", held=False, detail="0 grokking runs")
    >>> decide(c, True, prediction="p", measurement="m", criterion="c").status
    'inconclusive'
    """
    if not isinstance(control, Control):
        raise ValueError(f"decide needs a Control, got {type(control).__name__}")
    status = ("pass" if passed else "fail") if control.held else "inconclusive"
    if not control.held:
        measurement = f"{measurement} -- positive control not met: {control.requirement} ({control.detail})"
    return Verdict(status, prediction, measurement, criterion, dict(numbers or {}), control)


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
    findings: tuple = ()

    def as_dict(self) -> dict:
        d = asdict(self)
        d["verdict"] = asdict(self.verdict)  # the control, if any, nested as a dict
        return to_jsonable(d)


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


def _settings(mod: ModuleType, profile: str) -> dict:
    if profile not in PROFILES:
        raise ValueError(f"profile must be one of {', '.join(PROFILES)}; got {profile!r}")
    return json.loads(json.dumps(mod.PROFILES[profile]))


def device_of(settings: dict) -> str:
    """The target device of a profile's settings: ``settings["device"]`` (``"cpu"`` or ``"gpu"``),
    ``"cpu"`` when absent.  Every gpu profile names its device, so ``cost()`` can tell.

    >>> device_of({"device": "gpu"}), device_of({})
    ('gpu', 'cpu')
    """
    return str(settings.get("device", "cpu"))


def estimate(names: Sequence[str], profile: str, out: Path | None = None) -> dict:
    """Estimated compute seconds of running ``names`` at ``profile``: each case's
    ``cost(settings)`` times the share of its units not already stored under ``out``.

    Returns ``{"total_s": float, "per_case": {name: seconds}, "missing": [names without a
    cost()], "stored_units": int, "units": int}``.
    """
    per_case, missing, stored, total_units = {}, [], 0, 0
    for n in names:
        mod = load_case(n)
        jobs = case_jobs(n, profile)
        done = 0
        if out is not None:
            chunks = Path(out) / "cases" / n / "chunks"
            done = sum((chunks / f"{j.key}.npz").exists() for j in jobs)
        stored += done
        total_units += len(jobs)
        if not hasattr(mod, "cost"):
            missing.append(n)
            continue
        c = float(mod.cost(_settings(mod, profile)))
        if not (c >= 0 and np.isfinite(c)):
            raise ValueError(f"validation case {n!r}: cost() must be a finite number >= 0, got {c!r}")
        per_case[n] = c * (len(jobs) - done) / len(jobs)
    return {
        "total_s": float(sum(per_case.values())),
        "per_case": per_case,
        "missing": missing,
        "stored_units": stored,
        "units": total_units,
    }


def format_estimate(est: dict, profile: str) -> str:
    """One line: the estimated compute time of a run (see :func:`estimate`)."""
    line = (
        f"estimated compute ({profile} profile, its target device): {est['total_s'] / 60:.1f} min "
        f"for {len(est['per_case'])} case(s) with an estimate"
    )
    if est["stored_units"]:
        line += f" ({est['stored_units']} of {est['units']} units already stored, not counted)"
    if est["missing"]:
        line += f"; no estimate for: {', '.join(est['missing'])}"
    return line


def case_jobs(name: str, profile: str) -> list:
    """The scan-runner jobs of one case: one per unit, keyed ``<name>-<index>``."""
    from effgrok.scan import Job

    mod = load_case(name)
    settings = _settings(mod, profile)
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


def run_case(
    name: str,
    profile: str,
    out: Path | None = None,
    *,
    workers: int | None = None,
    scheduler: str | None = None,
    progress: Callable[[int], None] | None = None,
) -> CaseResult:
    """Predict, measure (resumably, under ``out/cases/<name>/``), judge and plot one case."""
    from effgrok.scan import ScanStore, run_scan

    mod = load_case(name)
    settings = _settings(mod, profile)
    started = time.time()
    jobs = case_jobs(name, profile)
    store = None
    if out is not None:
        store = ScanStore(Path(out) / "cases" / name, f"validation {name}", {"profile": profile, **settings})
    prediction = to_jsonable(mod.predict(settings))
    results = run_scan(jobs, store=store, workers=workers, scheduler=scheduler, progress=progress)
    measurements = [
        upgrade_unit({k: np.asarray(v) for k, v in results[j.key].items() if k != "_seconds"}) for j in jobs
    ]
    seconds = [results[j.key].get("_seconds") for j in jobs]
    compute_s = None if any(t is None for t in seconds) else float(sum(float(t) for t in seconds))
    verdict = mod.verdict(prediction, measurements, settings)
    if not isinstance(verdict, Verdict):
        raise ValueError(f"validation case {name!r} returned {type(verdict).__name__}, not a Verdict")
    figure = None
    if out is not None:
        path = Path(out) / "figures" / f"{name}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        mod.plot(prediction, measurements, settings, verdict, path)
        figure = f"figures/{name}.png"
    findings = tuple(mod.findings(verdict, settings)) if hasattr(mod, "findings") else ()
    if not all(isinstance(f, Finding) for f in findings):
        raise ValueError(f"validation case {name!r}: findings() must return Finding objects")
    return CaseResult(  # the case and what it found, in the field order
        name,
        mod.TITLE,
        mod.CLAIM,
        profile,
        settings,
        prediction,
        verdict,
        figure=figure,
        elapsed_s=time.time() - started,
        compute_s=compute_s,
        units=len(jobs),
        findings=findings,
    )


def _device() -> str:
    try:
        import jax

        d = jax.devices()[0]
        return f"{d.platform}: {getattr(d, 'device_kind', d)}"
    except Exception as exc:  # pragma: no cover - depends on the machine
        return f"unknown ({exc})"


def run_suite(
    profile: str,
    out: Path,
    *,
    cases: Sequence[str] | None = None,
    workers: int | None = None,
    scheduler: str | None = None,
    progress: bool = False,
    keep_going: bool = True,
) -> dict:
    """Run ``cases`` (default: all) and write ``out/report.md`` and ``out/report.json``.

    A case that raises is reported with status ``error`` and the suite goes on (unless
    ``keep_going=False``); Ctrl-C stops the suite and keeps every finished unit.
    """
    from effgrok import __version__
    from effgrok.results import write_json_atomic, write_text_atomic

    names = list_cases() if cases is None else list(cases)
    for n in names:
        load_case(n)  # fail fast on a bad name
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    started = time.time()
    bar = None
    if progress:
        from tqdm import tqdm

        total = sum(len(case_jobs(n, profile)) for n in names)
        bar = tqdm(total=total, desc=f"validation ({profile})", unit="unit", file=sys.stderr)
    records = []
    try:
        for n in names:
            if bar is not None:
                bar.set_postfix_str(n)
            try:
                res = run_case(
                    n,
                    profile,
                    out,
                    workers=workers,
                    scheduler=scheduler,
                    progress=None if bar is None else bar.update,
                )
                records.append(res.as_dict())
            except KeyboardInterrupt:
                raise
            except Exception as exc:
                if not keep_going:
                    raise
                mod = sys.modules.get(f"validation.cases.{n}")
                records.append(
                    {
                        "name": n,
                        "title": getattr(mod, "TITLE", n),
                        "claim": getattr(mod, "CLAIM", ""),
                        "profile": profile,
                        "verdict": {
                            "status": "error",
                            "prediction": "",
                            "measurement": f"{type(exc).__name__}: {exc}",
                            "criterion": "",
                            "numbers": {},
                        },
                        "traceback": traceback.format_exc(),
                        "figure": None,
                    }
                )
    finally:
        if bar is not None:
            bar.close()
    report = {
        "profile": profile,
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
        "summary": {s: sum(r["verdict"]["status"] == s for r in records) for s in STATUSES},
    }
    report = to_jsonable(report)
    write_json_atomic(out / "report.json", report)
    write_text_atomic(out / "report.md", render_markdown(report))
    return report


def _seconds(t) -> str:
    return "not recorded" if t is None else f"{t:.0f} s"


_LEVEL_HEADINGS = {
    "quantitatively": "Holds quantitatively",
    "criterion": "Holds by the case's stated criterion (the case does not grade its claims further)",
    "qualitatively": "Holds only qualitatively",
    "not": "Does not hold",
    "undecided": "Undecided here",
}
_STATUS_LEVEL = {"pass": "criterion", "fail": "not", "inconclusive": "undecided", "error": "undecided"}


def _where_it_holds(cases: list[dict]) -> list[str]:
    """The report's "Where the theory holds" lines: every case's findings grouped by level (a
    case without findings contributes its claim under its verdict: pass, fail or undecided;
    reported cases, which judge nothing, are left out)."""
    groups = {k: [] for k in _LEVEL_HEADINGS}
    for r in cases:
        found = r.get("findings") or []
        if not found:
            level = _STATUS_LEVEL.get(r["verdict"]["status"])
            if level is None:
                continue
            by = {"criterion": "see its criterion", "not": "by its stated criterion"}.get(
                level, "its positive control did not hold"
            )
            found = [{"claim": r["claim"], "holds": level, "evidence": by}]
        for f in found:
            groups[f["holds"]].append(f"- *{_cell(r['title'])}:* {f['claim']} ({f['evidence']})")
    lines = ["## Where the theory holds", ""]
    for level, items in groups.items():
        if items:
            lines += [f"**{_LEVEL_HEADINGS[level]}**", "", *items, ""]
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
    "fail": "❌ fail",
    "inconclusive": "❔ inconclusive",
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
    head, _, rest = render_markdown(report, anchors=False).partition("\n")
    how = (
        "Made by `uv run python -m validation --profile "
        f"{report['profile']} --out DIR --publish {docs_dir.as_posix()}`; the machine-readable "
        "version is `report.json` beside this page.  How to run the suite and write a case: "
        "{doc}`../howto/validation`."
    )
    return write_text_atomic(docs_dir / "index.md", f"{head}\n\n{how}\n{rest}")


def render_markdown(report: dict, anchors: bool = True) -> str:
    """The report as markdown: a summary table, then one section per case (``anchors``: link
    each table row to its section with raw HTML anchors)."""
    s = report["summary"]
    lines = [
        f"# effgrok validation report — profile `{report['profile']}`",
        "",
        f"{report['date_utc']} · effgrok {report['effgrok_version']} · device {report['device']} · "
        f"Python {report['python']} · measurement {_seconds(report.get('compute_s'))} of compute "
        f"(this invocation {report['elapsed_s']:.0f} s wall; finished units are reused)",
        "",
        "Each case states what effgrok's theory predicts, what effgrok's own trained networks do, and "
        "the criterion that decides. *pass*: the theory holds here by that criterion; *fail*: it does not; "
        "*inconclusive*: the case's positive control (the precondition under which it can see the effect) "
        "did not hold, or too few usable runs to decide; *reported*: a measured quantity, no pass/fail.",
        "",
        "**Summary:** " + ", ".join(f"{s[k]} {k}" for k in STATUSES if s.get(k)),
        "",
        *_where_it_holds(report["cases"]),
        "| case | prediction | measurement | criterion | verdict | figure |",
        "|---|---|---|---|---|---|",
    ]
    for r in report["cases"]:
        v = r["verdict"]
        fig = f"[png]({r['figure']})" if r.get("figure") else "—"
        title = f"[{_cell(r['title'])}](#{r['name']})" if anchors else _cell(r["title"])
        lines.append(
            f"| {title} | {_cell(v['prediction'])} | {_cell(v['measurement'])} "
            f"| {_cell(v['criterion'])} | {_BADGE[v['status']]} | {fig} |"
        )
    for r in report["cases"]:
        v = r["verdict"]
        lines += ["", f'<a id="{r["name"]}"></a>'] if anchors else []
        lines += [
            "",
            f"## {r['title']}",
            "",
            f"**Claim.** {r['claim']}",
            "",
            f"- **Prediction:** {v['prediction']}",
            f"- **Measurement:** {v['measurement']}",
            f"- **Criterion:** {v['criterion']}",
            f"- **Positive control:** {_control(v.get('control'))}",
            f"- **Verdict:** {_BADGE[v['status']]}"
            + (f" ({_seconds(r.get('compute_s'))} of compute, {r['units']} units)" if "units" in r else ""),
        ]
        if r.get("settings"):
            lines.append(f"- **Settings:** `{json.dumps(r['settings'], separators=(',', ':'))}`")
        if r.get("figure"):
            lines += ["", f"![{_cell(r['title'])}]({r['figure']})"]
        if r.get("traceback"):
            lines += ["", "```", r["traceback"].rstrip(), "```"]
    return "\n".join(lines) + "\n"
