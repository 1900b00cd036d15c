"""Test builders: domain items, signal payloads and sealed envelopes with keys made in tmp."""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass
from pathlib import Path

from nacl.public import PrivateKey
from nacl.signing import SigningKey

from hub.domain import (
    Arrears,
    PopulationFact,
    ReceivedPopulationFact,
    ReceivedSignal,
    Residence,
    Signal,
)
from seinhuis.crypto.envelope import Sealer
from seinhuis.crypto.keys import key_id
from seinhuis.serde import date_to_proto
from seinhuis.v1 import envelope_pb2, signal_pb2, vocabulary_pb2
from seinhuis.vocabulary import LegalBasis, LifeDomain, PartnerType, SignalType, Urgency

NOW = dt.datetime(2026, 11, 22, 12, 0, tzinfo=dt.UTC)
TODAY = NOW.date()


def new_id() -> bytes:
    return os.urandom(16)


def pseudonym() -> bytes:
    return os.urandom(32)


def received_signal(
    *, partner_id: str = "ggd-a", message_id: bytes | None = None, at: dt.datetime = NOW
) -> ReceivedSignal:
    """A valid GGD signal with person and address pseudonyms."""
    return ReceivedSignal(
        id=message_id or new_id(),
        partner_id=partner_id,
        partner_type=PartnerType.GGD,
        received_at=at,
        signal=Signal(
            signal_type=SignalType.ZORGWEKKEND_GEDRAG,
            life_domain=LifeDomain.ZORGEN,
            urgency=Urgency.HOOG,
            legal_basis=LegalBasis.TOESTEMMING,
            observed_on=TODAY,
            keep_until=TODAY + dt.timedelta(days=300),
            person_pseudonym=pseudonym(),
            address_pseudonym=pseudonym(),
            key_version=1,
            arrears=None,
        ),
    )


def received_arrears(*, partner_id: str = "woco-a", at: dt.datetime = NOW) -> ReceivedSignal:
    """A valid rent-arrears signal with an address pseudonym only."""
    return ReceivedSignal(
        id=new_id(),
        partner_id=partner_id,
        partner_type=PartnerType.WONINGCORPORATIE,
        received_at=at,
        signal=Signal(
            signal_type=SignalType.HUURACHTERSTAND,
            life_domain=LifeDomain.RONDKOMEN,
            urgency=Urgency.NORMAAL,
            legal_basis=LegalBasis.WGS_VROEGSIGNALERING,
            observed_on=TODAY,
            keep_until=TODAY + dt.timedelta(days=90),
            person_pseudonym=None,
            address_pseudonym=pseudonym(),
            key_version=3,
            arrears=Arrears(
                amount_cents=123_45,
                months_in_arrears=2,
                contact_attempted=True,
                written_reminder_sent=True,
            ),
        ),
    )


def received_fact(*, partner_id: str = "brp", at: dt.datetime = NOW) -> ReceivedPopulationFact:
    return ReceivedPopulationFact(
        id=new_id(),
        partner_id=partner_id,
        received_at=at,
        fact=PopulationFact(
            key_version=1,
            event=Residence(
                person_pseudonym=pseudonym(), address_pseudonym=pseudonym(), since=TODAY
            ),
        ),
    )


def ggd_signal_pb(*, observed_on: dt.date | None = None) -> signal_pb2.Signal:
    """A valid ZORGWEKKEND_GEDRAG signal as the node would send it."""
    day = observed_on or dt.datetime.now(dt.UTC).date()
    return signal_pb2.Signal(
        signal_type=vocabulary_pb2.SIGNAL_TYPE_ZORGWEKKEND_GEDRAG,
        life_domain=vocabulary_pb2.LIFE_DOMAIN_ZORGEN,
        urgency=vocabulary_pb2.URGENCY_HOOG,
        legal_basis=vocabulary_pb2.LEGAL_BASIS_TOESTEMMING,
        observed_on=date_to_proto(day),
        keep_until=date_to_proto(day + dt.timedelta(days=365)),
        subject=signal_pb2.Subject(
            person_pseudonym=pseudonym(), address_pseudonym=pseudonym(), key_version=1
        ),
    )


def arrears_signal_pb() -> signal_pb2.Signal:
    """A valid HUURACHTERSTAND signal from a housing corporation (address only)."""
    day = dt.datetime.now(dt.UTC).date()
    return signal_pb2.Signal(
        signal_type=vocabulary_pb2.SIGNAL_TYPE_HUURACHTERSTAND,
        life_domain=vocabulary_pb2.LIFE_DOMAIN_RONDKOMEN,
        urgency=vocabulary_pb2.URGENCY_NORMAAL,
        legal_basis=vocabulary_pb2.LEGAL_BASIS_WGS_VROEGSIGNALERING,
        observed_on=date_to_proto(day),
        keep_until=date_to_proto(day + dt.timedelta(days=90)),
        subject=signal_pb2.Subject(address_pseudonym=pseudonym(), key_version=1),
        arrears=signal_pb2.Arrears(
            amount_cents=80_000,
            months_in_arrears=2,
            contact_attempted=True,
            written_reminder_sent=True,
        ),
    )


def residence_pb() -> signal_pb2.PopulationEvent:
    day = dt.datetime.now(dt.UTC).date()
    return signal_pb2.PopulationEvent(
        key_version=1,
        residence=signal_pb2.Residence(
            person_pseudonym=pseudonym(), address_pseudonym=pseudonym(), since=date_to_proto(day)
        ),
    )


@dataclass(frozen=True)
class PartnerKeys:
    """A partner's identity as a test node holds it."""

    partner_id: str
    partner_type: PartnerType
    signing_key: SigningKey
    valid_from: dt.datetime
    valid_until: dt.datetime

    @property
    def key_id_hex(self) -> str:
        return key_id(bytes(self.signing_key.verify_key)).hex()

    def registry_entry(self) -> dict[str, object]:
        return {
            "id": self.partner_id,
            "type": self.partner_type.value,
            "certificate_cn": self.partner_id,
            "keys": [
                {
                    "key_id": self.key_id_hex,
                    "verify_key": bytes(self.signing_key.verify_key).hex(),
                    "valid_from": self.valid_from.isoformat(),
                    "valid_until": self.valid_until.isoformat(),
                }
            ],
        }


def partner_keys(
    partner_id: str,
    partner_type: PartnerType,
    *,
    valid_from: dt.datetime | None = None,
    valid_until: dt.datetime | None = None,
) -> PartnerKeys:
    now = dt.datetime.now(dt.UTC)
    return PartnerKeys(
        partner_id=partner_id,
        partner_type=partner_type,
        signing_key=SigningKey.generate(),
        valid_from=valid_from or now - dt.timedelta(days=1),
        valid_until=valid_until or now + dt.timedelta(days=365),
    )


def seal(
    keys: PartnerKeys,
    hub_key: PrivateKey,
    payload: signal_pb2.Signal | signal_pb2.PopulationEvent,
    *,
    message_id: bytes | None = None,
    hub_id: str = "hub",
    signed_at: dt.datetime | None = None,
    sender: str | None = None,
) -> envelope_pb2.SealedEnvelope:
    """Sign and seal a payload as the partner's node would; overrides make it wrong."""
    statement = envelope_pb2.Statement(id=message_id or new_id())
    statement.signed_at.FromDatetime(signed_at or dt.datetime.now(dt.UTC))
    if isinstance(payload, signal_pb2.Signal):
        statement.signal.CopyFrom(payload)
    else:
        statement.population_event.CopyFrom(payload)
    sealer = Sealer(
        partner_id=sender or keys.partner_id,
        signing_key=keys.signing_key,
        hub_id=hub_id,
        hub_public=hub_key.public_key,
    )
    return sealer.seal(statement)


def write_text(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path
