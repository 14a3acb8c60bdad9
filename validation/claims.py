"""Pre-registered claims, their verdicts, and replication across seed sets.

A validation case declares what it tests as data, before any run: a tuple ``CLAIMS`` of
:class:`Claim` -- the paper's sentence, what is measured, the criterion with its thresholds,
the positive control and the smallest effect the measurement can resolve (its power).  Its
``verdict()`` then judges each claim on the numbers of one *replicate* (a seed set and data
draw, :func:`replicate_seeds`) and returns one :class:`ClaimVerdict` per claim; the case's own
status follows from them by one rule (:func:`case_status`), and a claim's verdicts on several
replicates combine by another (:func:`combine`): a claim *passes* only if it passes on every
replicate run; replicates that disagree make it *unstable*.

Why: criteria chosen while looking at the runs over-pass, and a pass on one seed set can be
luck.  So the criteria are data (``docs/validation/criteria.md`` is generated from them), each
carries a fingerprint, a stored run remembers the fingerprints it was measured under, and a
criterion edited after its runs exist is refused unless the edit is logged in
:mod:`validation.changelog` -- and even then those runs do not judge it (a fresh replicate
must).

>>> c = Claim("slope", paper="steps ∝ n_h", measurement="log-log slope of steps on n_h",
...           criterion="slope within [lo, hi]", threshold={"lo": 0.8, "hi": 1.2},
...           control="≥ 10 learning runs over ≥ 3 sizes", power="a slope error of ±0.2",
...           headline=True)
>>> v = judge(c, Control("≥ 10 learning runs", held=True), True, measurement="slope 0.97")
>>> v.status, case_status([c], [v])
('pass', 'pass')
>>> combine({0: "pass", 1: "fail"})
'unstable'
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

__all__ = [
    "CASE_STATUSES",
    "CLAIM_KINDS",
    "CLAIM_STATUSES",
    "REPLICATE_STRIDE",
    "Claim",
    "ClaimVerdict",
    "Control",
    "Observed",
    "case_status",
    "check_claims",
    "combine",
    "judge",
    "judged",
    "replicate_of",
    "replicate_seed",
    "replicate_seeds",
    "reported",
    "reported_claim",
    "requirement",
    "untested",
]

#: What a claim states: a number or law (``quantitative``), a direction or ordering only
#: (``qualitative``: its own claim, never a rescue for a failed quantitative one), or a
#: measured quantity with no pass/fail (``reported``).
CLAIM_KINDS = ("quantitative", "qualitative", "reported")
#: A claim's verdict on one replicate: ``pass``/``fail`` by its criterion (its control held),
#: ``inconclusive`` (the control did not hold), ``untested`` (the profile does not measure it,
#: e.g. out of the cpu budget: the reason is the measurement), ``reported`` (no criterion).
#: Across replicates, ``unstable``: the replicates disagree.
CLAIM_STATUSES = ("pass", "fail", "inconclusive", "untested", "reported", "unstable")
#: A case's status: from its claims by :func:`case_status`; ``partial`` = the headline claim
#: passes but another claim is not (yet) a pass; ``error`` = the case crashed (framework only).
CASE_STATUSES = ("pass", "partial", "fail", "unstable", "inconclusive", "reported", "error")
#: Seeds of replicate K are ``base + (K + 1)·REPLICATE_STRIDE + i``: disjoint across K (for
#: ``base + i < REPLICATE_STRIDE``) and from every seed used before replicates existed (all
#: below it).
REPLICATE_STRIDE = 1_000_000


@dataclass(frozen=True)
class Control:
    """A claim's positive control: the precondition under which its measurement can see the
    claimed effect.

    ``requirement`` says what must hold (a sentence with the thresholds), ``held`` whether it
    did, ``detail`` the numbers behind it.  A claim whose control did not hold can only be
    ``inconclusive``: a failed precondition says nothing about the theory.
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


def _jsonable(value):
    from effgrok.results import to_jsonable

    return to_jsonable(value)


#: The parts of a :class:`Claim` its fingerprint covers, and those its record holds (in order).
_RULE = ("measurement", "criterion", "threshold", "kind")
_RECORD = ("name", "paper", "measurement", "criterion", "threshold", "control", "power", "headline", "kind")


@dataclass(frozen=True)
class Claim:
    """One pre-registered claim of a validation case.

    ``name``: identifier, unique in the case (``snake_case``).  ``paper``: the paper's sentence
    (or the theory's statement) it tests, as written.  ``measurement``: what is measured on
    which runs.  ``criterion``: the rule in words, its numbers in ``threshold`` (a flat dict of
    numbers or strings the verdict code reads -- never restated as literals there).
    ``control``: the positive control's requirement.  ``power``: the smallest effect the
    measurement resolves (e.g. "a slope error of ±0.15 at 95 %", "P(learned | unpinned)
    ≥ 0.05 with 60 runs").  ``headline``: the claim as the paper writes it (one per case).
    ``kind``: one of :data:`CLAIM_KINDS`.
    """

    name: str
    paper: str
    measurement: str
    criterion: str
    threshold: Mapping = field(default_factory=dict)
    control: str = ""
    power: str = ""
    headline: bool = False
    kind: str = "quantitative"

    def __post_init__(self):
        if not (isinstance(self.name, str) and self.name.isidentifier()):
            raise ValueError(f"claim name must be an identifier, got {self.name!r}")
        for part in ("paper", "measurement", "criterion"):
            if not isinstance(getattr(self, part), str) or not getattr(self, part).strip():
                raise ValueError(f"claim {self.name!r}: {part} must be a non-empty sentence")
        if self.kind not in CLAIM_KINDS:
            raise ValueError(
                f"claim {self.name!r}: kind must be one of {', '.join(CLAIM_KINDS)}, got {self.kind!r}"
            )
        if self.kind != "reported" and not (self.control.strip() and self.power.strip()):
            raise ValueError(f"claim {self.name!r}: a judged claim states its control and its power")
        object.__setattr__(self, "threshold", dict(self.threshold))
        json.dumps(_jsonable(self.threshold))  # thresholds are data

    def rule(self) -> dict:
        """What the fingerprint covers: the measurement, the criterion, its thresholds, the kind."""
        return _jsonable({k: getattr(self, k) for k in _RULE})

    def fingerprint(self) -> str:
        """A short hash of :meth:`rule`: changes whenever the criterion does (wording included)."""
        text = json.dumps(self.rule(), sort_keys=True, ensure_ascii=False)
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    def record(self) -> dict:
        return _jsonable({**{k: getattr(self, k) for k in _RECORD}, "fingerprint": self.fingerprint()})


def reported_claim(name: str, paper: str, measurement: str, criterion: str = "reported, not judged") -> Claim:
    """A measured quantity with no pass/fail: a :class:`Claim` of kind ``reported`` (no control,
    no power).

    >>> reported_claim("r_net", "where networks learn", "r_net / r_c").rule()["criterion"]
    'reported, not judged'
    """
    return Claim(name, paper=paper, measurement=measurement, criterion=criterion, kind="reported")


@dataclass(frozen=True)
class ClaimVerdict:
    """One claim judged on one replicate: ``status`` (:data:`CLAIM_STATUSES`), ``measurement``
    (the numbers in words), ``numbers`` (JSON), ``control`` (required for pass and fail, and it
    must have held)."""

    name: str
    status: str
    measurement: str
    numbers: dict = field(default_factory=dict)
    control: Control | None = None

    def __post_init__(self):
        if self.status not in CLAIM_STATUSES:
            raise ValueError(f"claim status must be one of {', '.join(CLAIM_STATUSES)}; got {self.status!r}")
        if self.status in ("pass", "fail") and (self.control is None or not self.control.held):
            raise ValueError(f"a {self.status!r} claim verdict needs a positive control that held")
        object.__setattr__(self, "numbers", _jsonable(dict(self.numbers)))

    def record(self) -> dict:
        from dataclasses import asdict

        return _jsonable(asdict(self))


def judge(claim: Claim, control: Control, passed: bool, *, measurement: str, numbers: dict | None = None):
    """``claim``'s verdict: ``inconclusive`` when ``control`` did not hold (its reason is added to
    the measurement), else ``pass`` or ``fail`` as ``passed`` says."""
    if not isinstance(control, Control):
        raise ValueError(f"judge needs a Control, got {type(control).__name__}")
    if claim.kind == "reported":
        raise ValueError(f"claim {claim.name!r} is reported, not judged: use reported()")
    if not control.held:
        measurement = f"{measurement} -- positive control not met: {control.requirement} ({control.detail})"
        return ClaimVerdict(claim.name, "inconclusive", measurement, numbers or {}, control)
    return ClaimVerdict(claim.name, "pass" if bool(passed) else "fail", measurement, numbers or {}, control)


def untested(claim: Claim, why: str, numbers: dict | None = None) -> ClaimVerdict:
    """``claim`` is not measured by this profile or replicate; ``why`` says so (e.g. "the paper's
    depth-4 regime is out of the cpu budget")."""
    return ClaimVerdict(claim.name, "untested", why, numbers or {})


def reported(claim: Claim, measurement: str, numbers: dict | None = None) -> ClaimVerdict:
    """A measured quantity with no criterion (``claim.kind == "reported"``)."""
    if claim.kind != "reported":
        raise ValueError(f"claim {claim.name!r} is judged ({claim.kind}): use judge()")
    return ClaimVerdict(claim.name, "reported", measurement, numbers or {})


@dataclass(frozen=True)
class Observed:
    """What a case observed for one claim on one replicate, before it is worded as a
    :class:`ClaimVerdict` by :func:`judged`: the case states what it measured and whether the
    pass condition and the positive control held; the claim supplies the rest (its control's
    requirement with the thresholds filled in, its kind).

    ``measurement``: the numbers in words (for an untested claim: why it is not measured).
    ``passed``: the pass condition (judged claims).  ``held``/``detail``: the positive control
    and the numbers behind it.  ``numbers``: JSON-able numbers of the claim.  ``requirement``:
    the control's requirement when it is not :func:`requirement` of the claim.  ``untested``:
    the profile does not measure the claim.

    >>> c = Claim("slope", "p", "m", "c", control="≥ {min_runs} runs", power="w",
    ...           threshold={"min_runs": 10}, headline=True)
    >>> v = judged(c, Observed("slope 0.97 over 4 runs", passed=True, held=False, detail="4 runs"))
    >>> v.status, v.control.requirement
    ('inconclusive', '≥ 10 runs')
    """

    measurement: str
    passed: bool | None = None
    held: bool = True
    detail: str = ""
    numbers: Mapping | None = None
    requirement: str | None = None
    untested: bool = False


def requirement(claim: Claim, **words: str) -> str:
    """``claim``'s positive control in words: its ``{name}`` fields filled from its thresholds,
    then each bare name of ``words`` replaced by its text (controls that name a threshold
    without braces, e.g. ``"≥ min_runs runs"``).

    >>> c = Claim("x", "p", "m", "c", control="≥ {n} runs at level", power="w", threshold={"n": 3})
    >>> requirement(c, level="0.9")
    '≥ 3 runs at 0.9'
    """
    text = claim.control.format(**claim.threshold)
    for name, value in words.items():
        text = text.replace(name, value)
    return text


def judged(claim: Claim, observation: Observed | ClaimVerdict) -> ClaimVerdict:
    """``claim``'s verdict from ``observation`` (a :class:`ClaimVerdict` passes unchanged):
    :func:`untested` when the observation says so; a ``reported`` claim is :func:`reported` -- or
    ``inconclusive`` when its observation's control did not hold; a judged claim goes through
    :func:`judge` with the control built from the claim's requirement and the observation's
    ``held``/``detail``."""
    if isinstance(observation, ClaimVerdict):
        return observation
    if not isinstance(observation, Observed):
        raise ValueError(f"claim {claim.name!r}: expected an Observed, got {type(observation).__name__}")
    numbers = dict(observation.numbers or {})
    if observation.untested:
        return untested(claim, observation.measurement, numbers)
    if claim.kind == "reported" and observation.held:
        return reported(claim, observation.measurement, numbers)
    text = requirement(claim) if observation.requirement is None else observation.requirement
    control = Control(text, held=observation.held, detail=observation.detail)
    if claim.kind == "reported":  # a reported quantity whose precondition failed
        measurement = f"{observation.measurement} -- positive control not met: {text} ({observation.detail})"
        return ClaimVerdict(claim.name, "inconclusive", measurement, numbers, control)
    return judge(
        claim, control, bool(observation.passed), measurement=observation.measurement, numbers=numbers
    )


def check_claims(claims: Sequence[Claim], where: str = "case") -> tuple[Claim, ...]:
    """``claims`` as a tuple, checked: Claim objects, unique names, exactly one headline."""
    claims = tuple(claims)
    if not claims or not all(isinstance(c, Claim) for c in claims):
        raise ValueError(f"{where}: CLAIMS must be a non-empty sequence of Claim")
    names = [c.name for c in claims]
    if len(set(names)) != len(names):
        raise ValueError(f"{where}: claim names repeat: {names}")
    heads = [c.name for c in claims if c.headline]
    if len(heads) != 1:
        raise ValueError(f"{where}: exactly one claim is the headline (the paper's claim); got {heads}")
    return claims


def case_status(claims: Sequence[Claim], statuses) -> str:
    """A case's status from its claims' statuses (a sequence of :class:`ClaimVerdict` or a
    ``{name: status}`` map): every claim ``reported`` → ``reported``; else the headline decides
    ``fail``/``unstable``/``inconclusive`` (``untested`` headline: ``inconclusive``); a passing
    headline gives ``pass`` only if every other judged claim passes, else ``partial``.

    >>> h = Claim("law", "p", "m", "c", control="x", power="y", headline=True)
    >>> q = Claim("order", "p", "m", "c", control="x", power="y", kind="qualitative")
    >>> case_status([h, q], {"law": "pass", "order": "untested"})
    'partial'
    >>> case_status([h, q], {"law": "fail", "order": "pass"})
    'fail'
    """
    claims = check_claims(claims)
    if not isinstance(statuses, Mapping):
        statuses = {v.name: v.status for v in statuses}
    missing = [c.name for c in claims if c.name not in statuses]
    if missing:
        raise ValueError(f"no verdict for claim(s) {', '.join(missing)}")
    if all(c.kind == "reported" for c in claims):
        return "reported"
    head = statuses[next(c.name for c in claims if c.headline)]
    if head in ("fail", "unstable", "inconclusive"):
        return head
    if head in ("untested",):
        return "inconclusive"
    if head == "reported":
        return "reported"
    others = [statuses[c.name] for c in claims if not c.headline and c.kind != "reported"]
    return "pass" if all(s == "pass" for s in others) else "partial"


def combine(by_replicate: Mapping) -> str:
    """One claim's verdict over replicates (``{K: status}``): the common status when they agree,
    ``unstable`` when they do not (a pass on one seed set and not on another is no pass).

    >>> combine({0: "pass", 1: "pass"}), combine({0: "fail", 1: "inconclusive"})
    ('pass', 'unstable')
    """
    values = list(by_replicate.values())
    if not values:
        raise ValueError("combine needs at least one replicate")
    return values[0] if all(v == values[0] for v in values) else "unstable"


def replicate_of(settings: Mapping) -> int:
    """The replicate K a case's settings run (``settings["replicate"]``, set by the framework)."""
    k = settings.get("replicate", 0)
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 0:
        raise ValueError(f"replicate must be an integer >= 0, got {k!r}")
    return int(k)


def replicate_seed(settings: Mapping, base: int = 0) -> int:
    """The seed ``base`` (a data draw, a split, an initialisation) in the replicate of
    ``settings``: ``base + (K + 1)·REPLICATE_STRIDE``.

    >>> replicate_seed({"replicate": 0}, 7), replicate_seed({"replicate": 1}, 7)
    (1000007, 2000007)
    """
    base = int(base)
    if not 0 <= base < REPLICATE_STRIDE:
        raise ValueError(f"seed base must lie in [0, {REPLICATE_STRIDE}), got {base}")
    return base + (replicate_of(settings) + 1) * REPLICATE_STRIDE


def replicate_seeds(settings: Mapping, n: int, base: int = 0) -> np.ndarray:
    """``n`` seeds of the replicate of ``settings``: :func:`replicate_seed` of ``base + i``.

    >>> replicate_seeds({"replicate": 2}, 3, base=10).tolist()
    [3000010, 3000011, 3000012]
    """
    return np.array([replicate_seed(settings, base + i) for i in range(int(n))], dtype=np.int64)
