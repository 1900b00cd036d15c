"""What the judgement decides: case actions and notifications, and the partner events it takes."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from hub.judgement.assignment import Assignment
from hub.judgement.matching import MatchResult
from hub.judgement.model import Case, CaseStatus, EscalationLevel, Outcome
from hub.judgement.notifications import Notification


@dataclass(frozen=True)
class OpenCase:
    case_id: str
    rule: str


@dataclass(frozen=True)
class UpdateCase:
    """Signals joined or left an open case (withdrawn, expired, consent revoked)."""

    case_id: str
    added: tuple[bytes, ...]
    removed: tuple[bytes, ...]


@dataclass(frozen=True)
class AssignRegiehouder:
    case_id: str
    partner_id: str
    rule: str
    deadline: dt.date | None


@dataclass(frozen=True)
class ChangeDeadline:
    """A more urgent signal shortened the response deadline of an unacknowledged case."""

    case_id: str
    deadline: dt.date


@dataclass(frozen=True)
class Escalate:
    case_id: str
    to: EscalationLevel
    rule: str
    deadline: dt.date | None


@dataclass(frozen=True)
class CloseCase:
    case_id: str
    outcome: Outcome
    rule: str


@dataclass(frozen=True)
class ReviewCase:
    """The case lost its basis after work started; its regiehouder (or procesregisseur) decides."""

    case_id: str
    rule: str


@dataclass(frozen=True)
class Transition:
    """A partner event moved the case."""

    case_id: str
    from_status: CaseStatus
    to_status: CaseStatus


@dataclass(frozen=True)
class AddToOutreach:
    """Signals for the outreach list instead of a case (Wgs: the municipality offers help)."""

    signal_ids: tuple[bytes, ...]
    rule: str


@dataclass(frozen=True)
class LeaveOutreach:
    """Signals on the outreach list that are now part of a case."""

    signal_ids: tuple[bytes, ...]


Action = (
    OpenCase
    | UpdateCase
    | AssignRegiehouder
    | ChangeDeadline
    | Escalate
    | CloseCase
    | ReviewCase
    | Transition
    | AddToOutreach
    | LeaveOutreach
)


@dataclass(frozen=True)
class Decision:
    """The judgement on one household: the case to store (new, changed or as it was; None when
    there is none), the regiehouder choice made (if one was), what changed, and who learns what.

    A pure function of the inputs: the store may run it again under the household's lock; run
    on its own result it decides nothing new.
    """

    match: MatchResult | None
    case: Case | None
    regie: Assignment | None
    actions: tuple[Action, ...]
    notifications: tuple[Notification, ...]


# Partner events on a case.


@dataclass(frozen=True)
class Acknowledge:
    partner_id: str


@dataclass(frozen=True)
class StartWork:
    partner_id: str


@dataclass(frozen=True)
class Decline:
    partner_id: str


@dataclass(frozen=True)
class AssignBy:
    """The procesregisseur (or bestuurder) names a regiehouder for an escalated case."""

    partner_id: str


@dataclass(frozen=True)
class Close:
    outcome: Outcome


Event = Acknowledge | StartWork | Decline | AssignBy | Close
