"""Overzicht, Bezwaar, Voorkeur regiehouder and Berichten, with an in-memory household source."""

from __future__ import annotations

import datetime as dt

import pytest

from consent.model import Party, Pseudonym
from consent.portal.household import (
    AccessKind,
    AccessRecord,
    CaseInfo,
    HeldSignal,
    HouseholdInfo,
    Regiehouder,
)
from consent.portal.inbox import notify_statute_signal
from consent.portal.records import ObjectionReason, ObjectionState, RegiehouderChoice
from seinhuis.errors import InvalidArgument
from seinhuis.vocabulary import LegalBasis, PartnerType, SignalType
from tests.consent.portal.conftest import Browser, Portal

ANNA, SARA, MILA = "999000019", "999000032", "999000056"
STRANGER = Pseudonym(b"\x07" * 32, 1)


def logged_in(portal: Portal, resident: str = "anna") -> Browser:
    browser = portal.client()
    browser.login(resident)
    return browser


def signal(
    reference: str,
    subject: Pseudonym,
    signal_type: SignalType = SignalType.HUURACHTERSTAND,
    partner_type: PartnerType = PartnerType.WONINGCORPORATIE,
    legal_basis: LegalBasis = LegalBasis.WGS_VROEGSIGNALERING,
) -> HeldSignal:
    return HeldSignal(
        reference=reference,
        subject=subject,
        signal_type=signal_type,
        partner_type=partner_type,
        registered_on=dt.date(2027, 2, 3),
        legal_basis=legal_basis,
        kept_until=dt.date(2027, 8, 3),
    )


@pytest.fixture
def household(portal: Portal) -> HouseholdInfo:
    """Anna's household: a rent arrears signal about her, a school signal about Sara,
    a GP signal (consent) about her, and one about a stranger the source should not have sent."""
    anna = portal.network.pseudonym_of(ANNA)
    sara = portal.network.pseudonym_of(SARA)
    info = HouseholdInfo(
        signals=(
            signal("sig-huur", anna),
            signal(
                "sig-school",
                sara,
                SignalType.SCHOOLVERZUIM,
                PartnerType.SCHOOL,
                LegalBasis.JEUGDWET_VERWIJSINDEX,
            ),
            signal(
                "sig-huisarts",
                anna,
                SignalType.ZORGSIGNAAL_HUISARTS,
                PartnerType.HUISARTS,
                LegalBasis.TOESTEMMING,
            ),
            signal("sig-vreemde", STRANGER, SignalType.ENERGIEACHTERSTAND),
        ),
        case=CaseInfo(
            opened_on=dt.date(2027, 2, 10),
            regiehouder=Regiehouder(
                name="Mevrouw J. Bakker",
                organisation="Sociaal wijkteam Noord",
                partner_type=PartnerType.SOCIAAL_TEAM,
                phone="14 020",
                email="wijkteam.noord@gemeente.example",
                reachable="maandag tot en met vrijdag van 9 tot 17 uur",
            ),
        ),
        access_log=(
            AccessRecord(
                at=dt.datetime(2027, 2, 11, 14, 5, tzinfo=dt.UTC),
                who="Sociaal wijkteam Noord",
                partner_type=PartnerType.SOCIAAL_TEAM,
                kind=AccessKind.VIEWED_HOUSEHOLD,
            ),
        ),
    )
    portal.household.info = info
    return info


def test_the_overview_says_what_is_held_in_plain_dutch(
    portal: Portal, household: HouseholdInfo
) -> None:
    """Signal type, partner kind, date, legal basis and retention, the regiehouder, who looked."""
    page = logged_in(portal).get("/overzicht").text
    for text in (
        "Achterstand met het betalen van de huur",
        "Woningcorporatie",
        "3 februari 2027",
        "De wet voor schuldhulp",
        "3 augustus 2027",
        "Vaak afwezig op school",
        "De Jeugdwet",
        "Kind 2 (14 jaar)",
        "Uw toestemming",
        "Mevrouw J. Bakker",
        "14 020",
        "maandag tot en met vrijdag",
        "Sinds 10 februari 2027",
        "11 februari 2027 om 15:05",
        "Bekeek de signalen over uw huishouden",
    ):
        assert text in page, text
    assert "gas of stroom" not in page, "a signal about someone else must never show"
    assert "HUURACHTERSTAND" not in page and "WGS_VROEGSIGNALERING" not in page


def test_the_source_is_asked_only_about_the_people_the_resident_may_see(portal: Portal) -> None:
    """Anna and her two children under 16; Mila (17) only herself."""
    logged_in(portal, "anna").get("/overzicht")
    logged_in(portal, "mila").get("/overzicht")
    anna_asked, mila_asked = portal.household.asked
    assert len(anna_asked) == 3 and anna_asked[0] == portal.network.pseudonym_of(ANNA)
    assert mila_asked == [portal.network.pseudonym_of(MILA)]


def test_without_a_hub_the_overview_says_there_is_nothing_yet(portal: Portal) -> None:
    """The default source (NoHouseholdSource) makes the page say 'Nog geen gegevens'."""
    from consent.portal.household import NoHouseholdSource

    portal.household.info = NoHouseholdSource().household_info([])
    page = logged_in(portal).get("/overzicht").text
    assert "Nog geen gegevens" in page and "Er zijn geen signalen" not in page
    assert "Uw voorkeur voor een regiehouder opgeven" in page


def test_objecting_to_a_statute_based_signal(portal: Portal, household: HouseholdInfo) -> None:
    """The objection lands on the operators' review list; the signal is no longer offered."""
    browser = logged_in(portal)
    page = browser.get("/bezwaar").text
    assert "sig-huur" in page and "sig-school" in page
    assert "sig-huisarts" not in page, "a consent-based signal is revoked, not objected to"
    response = browser.submit("/bezwaar", {"signaal": "sig-school", "reden": "INCORRECT"})
    assert response.status_code == 303
    page = browser.get("/bezwaar").text
    assert "Uw bezwaar is ontvangen" in page and "In behandeling bij de gemeente" in page
    assert 'value="sig-school"' not in page
    [objection] = portal.store.open_objections()
    assert objection.signal_reference == "sig-school"
    assert objection.subject == portal.network.pseudonym_of(SARA)
    assert objection.made_by is Party.PARENT
    assert objection.reason is ObjectionReason.INCORRECT
    assert objection.legal_basis is LegalBasis.JEUGDWET_VERWIJSINDEX
    assert objection.state is ObjectionState.OPEN


@pytest.mark.parametrize(
    ("form", "message"),
    [
        ({"signaal": "sig-huisarts", "reden": "INCORRECT"}, "Trek uw toestemming in"),
        ({"signaal": "sig-vreemde", "reden": "INCORRECT"}, "Dit signaal is niet bekend."),
        ({"signaal": "sig-huur", "reden": "OMDAT"}, "Kies de reden van uw bezwaar."),
        ({"reden": "INCORRECT"}, "Kies een signaal uit de lijst."),
    ],
    ids=["consent-based", "someone-elses", "unknown-reason", "no-signal"],
)
def test_a_wrong_objection_says_why_and_records_nothing(
    portal: Portal, household: HouseholdInfo, form: dict[str, str], message: str
) -> None:
    response = logged_in(portal).submit("/bezwaar", form)
    assert response.status_code == 422 and message in response.text
    assert portal.store.open_objections() == []


def test_objecting_twice_is_refused(portal: Portal, household: HouseholdInfo) -> None:
    """A second objection to the same signal, sent from an old page, is not recorded twice."""
    browser = logged_in(portal)
    token = browser.csrf("/bezwaar")
    form = {"csrf_token": token, "signaal": "sig-huur", "reden": "RESOLVED"}
    assert browser.post("/bezwaar", form).status_code == 303
    again = browser.post("/bezwaar", form)
    assert again.status_code == 422
    assert len(portal.store.open_objections()) == 1


def test_stating_and_clearing_a_regiehouder_preference(portal: Portal) -> None:
    """A preference is stored in its own table; choosing a known organisation needs its kind."""
    browser = logged_in(portal)
    anna = portal.network.pseudonym_of(ANNA)
    missing = browser.submit("/regiehouder", {"voorkeur": "KNOWN_ORGANISATION"})
    assert missing.status_code == 422 and "Kies bij welke soort organisatie" in missing.text
    assert portal.store.preference(anna) is None

    form = {"voorkeur": "KNOWN_ORGANISATION", "organisatie": "WONINGCORPORATIE"}
    assert browser.submit("/regiehouder", form).status_code == 303
    stored = portal.store.preference(anna)
    assert stored is not None and stored.choice is RegiehouderChoice.KNOWN_ORGANISATION
    assert stored.partner_type is PartnerType.WONINGCORPORATIE
    page = browser.get("/regiehouder").text
    assert "Uw voorkeur voor een regiehouder is opgeslagen." in page
    assert "Een medewerker van een organisatie die ik al ken" in page

    browser.submit("/regiehouder", {"voorkeur": "SELF"})
    again = portal.store.preference(anna)
    assert again is not None and again.choice is RegiehouderChoice.SELF
    assert browser.submit("/regiehouder/wissen", {}, page="/regiehouder").status_code == 303
    assert portal.store.preference(anna) is None
    unknown = browser.submit("/regiehouder", {"voorkeur": "DE_BUURMAN"})
    assert unknown.status_code == 422 and "Kies wie u het liefst" in unknown.text


def test_a_statute_based_signal_reaches_the_inbox_and_the_mail_channel(portal: Portal) -> None:
    """notify_statute_signal leaves a message Sara and her parents read, and queues a letter."""
    sara = portal.network.pseudonym_of(SARA)
    message = notify_statute_signal(
        portal.store,
        sara,
        SignalType.SCHOOLVERZUIM,
        PartnerType.SCHOOL,
        LegalBasis.JEUGDWET_VERWIJSINDEX,
        dt.date(2027, 2, 3),
        now=dt.datetime(2027, 2, 4, 8, 0, tzinfo=dt.UTC),
    )
    [mail] = portal.store.unsent_mail()
    assert (mail.message_id, mail.subject) == (message.id, sara)
    for resident, whom in (
        ("anna", "kind 2 (14 jaar)"),
        ("kees", "kind 2 (14 jaar)"),
        ("sara", "u zelf"),
    ):
        page = logged_in(portal, resident).get("/berichten").text
        assert "Vaak afwezig op school" in page and whom in page, resident
    assert "U heeft geen berichten." in logged_in(portal, "bram").get("/berichten").text


def test_consent_based_signals_are_not_notified(portal: Portal) -> None:
    """The resident gave that consent: no message, nothing queued."""
    with pytest.raises(InvalidArgument):
        notify_statute_signal(
            portal.store,
            STRANGER,
            SignalType.ZORGSIGNAAL_HUISARTS,
            PartnerType.HUISARTS,
            LegalBasis.TOESTEMMING,
            dt.date(2027, 2, 3),
            now=dt.datetime(2027, 2, 4, tzinfo=dt.UTC),
        )
    assert portal.store.unsent_mail() == []
