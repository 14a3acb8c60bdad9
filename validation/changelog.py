"""The criteria changelog: every change of a validation criterion after runs of it existed.

A criterion is fixed before the runs that judge it (:mod:`validation.claims`).  Changing it
afterwards is allowed only through an entry here, shown in the report: the date, the old and
the new criterion, why, and the verdict the *old* criterion gave on the same runs.  The new
criterion is then judged only on replicates no one had looked at: ``seen`` lists the
replicates whose runs motivated the change, and on those the claim reads *untested*.

Runs made before replicates existed (issue 23) used seeds below
:data:`validation.claims.REPLICATE_STRIDE`; no replicate K reuses them, so changes motivated by
those runs have ``seen = ()``.

The guard (:func:`check_stored`): a results folder remembers the fingerprint of every claim it
was measured under; judging it under a different fingerprint is refused unless this log has
an entry for that claim whose ``fingerprint`` is the current one.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["CHANGES", "CriterionChange", "changes_for", "check_stored"]


@dataclass(frozen=True)
class CriterionChange:
    """One logged change of one claim's criterion.

    ``date`` (ISO), ``case``, ``claim`` (the claim's name today), ``old`` and ``new`` (the
    criteria in words), ``why``, ``old_verdict`` (the verdict under the old criterion on the
    same runs, with its numbers), ``seen`` (replicates whose runs motivated the change; the new
    criterion is not judged on them), ``fingerprint`` (the claim's fingerprint after the change,
    :meth:`validation.claims.Claim.fingerprint`; empty when no stored run is to be re-judged).
    """

    date: str
    case: str
    claim: str
    old: str
    new: str
    why: str
    old_verdict: str
    seen: tuple = ()
    fingerprint: str = ""

    def record(self) -> dict:
        from dataclasses import asdict

        d = asdict(self)
        d["seen"] = list(self.seen)
        return d


#: The log, oldest first.
CHANGES: tuple[CriterionChange, ...] = ()


def changes_for(case: str, claim: str | None = None) -> list[CriterionChange]:
    """The logged changes of ``case`` (of one ``claim`` when given), oldest first."""
    return [c for c in CHANGES if c.case == case and (claim is None or c.claim == claim)]


def check_stored(case: str, current: dict, stored: dict, replicate: int) -> dict:
    """Compare the claims' fingerprints of today (``current``: ``{claim: fingerprint}``) with
    those a stored replicate was measured under (``stored``).

    Returns ``{claim: reason}`` for the claims that must not be judged on this replicate (a
    logged change whose ``seen`` includes it).  Raises ``ValueError`` for a claim whose
    criterion changed after these runs and whose change is not in :data:`CHANGES`.
    A claim that is new since the runs (absent from ``stored``) is judged normally: its
    criterion was fixed before it saw these numbers only if it is logged, so it counts as a
    change too.
    """
    blocked = {}
    for name, fp in current.items():
        if stored.get(name) == fp:
            continue
        logged = [c for c in changes_for(case, name) if c.fingerprint == fp]
        if not logged:
            was = stored.get(name, "absent")
            raise ValueError(
                f"validation case {case!r}: the criterion of claim {name!r} changed after its runs of "
                f"replicate {replicate} exist (fingerprint {was} -> {fp}); log the change in "
                f"validation/changelog.py (with the old verdict on these runs) or judge it on a fresh "
                f"replicate in a new results folder"
            )
        if replicate in logged[-1].seen:
            blocked[name] = (
                f"not judged on replicate {replicate}: its runs motivated the criterion change of "
                f"{logged[-1].date} (criteria changelog); judged on fresh replicates only"
            )
    return blocked
