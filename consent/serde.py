"""Proto <-> domain for the consent registry; every refusal names the field it is about."""

from __future__ import annotations

import datetime as dt

from google.protobuf import timestamp_pb2

from consent.model import (
    Cell,
    Change,
    ChangeKind,
    ChangeNotice,
    CheckQuery,
    CheckResult,
    Decision,
    Entry,
    EntryState,
    GrantRequest,
    Party,
    Pseudonym,
    Purpose,
    Receipt,
    Source,
    Validity,
    require_id,
)
from consent.representation import Actor, RepresentedChild
from seinhuis.errors import InvalidArgument
from seinhuis.serde import enum_from_proto, enum_to_proto
from seinhuis.v1 import consent_pb2, vocabulary_pb2
from seinhuis.vocabulary import LifeDomain, PartnerType

#: More children than this under one person's authority is a mistake, not a family.
_MAX_CHILDREN = 64

# --- time -------------------------------------------------------------------------------------


def time_to_proto(value: dt.datetime) -> timestamp_pb2.Timestamp:
    out = timestamp_pb2.Timestamp()
    out.FromDatetime(value.astimezone(dt.UTC))
    return out


def time_from_proto(value: timestamp_pb2.Timestamp, field: str) -> dt.datetime:
    try:
        return value.ToDatetime(tzinfo=dt.UTC)
    except (ValueError, OverflowError, OSError):
        raise InvalidArgument("not a valid instant", field=field) from None


# --- people -----------------------------------------------------------------------------------


def person_to_proto(person: Pseudonym) -> consent_pb2.ConsentPerson:
    return consent_pb2.ConsentPerson(pseudonym=person.value, key_version=person.key_version)


def person_from_proto(msg: consent_pb2.ConsentPerson, field: str) -> Pseudonym:
    return Pseudonym(bytes(msg.pseudonym), msg.key_version, field_name=field)


def actor_from_proto(msg: consent_pb2.ConsentActor) -> Actor:
    if not msg.HasField("person"):
        raise InvalidArgument("required", field="actor.person")
    if len(msg.children) > _MAX_CHILDREN:
        raise InvalidArgument(f"at most {_MAX_CHILDREN}", field="actor.children")
    children = tuple(
        RepresentedChild(person_from_proto(c.person, f"actor.children[{i}].person"), c.age)
        for i, c in enumerate(msg.children)
    )
    return Actor(person_from_proto(msg.person, "actor.person"), msg.age, children)


def actor_to_proto(actor: Actor) -> consent_pb2.ConsentActor:
    return consent_pb2.ConsentActor(
        person=person_to_proto(actor.person),
        age=actor.age,
        children=[
            consent_pb2.ConsentRepresentedChild(person=person_to_proto(c.person), age=c.age)
            for c in actor.children
        ],
    )


# --- cells and entries ------------------------------------------------------------------------


def source_to_proto(source: Source) -> consent_pb2.ConsentSource:
    if source.partner_type is not None:
        return consent_pb2.ConsentSource(
            partner_type=enum_to_proto(source.partner_type, vocabulary_pb2.PartnerType)
        )
    assert source.partner_id is not None  # Source holds exactly one of the two
    return consent_pb2.ConsentSource(partner_id=source.partner_id)


def source_from_proto(msg: consent_pb2.ConsentSource) -> Source:
    which = msg.WhichOneof("source")
    if which == "partner_type":
        return Source.category(
            enum_from_proto(
                msg.partner_type, PartnerType, vocabulary_pb2.PartnerType, "source.partner_type"
            )
        )
    if which == "partner_id":
        return Source.organisation(msg.partner_id)
    raise InvalidArgument("give a partner_type or a partner_id", field="source")


def _scope_from_proto(
    msg: consent_pb2.GrantRequest | consent_pb2.ConsentEntry,
) -> LifeDomain | None:
    which = msg.WhichOneof("scope")
    if which == "life_domain":
        return enum_from_proto(
            msg.life_domain, LifeDomain, vocabulary_pb2.LifeDomain, "life_domain"
        )
    if which == "all_life_domains" and msg.all_life_domains:
        return None
    raise InvalidArgument("give one life_domain or all_life_domains = true", field="life_domain")


def grant_from_proto(msg: consent_pb2.GrantRequest) -> tuple[Actor, GrantRequest]:
    if not msg.HasField("actor"):
        raise InvalidArgument("required", field="actor")
    if not msg.HasField("subject"):
        raise InvalidArgument("required", field="subject")
    if not msg.HasField("source"):
        raise InvalidArgument("required", field="source")
    cell = Cell(
        subject=person_from_proto(msg.subject, "subject"),
        source=source_from_proto(msg.source),
        life_domain=_scope_from_proto(msg),
        purpose=enum_from_proto(msg.purpose, Purpose, consent_pb2.Purpose, "purpose"),
    )
    decision = enum_from_proto(msg.decision, Decision, consent_pb2.ConsentDecision, "decision")
    request = GrantRequest(
        cell,
        decision,
        time_from_proto(msg.valid_from, "valid_from") if msg.HasField("valid_from") else None,
        time_from_proto(msg.valid_until, "valid_until") if msg.HasField("valid_until") else None,
    )
    return actor_from_proto(msg.actor), request


def grant_to_proto(actor: Actor, request: GrantRequest) -> consent_pb2.GrantRequest:
    cell = request.cell
    out = consent_pb2.GrantRequest(
        actor=actor_to_proto(actor),
        subject=person_to_proto(cell.subject),
        source=source_to_proto(cell.source),
        purpose=enum_to_proto(cell.purpose, consent_pb2.Purpose),
        decision=enum_to_proto(request.decision, consent_pb2.ConsentDecision),
    )
    if cell.life_domain is None:
        out.all_life_domains = True
    else:
        out.life_domain = enum_to_proto(cell.life_domain, vocabulary_pb2.LifeDomain)
    if request.valid_from is not None:
        out.valid_from.CopyFrom(time_to_proto(request.valid_from))
    if request.valid_until is not None:
        out.valid_until.CopyFrom(time_to_proto(request.valid_until))
    return out


def entry_to_proto(entry: Entry) -> consent_pb2.ConsentEntry:
    cell = entry.cell
    out = consent_pb2.ConsentEntry(
        entry_id=entry.id,
        subject=person_to_proto(cell.subject),
        source=source_to_proto(cell.source),
        purpose=enum_to_proto(cell.purpose, consent_pb2.Purpose),
        decision=enum_to_proto(entry.decision, consent_pb2.ConsentDecision),
        valid_from=time_to_proto(entry.validity.valid_from),
        state=enum_to_proto(entry.state, consent_pb2.ConsentEntryState),
        awaiting=(
            enum_to_proto(entry.awaiting, consent_pb2.ConsentParty)
            if entry.awaiting is not None
            else consent_pb2.CONSENT_PARTY_UNSPECIFIED
        ),
        created_at=time_to_proto(entry.created_at),
        changed_at=time_to_proto(entry.changed_at),
    )
    if cell.life_domain is None:
        out.all_life_domains = True
    else:
        out.life_domain = enum_to_proto(cell.life_domain, vocabulary_pb2.LifeDomain)
    if entry.validity.valid_until is not None:
        out.valid_until.CopyFrom(time_to_proto(entry.validity.valid_until))
    return out


def entry_from_proto(msg: consent_pb2.ConsentEntry) -> Entry:
    """An entry as the registry sent it (clients: the portal, the hub's Watch)."""
    awaiting = (
        enum_from_proto(msg.awaiting, Party, consent_pb2.ConsentParty, "awaiting")
        if msg.awaiting != consent_pb2.CONSENT_PARTY_UNSPECIFIED
        else None
    )
    until = time_from_proto(msg.valid_until, "valid_until") if msg.HasField("valid_until") else None
    return Entry(
        id=require_id(msg.entry_id, "entry_id"),
        cell=Cell(
            subject=person_from_proto(msg.subject, "subject"),
            source=source_from_proto(msg.source),
            life_domain=_scope_from_proto(msg),
            purpose=enum_from_proto(msg.purpose, Purpose, consent_pb2.Purpose, "purpose"),
        ),
        decision=enum_from_proto(msg.decision, Decision, consent_pb2.ConsentDecision, "decision"),
        validity=Validity(time_from_proto(msg.valid_from, "valid_from"), until),
        state=enum_from_proto(msg.state, EntryState, consent_pb2.ConsentEntryState, "state"),
        awaiting=awaiting,
        created_at=time_from_proto(msg.created_at, "created_at"),
        changed_at=time_from_proto(msg.changed_at, "changed_at"),
    )


# --- checks and receipts ----------------------------------------------------------------------


def check_from_proto(msg: consent_pb2.CheckRequest) -> CheckQuery:
    if not msg.HasField("subject"):
        raise InvalidArgument("required", field="subject")
    return CheckQuery(
        subject=person_from_proto(msg.subject, "subject"),
        partner_id=msg.partner_id,
        partner_type=enum_from_proto(
            msg.partner_type, PartnerType, vocabulary_pb2.PartnerType, "partner_type"
        ),
        life_domain=enum_from_proto(
            msg.life_domain, LifeDomain, vocabulary_pb2.LifeDomain, "life_domain"
        ),
        purpose=enum_from_proto(msg.purpose, Purpose, consent_pb2.Purpose, "purpose"),
        at=time_from_proto(msg.at, "at") if msg.HasField("at") else None,
    )


def check_to_proto(query: CheckQuery) -> consent_pb2.CheckRequest:
    out = consent_pb2.CheckRequest(
        subject=person_to_proto(query.subject),
        partner_id=query.partner_id,
        partner_type=enum_to_proto(query.partner_type, vocabulary_pb2.PartnerType),
        life_domain=enum_to_proto(query.life_domain, vocabulary_pb2.LifeDomain),
        purpose=enum_to_proto(query.purpose, consent_pb2.Purpose),
    )
    if query.at is not None:
        out.at.CopyFrom(time_to_proto(query.at))
    return out


def check_result_to_proto(result: CheckResult) -> consent_pb2.CheckResponse:
    out = consent_pb2.CheckResponse(
        decision=enum_to_proto(result.decision, consent_pb2.ConsentDecision)
    )
    if result.receipt is not None:
        out.signed_receipt.CopyFrom(
            consent_pb2.SignedConsentReceipt(
                receipt=result.receipt.body, signature=result.receipt.signature
            )
        )
    return out


def receipt_to_proto(receipt: Receipt) -> consent_pb2.ConsentReceipt:
    out = consent_pb2.ConsentReceipt(
        receipt_id=receipt.receipt_id,
        subject=person_to_proto(receipt.subject),
        partner_id=receipt.partner_id,
        partner_type=enum_to_proto(receipt.partner_type, vocabulary_pb2.PartnerType),
        life_domain=enum_to_proto(receipt.life_domain, vocabulary_pb2.LifeDomain),
        purpose=enum_to_proto(receipt.purpose, consent_pb2.Purpose),
        decided_at=time_to_proto(receipt.decided_at),
        valid_from=time_to_proto(receipt.valid_from),
        entry_id=receipt.entry_id,
        key_id=receipt.key_id,
    )
    if receipt.valid_until is not None:
        out.valid_until.CopyFrom(time_to_proto(receipt.valid_until))
    return out


def receipt_from_proto(msg: consent_pb2.ConsentReceipt) -> Receipt:
    return Receipt(
        receipt_id=require_id(msg.receipt_id, "receipt_id"),
        subject=person_from_proto(msg.subject, "subject"),
        partner_id=msg.partner_id,
        partner_type=enum_from_proto(
            msg.partner_type, PartnerType, vocabulary_pb2.PartnerType, "partner_type"
        ),
        life_domain=enum_from_proto(
            msg.life_domain, LifeDomain, vocabulary_pb2.LifeDomain, "life_domain"
        ),
        purpose=enum_from_proto(msg.purpose, Purpose, consent_pb2.Purpose, "purpose"),
        decided_at=time_from_proto(msg.decided_at, "decided_at"),
        valid_from=time_from_proto(msg.valid_from, "valid_from"),
        valid_until=(
            time_from_proto(msg.valid_until, "valid_until") if msg.HasField("valid_until") else None
        ),
        entry_id=require_id(msg.entry_id, "entry_id"),
        key_id=bytes(msg.key_id),
    )


# --- the Watch stream -------------------------------------------------------------------------


def change_to_proto(change: Change) -> consent_pb2.WatchResponse:
    """A change for the hub: what changed and when, never who changed it."""
    return consent_pb2.WatchResponse(
        cursor=change.cursor,
        changed_at=time_to_proto(change.at),
        kind=enum_to_proto(change.kind, consent_pb2.ConsentChangeKind),
        entry=entry_to_proto(change.entry),
    )


def notice_from_proto(msg: consent_pb2.WatchResponse) -> ChangeNotice:
    return ChangeNotice(
        cursor=msg.cursor,
        at=time_from_proto(msg.changed_at, "changed_at"),
        kind=enum_from_proto(msg.kind, ChangeKind, consent_pb2.ConsentChangeKind, "kind"),
        entry=entry_from_proto(msg.entry),
    )
