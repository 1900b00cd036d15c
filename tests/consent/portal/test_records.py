"""The portal's own tables and form parsing, without a browser."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest

from consent.model import Party, Pseudonym
from consent.portal import forms
from consent.portal.people import Household
from consent.portal.records import (
    InboxMessage,
    Objection,
    ObjectionReason,
    RegiehouderChoice,
    RegiehouderPreference,
)
from consent.portal.store import PortalStore
from consent.portal.texts import TIME_ZONE
from consent.representation import Actor, RepresentedChild
from seinhuis.errors import AlreadyExists, InvalidArgument
from seinhuis.vocabulary import LegalBasis, PartnerType, SignalType

T0 = dt.datetime(2027, 3, 1, 9, 0, tzinfo=dt.UTC)
ME, CHILD, TEEN, OTHER = (Pseudonym(bytes([n]) * 32, 1) for n in (1, 2, 3, 4))


@pytest.fixture
def store(tmp_path: Path) -> Iterator[PortalStore]:
    made = PortalStore(f"sqlite:///{tmp_path / 'consent.db'}")
    yield made
    made.close()


def objection(subject: Pseudonym = CHILD, reference: str = "sig-1") -> Objection:
    return Objection(
        id=bytes(16) if reference == "sig-1" else bytes([1]) * 16,
        signal_reference=reference,
        subject=subject,
        made_by=Party.PARENT,
        reason=ObjectionReason.NO_SHARING,
        signal_type=SignalType.SCHOOLVERZUIM,
        partner_type=PartnerType.SCHOOL,
        legal_basis=LegalBasis.JEUGDWET_VERWIJSINDEX,
        created_at=T0,
    )


def test_a_preference_replaces_the_previous_one(store: PortalStore) -> None:
    store.set_preference(RegiehouderPreference(ME, RegiehouderChoice.SELF, T0))
    later = RegiehouderPreference(
        ME, RegiehouderChoice.KNOWN_ORGANISATION, T0 + dt.timedelta(days=1), PartnerType.HUISARTS
    )
    store.set_preference(later)
    assert store.preference(ME) == later
    assert store.preference(OTHER) is None
    assert store.clear_preference(ME) and not store.clear_preference(ME)


def test_a_known_organisation_needs_its_kind() -> None:
    with pytest.raises(InvalidArgument):
        RegiehouderPreference(ME, RegiehouderChoice.KNOWN_ORGANISATION, T0)
    with pytest.raises(InvalidArgument):
        RegiehouderPreference(ME, RegiehouderChoice.SELF, T0, PartnerType.HUISARTS)


def test_one_open_objection_per_signal_and_person(store: PortalStore) -> None:
    store.add_objection(objection())
    with pytest.raises(AlreadyExists):
        store.add_objection(objection())
    store.add_objection(objection(reference="sig-2"))
    assert [o.signal_reference for o in store.open_objections()] == ["sig-1", "sig-2"]
    assert store.objections_for([OTHER]) == []
    assert store.objections_for([CHILD, OTHER])[0] == objection()


def test_objections_and_messages_are_about_statute_based_signals_only() -> None:
    with pytest.raises(InvalidArgument):
        Objection(
            bytes(16), "sig", ME, Party.SUBJECT, ObjectionReason.OTHER,
            SignalType.ZORGSIGNAAL_HUISARTS, PartnerType.HUISARTS, LegalBasis.TOESTEMMING, T0,
        )  # fmt: skip
    with pytest.raises(InvalidArgument):
        InboxMessage(
            bytes(16), ME, SignalType.ZORGSIGNAAL_HUISARTS, PartnerType.HUISARTS,
            LegalBasis.TOESTEMMING, T0.date(), T0,
        )  # fmt: skip


def test_a_message_and_its_letter_are_stored_together(store: PortalStore) -> None:
    message = InboxMessage(
        bytes(16), CHILD, SignalType.HUURACHTERSTAND, PartnerType.WONINGCORPORATIE,
        LegalBasis.WGS_VROEGSIGNALERING, T0.date(), T0,
    )  # fmt: skip
    store.add_message(message)
    with pytest.raises(Exception):  # noqa: B017 - the same id again: nothing stored
        store.add_message(message)
    assert store.messages_for([CHILD]) == [message]
    assert [m.message_id for m in store.unsent_mail()] == [message.id]


# --- forms ---------------------------------------------------------------------------------------


def household() -> Household:
    """Me (40) with a child of 9, one of 14 and one of 17."""
    children = (RepresentedChild(CHILD, 9), RepresentedChild(TEEN, 14), RepresentedChild(OTHER, 17))
    return Household(Actor(ME, 40, children))


def test_people_from_16_are_left_out_of_a_parents_household() -> None:
    people = household()
    assert [p.key for p in people.included] == ["zelf", "kind-1", "kind-2"]
    assert people.by_key("kind-3") is None and people.by_pseudonym(OTHER) is None
    assert [p.label for p in people.excluded] == ["kind 3 (17 jaar)"]


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("2027-03-01", dt.date(2027, 3, 1)),
        ("1-3-2027", dt.date(2027, 3, 1)),
        ("01/03/2027", dt.date(2027, 3, 1)),
        ("1.3.2027", dt.date(2027, 3, 1)),
        ("30-2-2027", None),
        ("maart", None),
        ("2027-3-1", None),
    ],
)
def test_dates_as_a_date_field_sends_them_or_as_people_type_them(
    raw: str, expected: dt.date | None
) -> None:
    assert forms.parse_date(raw) == expected


def test_a_period_is_whole_dutch_days() -> None:
    """'vanaf' today means now; a later day starts at midnight; 'tot en met' ends at midnight."""
    form = {
        "persoon": "kind-2",
        "organisatie": "GGD",
        "levensdomein": "ALLE",
        "doel": "SIGNALERING",
        "keuze": "PERMIT",
        "vanaf": "2027-03-01",
        "tot": "2027-03-31",
    }
    parsed = forms.parse_grant(form, household(), T0)
    assert isinstance(parsed, forms.GrantForm)
    request = parsed.request
    assert request.cell.subject == TEEN and request.cell.life_domain is None
    assert request.valid_from is None
    assert request.valid_until == dt.datetime(2027, 4, 1, tzinfo=TIME_ZONE)
    later = forms.parse_grant(form | {"vanaf": "2027-03-10"}, household(), T0)
    assert isinstance(later, forms.GrantForm)
    assert later.request.valid_from == dt.datetime(2027, 3, 10, tzinfo=TIME_ZONE)


def test_a_16_year_olds_key_names_nobody() -> None:
    errors = forms.parse_grant({"persoon": "kind-3"}, household(), T0)
    assert isinstance(errors, dict)
    assert "gezag" in errors["persoon"]
