"""Toestemming: granting and revoking for oneself and for children, and refusals in Dutch."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from consent.model import Decision, Entry, EntryState, Purpose
from consent.portal.texts import TIME_ZONE
from consent.representation import Actor
from seinhuis.vocabulary import LifeDomain, PartnerType
from tests.consent.portal.conftest import Browser, Portal

ANNA, SARA = "999000019", "999000032"


def grant_form(**overrides: str) -> dict[str, str]:
    form = {
        "persoon": "zelf",
        "organisatie": "HUISARTS",
        "levensdomein": "ZORGEN",
        "doel": "SIGNALERING",
        "keuze": "PERMIT",
        "vanaf": "",
        "tot": "",
    }
    return form | overrides


def entries(portal: Portal, bsn: str) -> list[Entry]:
    """What the registry's store holds about this person, revoked entries included."""
    return portal.service.store.entries(portal.network.pseudonym_of(bsn))


def entry_ids(page: str) -> list[str]:
    """The entries the page offers actions on, once each."""
    return list(dict.fromkeys(re.findall(r'name="keuze_id" value="([0-9a-f]{32})"', page)))


def logged_in(portal: Portal, resident: str = "anna") -> Browser:
    browser = portal.client()
    browser.login(resident)
    return browser


def test_grant_then_revoke_for_oneself(portal: Portal) -> None:
    """A grant shows in the table as in force; Intrekken revokes it in the registry."""
    browser = logged_in(portal)
    response = browser.submit("/toestemming", grant_form())
    assert response.status_code == 303 and response.headers["Location"] == "/toestemming"
    page = browser.get("/toestemming").text
    assert "Uw keuze is vastgelegd." in page
    assert "Huisarts" in page and "Gezondheid en zorg" in page and ">Geldt<" in page
    [stored] = entries(portal, ANNA)
    assert stored.state is EntryState.ACTIVE and stored.decision is Decision.PERMIT
    assert stored.cell.source.partner_type is PartnerType.HUISARTS
    assert stored.cell.life_domain is LifeDomain.ZORGEN
    assert stored.cell.purpose is Purpose.SIGNALERING

    [entry_id] = entry_ids(page)
    revoked = browser.submit("/toestemming/intrekken", {"persoon": "zelf", "keuze_id": entry_id})
    assert revoked.status_code == 303
    page = browser.get("/toestemming").text
    assert "De keuze is ingetrokken." in page and entry_ids(page) == []
    assert [e.state for e in entries(portal, ANNA)] == [EntryState.REVOKED]


def test_an_objection_for_all_domains_with_an_end_date(portal: Portal) -> None:
    """'Alle levensdomeinen' and 'tot en met' a date: a DENY until the end of that day."""
    browser = logged_in(portal)
    last = dt.datetime.now(TIME_ZONE).date() + dt.timedelta(days=30)
    form = grant_form(levensdomein="ALLE", keuze="DENY", tot=last.isoformat())
    assert browser.submit("/toestemming", form).status_code == 303
    [stored] = entries(portal, ANNA)
    assert stored.cell.life_domain is None and stored.decision is Decision.DENY
    assert stored.validity.valid_until is not None
    until = stored.validity.valid_until.astimezone(TIME_ZONE)
    assert (until.date(), until.time()) == (last + dt.timedelta(days=1), dt.time())
    assert "Alle levensdomeinen" in browser.get("/toestemming").text


def test_a_grant_without_the_csrf_token_is_refused(portal: Portal) -> None:
    """No token, or another session's token: 400 and nothing recorded."""
    browser = logged_in(portal)
    other = logged_in(portal, "bram")
    assert browser.post("/toestemming", grant_form()).status_code == 400
    foreign = grant_form() | {"csrf_token": other.csrf()}
    assert browser.post("/toestemming", foreign).status_code == 400
    assert entries(portal, ANNA) == []


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"organisatie": "BAKKERIJ"}, "Kies een soort organisatie uit de lijst."),
        ({"organisatie": "BRP"}, "Kies een soort organisatie uit de lijst."),
        ({"levensdomein": "VAKANTIE"}, "Kies een levensdomein uit de lijst."),
        ({"doel": "VERKOPEN"}, "Kies waarvoor de gegevens gebruikt mogen worden."),
        ({"keuze": "MISSCHIEN"}, "Kies of u toestemming geeft of niet."),
        ({"vanaf": "2099-05-10", "tot": "2099-05-01"}, "De einddatum moet na de begindatum"),
        ({"vanaf": "2001-01-01"}, "vanaf vandaag of later"),
        ({"tot": "1-1-2001"}, "De einddatum ligt in het verleden"),
        ({"tot": "31-02-2099"}, "Vul een datum in zoals 1-3-2027."),
        ({"persoon": "kind-9"}, "kinderen over wie u het gezag heeft"),
        ({"persoon": ""}, "Kies voor wie u dit doet."),
    ],
    ids=[
        "unknown-partner",
        "brp-is-no-source",
        "unknown-domain",
        "unknown-purpose",
        "unknown-decision",
        "inverted-period",
        "backdated",
        "ended",
        "no-such-date",
        "not-represented",
        "nobody",
    ],
)
def test_a_wrong_form_says_what_in_dutch_and_changes_nothing(
    portal: Portal, overrides: dict[str, str], message: str
) -> None:
    """The page comes back (422) with the message at the field and in the summary."""
    browser = logged_in(portal)
    response = browser.submit("/toestemming", grant_form(**overrides))
    assert response.status_code == 422
    assert "Er is een probleem" in response.text
    assert message in response.text
    assert 'aria-invalid="true"' in response.text
    assert entries(portal, ANNA) == []
    assert entries(portal, SARA) == []


def test_a_parent_cannot_act_for_a_child_they_do_not_represent(portal: Portal) -> None:
    """Bram has no children: 'kind-1' names nobody for him, and nothing is stored."""
    browser = logged_in(portal, "bram")
    response = browser.submit("/toestemming", grant_form(persoon="kind-1"))
    assert response.status_code == 422
    assert "kinderen over wie u het gezag heeft" in response.text
    assert entries(portal, SARA) == []


def test_a_grant_for_a_12_to_15_year_old_waits_for_the_child(portal: Portal) -> None:
    """Anna's grant for Sara (14) is pending; Sara sees it awaiting her and agrees."""
    anna = logged_in(portal, "anna")
    page = anna.get("/toestemming").text
    assert "Keuzes voor kind 1 (9 jaar)" in page and "Keuzes voor kind 2 (14 jaar)" in page
    assert anna.submit("/toestemming", grant_form(persoon="kind-2")).status_code == 303
    page = anna.get("/toestemming").text
    assert "wacht nu op akkoord van uw kind" in page
    assert "Wacht op akkoord van uw kind" in page
    [pending] = entries(portal, SARA)
    assert pending.state is EntryState.GRANT_PENDING

    sara = logged_in(portal, "sara")
    page = sara.get("/toestemming").text
    assert "Wacht op uw akkoord" in page
    [entry_id] = entry_ids(page)
    agreed = sara.submit("/toestemming/akkoord", {"persoon": "zelf", "keuze_id": entry_id})
    assert agreed.status_code == 303
    assert [e.state for e in entries(portal, SARA)] == [EntryState.ACTIVE]
    assert ">Geldt<" in anna.get("/toestemming").text


def test_a_child_may_withdraw_a_pending_grant_alone(portal: Portal) -> None:
    """'Niet akkoord' by the child withdraws the parent's pending grant."""
    anna = logged_in(portal, "anna")
    anna.submit("/toestemming", grant_form(persoon="kind-2"))
    sara = logged_in(portal, "sara")
    [entry_id] = entry_ids(sara.get("/toestemming").text)
    sara.submit("/toestemming/intrekken", {"persoon": "zelf", "keuze_id": entry_id})
    assert [e.state for e in entries(portal, SARA)] == [EntryState.REVOKED]


def test_agreeing_to_what_is_not_pending_changes_nothing(portal: Portal) -> None:
    """Akkoord on an entry in force, or one of someone else, is refused in Dutch."""
    anna = logged_in(portal, "anna")
    anna.submit("/toestemming", grant_form())
    [entry_id] = entry_ids(anna.get("/toestemming").text)
    response = anna.submit("/toestemming/akkoord", {"persoon": "zelf", "keuze_id": entry_id})
    assert response.status_code == 422
    assert "wacht niet (meer) op akkoord" in response.text
    bram = logged_in(portal, "bram")
    stolen = bram.submit("/toestemming/intrekken", {"persoon": "zelf", "keuze_id": entry_id})
    assert stolen.status_code == 422 and "bestaat niet (meer)" in stolen.text
    assert [e.state for e in entries(portal, ANNA)] == [EntryState.ACTIVE]


def test_a_registry_refusal_comes_back_in_dutch(portal: Portal) -> None:
    """A second, different decision for the same cell hits the overlap rule: Dutch, no change."""
    browser = logged_in(portal)
    browser.submit("/toestemming", grant_form())
    response = browser.submit("/toestemming", grant_form(keuze="DENY"))
    assert response.status_code == 422
    assert "al een keuze vastgelegd" in response.text and "Trek die eerst in" in response.text
    assert len(entries(portal, ANNA)) == 1


def test_children_from_16_and_under_12_themselves_are_left_out(portal: Portal) -> None:
    """Mila (17) manages her own consent; the page offers only her."""
    mila = logged_in(portal, "mila")
    page = mila.get("/toestemming").text
    assert "Keuzes voor u zelf" in page and "kind 1" not in page
    [session] = [s for s in portal.sessions.contents() if "actor" in s]
    assert isinstance(session["actor"], Actor) and session["actor"].children == ()
