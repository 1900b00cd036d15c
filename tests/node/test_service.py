"""The node's domain: what it accepts, what it refuses, and that a refusal stores nothing."""

from __future__ import annotations

import datetime as dt

import pytest
import structlog

from node.model import (
    DeliveryState,
    LocalAddress,
    LocalArrears,
    LocalDeath,
    LocalParenthood,
    LocalPerson,
    LocalPopulationEvent,
    LocalRelocation,
    LocalResidence,
)
from node.outbox import Outbox
from node.pseudonyms import Pseudonymizer
from node.serde import signal_from_bytes
from node.service import Node
from seinhuis.catalogue import Catalogue
from seinhuis.errors import InvalidArgument, PermissionDenied, SeinhuisError
from seinhuis.v1 import vocabulary_pb2
from seinhuis.vocabulary import CRISIS_REFUSAL, PartnerType, SignalType, Urgency, WithdrawReason
from tests.node.conftest import (
    TODAY,
    FakePseudonyms,
    ggd_signal,
    make_bsn,
    make_node,
    rent_arrears_signal,
)


@pytest.fixture
def ggd(outbox: Outbox, pseudonymizer: Pseudonymizer, the_catalogue: Catalogue) -> Node:
    return make_node(PartnerType.GGD, outbox, pseudonymizer, the_catalogue)


@pytest.fixture
def woco(outbox: Outbox, pseudonymizer: Pseudonymizer, the_catalogue: Catalogue) -> Node:
    return make_node(PartnerType.WONINGCORPORATIE, outbox, pseudonymizer, the_catalogue)


def stored(outbox: Outbox) -> int:
    return sum(outbox.counts().values())


def test_an_accepted_signal_is_queued_with_catalogue_fields(ggd: Node, outbox: Outbox) -> None:
    """Life domain, legal basis and keep_until come from the catalogue; pseudonyms only."""
    message_id = ggd.submit_signal(ggd_signal(partner_reference="ggd-1"))
    (pending,) = outbox.claim(1)
    assert pending.id == message_id
    msg = signal_from_bytes(pending.payload)
    assert msg.life_domain == vocabulary_pb2.LifeDomain.Value("LIFE_DOMAIN_ZORGEN")
    assert msg.legal_basis == vocabulary_pb2.LegalBasis.Value("LEGAL_BASIS_TOESTEMMING")
    assert (msg.keep_until.year, msg.keep_until.month, msg.keep_until.day) == (2028, 11, 22)
    assert len(msg.subject.person_pseudonym) == 32 and len(msg.subject.address_pseudonym) == 32
    assert msg.subject.key_version == 1
    assert make_bsn(0).encode() not in pending.payload


def test_a_crisis_is_refused_pointing_to_112(ggd: Node, outbox: Outbox) -> None:
    """URGENCY_CRISIS is INVALID_ARGUMENT pointing to 112 and Veilig Thuis; nothing is stored."""
    with pytest.raises(InvalidArgument) as info:
        ggd.submit_signal(ggd_signal(urgency=Urgency.CRISIS))
    assert CRISIS_REFUSAL in info.value.message and "112" in info.value.message
    assert stored(outbox) == 0


def test_a_signal_type_the_partner_type_may_not_send_is_refused(
    ggd: Node, outbox: Outbox, source: FakePseudonyms
) -> None:
    """PERMISSION_DENIED naming the rule, before any pseudonym is asked for."""
    with pytest.raises(PermissionDenied, match="senders"):
        ggd.submit_signal(rent_arrears_signal(person=LocalPerson(make_bsn(0))))
    assert stored(outbox) == 0 and source.calls == []


def test_a_partner_that_may_not_process_bsns_cannot_even_hand_one_in(
    woco: Node, outbox: Outbox, source: FakePseudonyms
) -> None:
    """A housing corporation handing in a citizen number is refused before anything else happens."""
    number = make_bsn(2)
    with pytest.raises(PermissionDenied, match="may_process_bsn") as info:
        woco.submit_signal(rent_arrears_signal(person=LocalPerson(number)))
    assert number not in str(info.value)
    assert stored(outbox) == 0 and source.calls == []


def test_a_housing_corporation_signal_carries_an_address_pseudonym_only(
    woco: Node, outbox: Outbox
) -> None:
    """Without a BSN the signal has an address pseudonym, arrears and a 6-month retention."""
    woco.submit_signal(rent_arrears_signal())
    msg = signal_from_bytes(outbox.claim(1)[0].payload)
    assert msg.subject.person_pseudonym == b"" and len(msg.subject.address_pseudonym) == 32
    assert msg.arrears.amount_cents == 120_000 and msg.arrears.written_reminder_sent
    assert (msg.keep_until.year, msg.keep_until.month) == (2027, 5)


def test_a_bsn_is_required_when_the_partner_type_may_process_it(ggd: Node, outbox: Outbox) -> None:
    """A GGD signal without a citizen number is refused naming subject.bsn."""
    with pytest.raises(InvalidArgument, match=r"^subject\.bsn: required"):
        ggd.submit_signal(ggd_signal(person=LocalPerson("")))
    assert stored(outbox) == 0


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"address": LocalAddress("", 1)}, "subject.postcode"),
        ({"address": LocalAddress("1234AB", 0)}, "subject.house_number"),
        ({"person": LocalPerson("123456789")}, "subject.bsn"),
        ({"person": LocalPerson(make_bsn(0), TODAY + dt.timedelta(days=1))}, "subject.birth_date"),
        ({"observed_on": TODAY + dt.timedelta(days=1)}, "observed_on"),
        ({"observed_on": TODAY - dt.timedelta(days=800)}, "observed_on"),
        ({"partner_reference": "no spaces"}, "partner_reference"),
        ({"arrears": LocalArrears(1, 1, True, True)}, "arrears"),
    ],
)
def test_malformed_signals_store_nothing_and_name_the_field(
    ggd: Node, outbox: Outbox, source: FakePseudonyms, changes: dict[str, object], field: str
) -> None:
    """Each malformed field is refused by name, logged without values, and nothing is stored."""
    with structlog.testing.capture_logs() as logged, pytest.raises(InvalidArgument) as info:
        ggd.submit_signal(ggd_signal(**changes))
    assert info.value.field == field
    assert stored(outbox) == 0 and source.calls == []
    assert logged == [
        {
            "event": "node.signal_refused_locally",
            "code": "INVALID_ARGUMENT",
            "field": field,
            "log_level": "info",
        }
    ]


@pytest.mark.parametrize(
    ("arrears", "field"),
    [
        (None, "arrears"),
        (LocalArrears(0, 2, True, True), "arrears.amount_cents"),
        (LocalArrears(100, 0, True, True), "arrears.months_in_arrears"),
        (LocalArrears(100, 2, False, True), "arrears.contact_attempted"),
        (LocalArrears(100, 2, True, False), "arrears.written_reminder_sent"),
    ],
)
def test_early_debt_signals_need_their_attested_preconditions(
    woco: Node, outbox: Outbox, arrears: LocalArrears | None, field: str
) -> None:
    """Arrears signals need an amount, a duration and both Wgs attestations."""
    with pytest.raises(InvalidArgument) as info:
        woco.submit_signal(rent_arrears_signal(arrears=arrears))
    assert info.value.field == field
    assert stored(outbox) == 0


def test_reference_index_signals_need_a_birth_date_and_end_at_23(
    outbox: Outbox, pseudonymizer: Pseudonymizer, the_catalogue: Catalogue
) -> None:
    """SCHOOLVERZUIM is kept 24 months or until age 23, whichever is sooner."""
    school = make_node(PartnerType.SCHOOL, outbox, pseudonymizer, the_catalogue)
    with pytest.raises(InvalidArgument, match="birth_date"):
        school.submit_signal(
            ggd_signal(signal_type=SignalType.SCHOOLVERZUIM, person=LocalPerson(make_bsn(1)))
        )
    school.submit_signal(
        ggd_signal(
            signal_type=SignalType.SCHOOLVERZUIM,
            person=LocalPerson(make_bsn(1), dt.date(2004, 3, 1)),
        )
    )
    msg = signal_from_bytes(outbox.claim(1)[0].payload)
    assert (msg.keep_until.year, msg.keep_until.month, msg.keep_until.day) == (2027, 3, 1)


def test_a_batch_refuses_rows_singly_and_pseudonymises_once(
    ggd: Node, outbox: Outbox, source: FakePseudonyms
) -> None:
    """submit_signals: one OPRF call per kind for the whole batch; bad rows refused alone."""
    batch = [ggd_signal(i % 3) for i in range(30)]
    batch[4] = ggd_signal(urgency=Urgency.CRISIS)
    results = ggd.submit_signals(batch)
    assert isinstance(results[4], SeinhuisError)
    assert sum(isinstance(r, bytes) for r in results) == 29
    assert [len(c[1]) for c in source.calls] == [3, 3]
    assert outbox.pending_count() == 29


def test_population_events_only_from_the_brp(ggd: Node, outbox: Outbox) -> None:
    """Only a BRP node may submit population events."""
    with pytest.raises(PermissionDenied, match="BRP"):
        ggd.submit_population_event(LocalDeath(LocalPerson(make_bsn(0)), TODAY))
    assert stored(outbox) == 0


def test_the_brp_sends_each_kind_of_population_event(
    outbox: Outbox, pseudonymizer: Pseudonymizer, the_catalogue: Catalogue
) -> None:
    """Residence, parenthood, relocation and death are queued; bad ones refused by field."""
    brp = make_node(PartnerType.BRP, outbox, pseudonymizer, the_catalogue)
    parent, child = LocalPerson(make_bsn(0)), LocalPerson(make_bsn(1), dt.date(2015, 1, 1))
    home = LocalAddress("1234AB", 1)
    events: list[LocalPopulationEvent] = [
        LocalResidence(parent, home, TODAY),
        LocalParenthood(parent, child),
        LocalRelocation(child, LocalAddress("2345BC", 2), TODAY),
        LocalDeath(parent, TODAY),
    ]
    ids = [brp.submit_population_event(e) for e in events]
    assert len(set(ids)) == 4
    kinds = [m.kind for m in outbox.claim(10)]
    assert kinds == ["population_event"] * 4
    with pytest.raises(InvalidArgument, match=r"parenthood\.child"):
        brp.submit_population_event(LocalParenthood(parent, parent))
    with pytest.raises(InvalidArgument, match=r"^death\.on: required"):
        brp.submit_population_event(LocalDeath(parent, None))


def test_withdrawing_a_pending_signal_never_involves_the_hub(ggd: Node, outbox: Outbox) -> None:
    """A pending signal withdrawn by reference is withdrawn locally and never sent."""
    message_id = ggd.submit_signal(ggd_signal(partner_reference="w-1"))
    assert ggd.withdraw(reference="w-1", reason=WithdrawReason.UNJUSTIFIED) == message_id
    assert ggd.status(message_id=message_id).state is DeliveryState.WITHDRAWN
    assert outbox.claim(10) == []
