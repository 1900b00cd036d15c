"""The portal's client of the hub's ResidentService (resident.proto), over mutual TLS.

It is the portal's HouseholdInfoSource (what the Overzicht shows) and its HubRecords (the
objections and preferences the hub must know), and it reads the hub's statute notices for
consent.portal.notices. The consent service calls with its own certificate ([consent.tls]): the
hub admits only the names in its `[hub.consent] client_ids`. Transport failures are Unavailable
(the portal then shows "even niet bereikbaar"); the hub's refusals keep their status.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TypeVar

import grpc

from consent.model import Pseudonym
from consent.portal.household import (
    AccessKind,
    AccessRecord,
    CaseInfo,
    CaseState,
    HeldSignal,
    HouseholdInfo,
    Regiehouder,
    SignalState,
)
from consent.portal.records import Objection, RegiehouderPreference
from seinhuis.errors import InvalidArgument, SeinhuisError, Unavailable
from seinhuis.serde import date_from_proto, enum_from_proto, enum_to_proto
from seinhuis.service_client import BY_STATUS, TRANSPORT_CODES, ServiceClient
from seinhuis.transport import TlsFiles
from seinhuis.v1 import consent_pb2, feed_pb2, resident_pb2, resident_pb2_grpc, vocabulary_pb2
from seinhuis.vocabulary import LegalBasis, PartnerType, SignalType

_T = TypeVar("_T")


@dataclass(frozen=True)
class HubNotice:
    """A statute-based signal the hub registered, and whom it concerns."""

    cursor: int
    signal_id: bytes
    subjects: tuple[Pseudonym, ...]
    signal_type: SignalType
    partner_type: PartnerType
    legal_basis: LegalBasis
    registered_on: dt.date


def _person(p: Pseudonym) -> consent_pb2.ConsentPerson:
    return consent_pb2.ConsentPerson(pseudonym=p.value, key_version=p.key_version)


class HubResidentClient(ServiceClient):
    """A connection to the hub's ResidentService; close() when done."""

    def __init__(
        self,
        target: str | grpc.Channel,
        tls: TlsFiles | None = None,
        *,
        server_name: str = "hub",
        timeout_s: float = 10.0,
    ) -> None:
        super().__init__(target, tls, server_name=server_name, timeout_s=timeout_s)
        self._stub = resident_pb2_grpc.ResidentServiceStub(self._channel)

    def _error(self, exc: grpc.RpcError) -> SeinhuisError:
        code: grpc.StatusCode = exc.code()
        if code in TRANSPORT_CODES:
            return Unavailable(f"the hub is not reachable ({code.name})")
        return BY_STATUS.get(code.name, SeinhuisError)(f"hub: {exc.details() or code.name}")

    # --- HouseholdInfoSource ------------------------------------------------------------------

    def household_info(self, people: Sequence[Pseudonym]) -> HouseholdInfo:
        if not people:
            return HouseholdInfo()
        asked = [_person(p) for p in people]
        found = self._call(self._stub.GetHousehold, resident_pb2.GetHouseholdRequest(people=asked))
        access = self._call(self._stub.ListAccess, resident_pb2.ListAccessRequest(people=asked))
        return HouseholdInfo(
            signals=tuple(_held(s) for s in found.signals),
            case=_case(found.household_case) if found.HasField("household_case") else None,
            access_log=tuple(_access(a) for a in access.records),
        )

    # --- HubRecords -------------------------------------------------------------------------------

    def record_objection(self, objection: Objection) -> None:
        try:
            signal_id = bytes.fromhex(objection.signal_reference)
        except ValueError:
            raise InvalidArgument("not a signal of the hub's", field="signal_reference") from None
        self._call(
            self._stub.RecordObjection,
            resident_pb2.RecordObjectionRequest(
                objection_id=objection.id,
                signal_id=signal_id,
                subject=_person(objection.subject),
                made_by=enum_to_proto(objection.made_by, consent_pb2.ConsentParty),
                reason=enum_to_proto(objection.reason, resident_pb2.ObjectionReason),
            ),
        )

    def state_preference(self, preference: RegiehouderPreference) -> None:
        request = resident_pb2.StatePreferenceRequest(
            person=_person(preference.person),
            choice=enum_to_proto(preference.choice, resident_pb2.RegiehouderChoice),
        )
        if preference.partner_type is not None:
            request.partner_type = enum_to_proto(
                preference.partner_type, vocabulary_pb2.PartnerType
            )
        self._call(self._stub.StatePreference, request)

    def clear_preference(self, person: Pseudonym) -> None:
        request = resident_pb2.ClearPreferenceRequest(person=_person(person))
        self._call(self._stub.ClearPreference, request)

    # --- statute notices --------------------------------------------------------------------------

    def statute_notices_after(self, cursor: int, *, limit: int = 500) -> list[HubNotice]:
        request = resident_pb2.ListStatuteNoticesRequest(after_cursor=cursor, limit=limit)
        found = self._call(self._stub.ListStatuteNotices, request)
        return [_notice(n) for n in found.notices]


def _held(s: resident_pb2.HeldSignal) -> HeldSignal:
    return HeldSignal(
        reference=bytes(s.signal_id).hex(),
        subject=Pseudonym(bytes(s.subject.pseudonym), s.subject.key_version),
        signal_type=enum_from_proto(s.signal_type, SignalType, vocabulary_pb2.SignalType, "type"),
        partner_type=enum_from_proto(
            s.partner_type, PartnerType, vocabulary_pb2.PartnerType, "partner_type"
        ),
        registered_on=date_from_proto(s.registered_on, "registered_on"),
        legal_basis=enum_from_proto(
            s.legal_basis, LegalBasis, vocabulary_pb2.LegalBasis, "legal_basis"
        ),
        kept_until=date_from_proto(s.keep_until, "keep_until"),
        state=enum_from_proto(s.status, SignalState, resident_pb2.HeldSignalStatus, "status"),
    )


def _case(c: resident_pb2.HouseholdCase) -> CaseInfo:
    regiehouder = None
    if c.HasField("regiehouder"):
        kind = enum_from_proto(
            c.regiehouder.partner_type, PartnerType, vocabulary_pb2.PartnerType, "regiehouder"
        )
        # The hub knows the regiehouder by the contact point the municipality registered.
        regiehouder = Regiehouder(
            name="", organisation=c.regiehouder.contact_point, partner_type=kind
        )
    return CaseInfo(
        opened_on=date_from_proto(c.opened_on, "opened_on"),
        regiehouder=regiehouder,
        status=enum_from_proto(c.status, CaseState, feed_pb2.CaseStatus, "status"),
    )


def _access(a: resident_pb2.AccessRecord) -> AccessRecord:
    return AccessRecord(
        at=a.at.ToDatetime(tzinfo=dt.UTC),
        who=a.who,
        partner_type=enum_from_proto(
            a.partner_type, PartnerType, vocabulary_pb2.PartnerType, "partner_type"
        )
        if a.partner_type  # unspecified: the municipality's own staff
        else None,
        kind=enum_from_proto(a.kind, AccessKind, resident_pb2.AccessKind, "kind"),
    )


def _notice(n: resident_pb2.StatuteNotice) -> HubNotice:
    return HubNotice(
        cursor=n.cursor,
        signal_id=bytes(n.signal_id),
        subjects=tuple(Pseudonym(bytes(p.pseudonym), p.key_version) for p in n.subjects),
        signal_type=enum_from_proto(n.signal_type, SignalType, vocabulary_pb2.SignalType, "type"),
        partner_type=enum_from_proto(
            n.partner_type, PartnerType, vocabulary_pb2.PartnerType, "partner_type"
        ),
        legal_basis=enum_from_proto(
            n.legal_basis, LegalBasis, vocabulary_pb2.LegalBasis, "legal_basis"
        ),
        registered_on=date_from_proto(n.registered_on, "registered_on"),
    )
