"""The dashboard's reads, each recorded in the hub's audit log (who, what, when).

The figures come from the store's aggregated reads and hub.figures, and are recorded as
VIEW_FIGURES (detail view=dashboard.figures), whose data concerns nobody in particular; the
escalated cases are read and recorded in one transaction (HubStore.staff_cases), with whose
data they are, so a resident asking "who looked at my data" learns of it. A page is shown only
after its audit entry is written.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence

from hub import figures
from hub.audit import AuditAction, AuditDraft
from hub.dashboard.escalated import EscalatedCase, escalated_view
from hub.figures import Dimension, Figures, Unit
from hub.judge import registry_view
from hub.operator import views
from hub.registry import Registry
from hub.staff import StaffMember
from hub.store.base import CaseRecord, HubStore
from seinhuis import logs

log = logs.get_logger(__name__)

#: The audit log's detail code for the figures page.
FIGURES_VIEW = "dashboard.figures"


def _utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class DashboardDesk:
    def __init__(
        self,
        store: HubStore,
        registry: Registry,
        *,
        clock: Callable[[], dt.datetime] = _utc_now,
        weeks: int = 13,
        months: int = 12,
    ) -> None:
        self._store = store
        self._registry = registry
        self._clock = clock
        self._weeks = weeks
        self._months = months

    def figures(self, member: StaffMember, unit: Unit, dimension: Dimension) -> Figures:
        """The figures (any member of staff: they name nobody), recorded as a view."""
        now = self._clock()
        today = now.astimezone(dt.UTC).date()
        since = figures.since(today, self._weeks, self._months)
        found = figures.compute(
            self._store.signal_tallies(since),
            self._store.case_facts(since),
            today=today,
            unit=unit,
            dimension=dimension,
            week_count=self._weeks,
            month_count=self._months,
        )
        self._store.append_audit(
            AuditDraft(
                actor_id=member.id,
                actor_role=views.actor_role(member),
                action=AuditAction.VIEW_FIGURES,
                detail=AuditDraft.details(view=FIGURES_VIEW, unit=unit.value, by=dimension.value),
            ),
            now,
        )
        _log(member, AuditAction.VIEW_FIGURES)
        return found

    def escalated(self, member: StaffMember) -> list[EscalatedCase]:
        """The open escalated cases the member may see; read and recorded in one transaction."""
        now = self._clock()
        view = registry_view(self._registry, {})

        def look(records: Sequence[CaseRecord]) -> tuple[list[EscalatedCase], AuditDraft]:
            return escalated_view(member, records, view, now.astimezone(dt.UTC).date())

        found = self._store.staff_cases(look, now)
        _log(member, AuditAction.VIEW_LIST)
        return found


def _log(member: StaffMember, action: AuditAction) -> None:
    log.info(
        "hub.staff_action",
        staff=member.id,
        role=member.role.value,
        action=action,
        case=None,
    )
