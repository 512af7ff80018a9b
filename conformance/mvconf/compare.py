"""Per-test comparison of a renamed run with the baseline (pure: outcomes in, verdict out)."""

from __future__ import annotations

import fnmatch
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from .config import Expected
from .pytest_run import Outcome

__all__ = ["BAD", "Change", "Comparison", "compare", "counts", "matches", "split_flaky"]

#: outcomes that are a failure of the test (a crash, or a module that does not import, included)
BAD = frozenset({"failed", "error", "crashed", "collect-error"})


@dataclass(frozen=True)
class Change:
    """A test whose outcome got worse in the renamed run."""

    id: str
    baseline: str
    renamed: str
    message: str
    #: the expected entry's reason, or "" when nothing explains it
    reason: str = ""


@dataclass(frozen=True)
class Comparison:
    #: worse than the baseline and not expected
    unexplained: tuple[Change, ...]
    #: worse than the baseline, with the expected list's reason
    expected: tuple[Change, ...]
    #: failing in the baseline, passing in the renamed run (information)
    fixed: tuple[str, ...]
    #: expected entries that matched nothing (stale: the test passes now, or its id changed)
    stale: tuple[Expected, ...]
    #: worse once, but not when run again (passing in a renamed rerun, or failing in a baseline rerun)
    flaky: tuple[Change, ...] = ()


def counts(outcomes: Mapping[str, Outcome]) -> dict[str, int]:
    """Tests per outcome."""
    return dict(sorted(Counter(o.outcome for o in outcomes.values()).items()))


def matches(test_id: str, pattern: str) -> bool:
    """A test id matches itself, a prefix naming its file/class (``path::Class``), or a glob."""
    if test_id == pattern or test_id.startswith((pattern + "::", pattern + "[")):
        return True
    if pattern.endswith(("/", "::")) and test_id.startswith(pattern):
        return True
    return any(c in pattern for c in "*?[") and fnmatch.fnmatchcase(test_id, pattern)


def _worse(baseline: str | None, renamed: str | None) -> bool:
    if baseline in BAD:
        return False  # failing in the original already: not the renaming's doing
    if renamed is None:
        return baseline is not None  # ran in the baseline, never ran renamed
    if renamed in BAD:
        return True
    # passing in the original, skipped (or xfailed) once renamed: a skip can hide a failure
    return baseline in ("passed", "xpassed") and renamed in ("skipped", "xfailed")


def compare(
    baseline: Mapping[str, Outcome], renamed: Mapping[str, Outcome], expected: Sequence[Expected], mode: str
) -> Comparison:
    """What changed for the worse between ``baseline`` and ``renamed``, split by the expected list."""
    mine = [e for e in expected if mode in e.modes]
    used: set[int] = set()
    unexplained: list[Change] = []
    accepted: list[Change] = []
    for test_id in sorted(set(baseline) | set(renamed)):
        before, after = baseline.get(test_id), renamed.get(test_id)
        b, a = (before.outcome if before else None), (after.outcome if after else None)
        if not _worse(b, a):
            continue
        message = after.message if after else "did not run in the renamed run (its module or id is missing)"
        change = Change(test_id, b or "absent", a or "absent", message)
        hit = next((i for i, e in enumerate(mine) if matches(test_id, e.id)), None)
        if hit is None:
            unexplained.append(change)
        else:
            used.add(hit)
            accepted.append(Change(change.id, change.baseline, change.renamed, change.message, mine[hit].reason))
    fixed = tuple(
        sorted(t for t, o in renamed.items() if o.outcome == "passed" and t in baseline and baseline[t].outcome in BAD)
    )
    stale = tuple(e for i, e in enumerate(mine) if i not in used)
    return Comparison(tuple(unexplained), tuple(accepted), fixed, stale)


def split_flaky(
    comparison: Comparison,
    baseline: Mapping[str, Outcome],
    renamed_reruns: Sequence[Mapping[str, Outcome]],
    baseline_reruns: Sequence[Mapping[str, Outcome]],
) -> Comparison:
    """Move to ``flaky`` each unexplained test that a rerun does not confirm.

    Confirmed means: worse than the baseline in every renamed rerun, and the baseline's outcome
    unchanged in every baseline rerun. Anything else says the outcome depends on the run (timing,
    random data), not on the renaming.
    """
    unexplained: list[Change] = []
    flaky: list[Change] = []
    for change in comparison.unexplained:
        before = baseline.get(change.id)
        worse_again = all(_worse(before.outcome if before else None, _get(r, change.id)) for r in renamed_reruns)
        same_base = all(_get(r, change.id) == (before.outcome if before else None) for r in baseline_reruns)
        (unexplained if worse_again and same_base else flaky).append(change)
    return Comparison(tuple(unexplained), comparison.expected, comparison.fixed, comparison.stale, tuple(flaky))


def _get(outcomes: Mapping[str, Outcome], test_id: str) -> str | None:
    found = outcomes.get(test_id)
    return found.outcome if found else None
