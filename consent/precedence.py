"""How entries decide a check: the most specific matching entry wins, objection beats consent.

Specificity is a total order on the four shapes an entry can have. The source counts first,
the life domain second (lexicographic order):

    3  one organisation, one life domain        most specific
    2  one organisation, all life domains
    1  a partner category, one life domain
    0  a partner category, all life domains      most general

So "organisation beats category" holds even against a category entry for one life domain: a
resident who names one organisation has made a more deliberate choice about it than one who
names a whole kind of organisation. The purpose is never a wildcard: an entry names one.

Among the matching entries of the highest specificity a DENY (objection) beats a PERMIT (Mitz).
For one check, two matching entries of equal rank are always in the same cell, and the
registry refuses overlapping entries in one cell, so through the registry that tie does not
arise; the rule keeps decide() total for any set of entries all the same (a store written by
hand, or by an older version). No matching entry means DENY (default deny). An entry matches
only while it counts (ACTIVE, or REVOCATION_PENDING) and only at instants inside its validity
period.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from consent.model import CheckQuery, Decision, Entry


def specificity(entry: Entry) -> int:
    """The entry's rank in the order above: higher is more specific."""
    return 2 * entry.cell.source.is_organisation + (entry.cell.life_domain is not None)


def applies_to(entry: Entry, query: CheckQuery) -> bool:
    """Whether the entry's cell covers the query, whatever the time."""
    cell = entry.cell
    return (
        entry.counts
        and cell.subject == query.subject
        and cell.purpose is query.purpose
        and (cell.life_domain is None or cell.life_domain is query.life_domain)
        and cell.source.covers(query.partner_id, query.partner_type)
    )


@dataclass(frozen=True)
class Outcome:
    """A decision, the entry that made it, and the period over which the entries keep it.

    `window_from`/`window_until` bound the stretch of time around `at` in which no applicable
    entry starts or ends, so the decision cannot change inside it unless the registry does.
    """

    decision: Decision
    entry: Entry | None
    window_from: dt.datetime | None
    window_until: dt.datetime | None


def decide(entries: Iterable[Entry], query: CheckQuery, at: dt.datetime) -> Outcome:
    """Apply the precedence rules to a person's entries at one instant."""
    applicable = [e for e in entries if applies_to(e, query)]
    matching = [e for e in applicable if e.validity.contains(at)]
    window_from, window_until = _window(applicable, at)
    if not matching:
        return Outcome(Decision.DENY, None, window_from, window_until)
    top = max(specificity(e) for e in matching)
    # Sorted by id so the same entries always name the same deciding entry.
    best = sorted((e for e in matching if specificity(e) == top), key=lambda e: e.id)
    denying = [e for e in best if e.decision is Decision.DENY]
    winner = denying[0] if denying else best[0]
    return Outcome(winner.decision, winner, window_from, window_until)


def _window(
    applicable: list[Entry], at: dt.datetime
) -> tuple[dt.datetime | None, dt.datetime | None]:
    bounds: list[dt.datetime] = []
    for e in applicable:
        bounds.append(e.validity.valid_from)
        if e.validity.valid_until is not None:
            bounds.append(e.validity.valid_until)
    before = [b for b in bounds if b <= at]
    after = [b for b in bounds if b > at]
    return (max(before) if before else None, min(after) if after else None)
