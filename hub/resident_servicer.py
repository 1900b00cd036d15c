"""The hub's ResidentService (resident.proto): the resident portal's window on the hub.

Thin: identify the caller (only the certificate names in `[hub.consent] client_ids`, the
consent service that serves the portal), convert, read or record, convert back. The portal has
logged the resident in and knows whom they represent; the hub answers only about the people it
is asked about (hub.resident_view).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Collection, Sequence

import grpc
from google.protobuf import timestamp_pb2

from hub import resident_serde as serde
from hub.audit import ActorRole, AuditAction
from hub.looks import who_looked
from hub.registry import Registry
from hub.resident import Objection, RegiePreference
from hub.resident_view import Person, ResidentHousehold, resident_household, residents_at
from hub.store import HubStore
from seinhuis import logs
from seinhuis.errors import FailedPrecondition, InvalidArgument, NotFound, PermissionDenied
from seinhuis.transport import peer_common_name
from seinhuis.v1 import resident_pb2, resident_pb2_grpc

log = logs.get_logger(__name__)

MAX_NOTICES = 500
ID_BYTES = 16


class ResidentServicer(resident_pb2_grpc.ResidentServiceServicer):
    def __init__(
        self,
        *,
        store: HubStore,
        registry: Registry,
        client_ids: Collection[str],
        institutions: Callable[[], frozenset[bytes]] = frozenset,
        clock: Callable[[], dt.datetime],
    ) -> None:
        self._store = store
        self._registry = registry
        self._clients = frozenset(client_ids)
        self._institutions = institutions
        self._clock = clock

    def _authorize(self, context: grpc.ServicerContext) -> str:
        caller = peer_common_name(context) or ""
        if caller not in self._clients:
            raise PermissionDenied(
                "rule access.resident: only the consent service may use the ResidentService"
            )
        return caller

    def _household(self, people: Sequence[Person]) -> ResidentHousehold:
        return resident_household(
            self._store,
            self._registry,
            people,
            institutions=self._institutions(),
            today=self._clock().date(),
        )

    def GetHousehold(
        self, request: resident_pb2.GetHouseholdRequest, context: grpc.ServicerContext
    ) -> resident_pb2.GetHouseholdResponse:
        self._authorize(context)
        found = self._household(serde.people_from_proto(list(request.people)))
        log.info("hub.resident_household_read", signals=len(found.signals))
        return serde.household_to_proto(found)

    def ListAccess(
        self, request: resident_pb2.ListAccessRequest, context: grpc.ServicerContext
    ) -> resident_pb2.ListAccessResponse:
        self._authorize(context)
        people = serde.people_from_proto(list(request.people))
        return resident_pb2.ListAccessResponse(records=access_records_for(self._store, people))

    def RecordObjection(
        self, request: resident_pb2.RecordObjectionRequest, context: grpc.ServicerContext
    ) -> resident_pb2.RecordObjectionResponse:
        self._authorize(context)
        for name in ("objection_id", "signal_id"):
            if len(getattr(request, name)) != ID_BYTES:
                raise InvalidArgument(f"must be {ID_BYTES} bytes", field=name)
        if not request.HasField("subject"):
            raise InvalidArgument("required", field="subject")
        subject = serde.person_from_proto(request.subject, "subject")
        reason = serde.reason_from_proto(request.reason)
        made_by = serde.party_from_proto(request.made_by)
        # The signal must be one this person sees: the same view as GetHousehold's.
        held = next(
            (
                h
                for h in self._household([subject]).signals
                if h.signal.received.id == bytes(request.signal_id)
            ),
            None,
        )
        if held is None:
            raise NotFound("no signal with that id concerns this person")
        if not held.statute_based:
            raise FailedPrecondition(
                "rule objection.consent-based: this signal was given with consent; revoke the "
                "consent instead"
            )
        r = held.signal.received
        objection = self._store.add_objection(
            Objection(
                id=bytes(request.objection_id),
                signal_id=r.id,
                subject=subject.pseudonym,
                key_version=subject.key_version,
                made_by=made_by,
                reason=reason,
                signal_type=r.signal.signal_type,
                partner_type=r.partner_type,
                legal_basis=r.signal.legal_basis,
                created_at=self._clock(),
            )
        )
        log.info("hub.objection_recorded", objection=objection.id, reason=reason.value)
        return resident_pb2.RecordObjectionResponse(objection_id=objection.id)

    def StatePreference(
        self, request: resident_pb2.StatePreferenceRequest, context: grpc.ServicerContext
    ) -> resident_pb2.StatePreferenceResponse:
        self._authorize(context)
        if not request.HasField("person"):
            raise InvalidArgument("required", field="person")
        person = serde.person_from_proto(request.person, "person")
        choice = serde.choice_from_proto(request.choice)
        partner_type = (
            serde.partner_type_from_proto(request.partner_type, "partner_type")
            if request.partner_type
            else None
        )
        self._store.set_preference(
            RegiePreference(
                person.pseudonym, person.key_version, choice, self._clock(), partner_type
            )
        )
        log.info("hub.preference_stated", choice=choice.value)
        return resident_pb2.StatePreferenceResponse()

    def ClearPreference(
        self, request: resident_pb2.ClearPreferenceRequest, context: grpc.ServicerContext
    ) -> resident_pb2.ClearPreferenceResponse:
        self._authorize(context)
        if not request.HasField("person"):
            raise InvalidArgument("required", field="person")
        person = serde.person_from_proto(request.person, "person")
        return resident_pb2.ClearPreferenceResponse(
            cleared=self._store.clear_preference(person.pseudonym)
        )

    def ListStatuteNotices(
        self, request: resident_pb2.ListStatuteNoticesRequest, context: grpc.ServicerContext
    ) -> resident_pb2.ListStatuteNoticesResponse:
        self._authorize(context)
        limit = request.limit or MAX_NOTICES
        if not 1 <= limit <= MAX_NOTICES:
            raise InvalidArgument(f"must be between 1 and {MAX_NOTICES}", field="limit")
        # Notices are made when asked for: the portal polls, so no hub thread is needed.
        self._store.sweep_statute_notices(self._clock())
        out = resident_pb2.ListStatuteNoticesResponse()
        for notice in self._store.statute_notices_after(request.after_cursor, limit=limit):
            s = notice.signal.received.signal
            if s.person_pseudonym is not None:
                subjects = [Person(s.person_pseudonym, s.key_version)]
            else:
                subjects = [
                    Person(p, s.key_version) for p in residents_at(self._store, s.address_pseudonym)
                ]
            out.notices.append(serde.notice_to_proto(notice, subjects))
        return out


def access_records_for(
    store: HubStore, people: Sequence[Person]
) -> list[resident_pb2.AccessRecord]:
    """Who looked at or acted on these people's data, newest first, from the hub's audit log:
    the municipal role (never the staff member) and what was done, as residents read it."""
    looks = who_looked(store, persons=[p.pseudonym for p in people])
    return [
        resident_pb2.AccessRecord(
            at=_timestamp(look.at),
            who=STAFF_ROLES_NL[look.actor_role],
            kind=_ACCESS_KINDS[look.action],
        )
        for look in sorted(looks, key=lambda look: look.seq, reverse=True)
    ]


#: The municipal roles as the portal names them to residents (Dutch: residents read it).
STAFF_ROLES_NL = {
    ActorRole.OPERATOR: "Gemeente, medewerker signalenhuis",
    ActorRole.PROCESREGISSEUR: "Gemeente, procesregisseur",
    ActorRole.BESTUURDER: "Gemeente, bestuurder",
    ActorRole.HUB: "Gemeente, signalenhuis (automatisch)",
}
_ACCESS_KINDS = {
    AuditAction.VIEW_LIST: resident_pb2.ACCESS_KIND_VIEWED_HOUSEHOLD,
    AuditAction.VIEW_CASE: resident_pb2.ACCESS_KIND_VIEWED_HOUSEHOLD,
    AuditAction.VIEW_AUDIT: resident_pb2.ACCESS_KIND_VIEWED_HOUSEHOLD,
    AuditAction.ACKNOWLEDGE: resident_pb2.ACCESS_KIND_HANDLED_CASE,
    AuditAction.REASSIGN: resident_pb2.ACCESS_KIND_HANDLED_CASE,
    AuditAction.CLOSE: resident_pb2.ACCESS_KIND_HANDLED_CASE,
    AuditAction.ESCALATE: resident_pb2.ACCESS_KIND_ESCALATED,
    AuditAction.ESCALATION_NOTICE: resident_pb2.ACCESS_KIND_ESCALATED,
}


def _timestamp(at: dt.datetime) -> timestamp_pb2.Timestamp:
    stamp = timestamp_pb2.Timestamp()
    stamp.FromDatetime(at.astimezone(dt.UTC).replace(tzinfo=None))
    return stamp
