"""The portal in real headless Chromium: log in, read, grant, revoke, object; with and without
JavaScript; and an axe-core accessibility check of every page.

Chromium comes from Debian (`make test` installs it through scripts/system-deps.sh); axe-core
comes bundled in the PyPI package axe-playwright-python. A missing browser fails these tests.
"""

from __future__ import annotations

import datetime as dt
import importlib.resources
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from consent.portal.household import HeldSignal, HouseholdInfo
from consent.portal.inbox import notify_statute_signal
from seinhuis.vocabulary import LegalBasis, PartnerType, SignalType
from tests.consent.portal.conftest import Portal, PortalFactory

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ANNA, SARA = "999000019", "999000032"
#: axe impacts that fail the test.
BLOCKING = frozenset({"serious", "critical"})

try:
    from playwright.sync_api import Browser, BrowserContext, Page, sync_playwright
except ImportError:  # pragma: no cover - reported by the fixture below
    sync_playwright = None  # type: ignore[assignment]


@pytest.fixture(scope="module")
def chromium() -> Iterator[Browser]:
    """Debian's Chromium driven by Playwright; fails (never skips) when either is missing."""
    if sync_playwright is None:
        pytest.fail("the playwright package is missing: `make test` installs the dev dependencies")
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(
            f"Chromium is not installed at {CHROMIUM}: `make test` installs it "
            "(the Makefile's system-deps step runs scripts/system-deps.sh)"
        )
    with sync_playwright() as playwright:
        # launch() gives Chromium a fresh, empty profile folder (--user-data-dir) of its own.
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def running(make_portal: PortalFactory) -> Portal:
    """A started consent service whose portal serves HTTPS on a free loopback port."""
    portal = make_portal()
    portal.service.start()
    anna = portal.network.pseudonym_of(ANNA)
    portal.household.info = HouseholdInfo(
        signals=(
            HeldSignal(
                "sig-huur",
                anna,
                SignalType.HUURACHTERSTAND,
                PartnerType.WONINGCORPORATIE,
                dt.date(2027, 2, 3),
                LegalBasis.WGS_VROEGSIGNALERING,
                dt.date(2027, 8, 3),
            ),
        )
    )
    notify_statute_signal(
        portal.store,
        anna,
        SignalType.HUURACHTERSTAND,
        PartnerType.WONINGCORPORATIE,
        LegalBasis.WGS_VROEGSIGNALERING,
        dt.date(2027, 2, 3),
        now=portal.clock(),
    )
    return portal


def origin(portal: Portal) -> str:
    assert portal.service.portal is not None
    return f"https://127.0.0.1:{portal.service.portal.port}"


def new_context(chromium: Browser, *, javascript: bool = True) -> BrowserContext:
    # The development CA is not in Chromium's store; the certificate is otherwise checked
    # by the portal's own clients (pseudonym service, provider) in the other tests.
    return chromium.new_context(
        ignore_https_errors=True, java_script_enabled=javascript, locale="nl-NL"
    )


def log_in(page: Page, portal: Portal, resident: str = "Anna de Vries") -> None:
    page.goto(origin(portal) + "/")
    page.get_by_role("link", name="Inloggen met DigiD").click()
    page.get_by_text("Ontwikkel-inlogdienst — geen echte DigiD").first.wait_for()
    page.get_by_label(resident, exact=False).check()
    page.get_by_role("button", name="Inloggen", exact=True).click()
    page.wait_for_url("**/overzicht")


def axe_violations(page: Page) -> list[dict[str, Any]]:
    """Run axe-core on the page; the serious and critical violations."""
    source = importlib.resources.files("axe_playwright_python").joinpath("axe.min.js")
    # evaluate() runs in the page without a <script> element, so the CSP does not block it.
    page.evaluate(source.read_text(encoding="utf-8"))
    result = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    return [v for v in result["violations"] if v.get("impact") in BLOCKING]


def assert_accessible(page: Page, name: str) -> None:
    found = axe_violations(page)
    report = [
        {
            "id": v["id"],
            "impact": v["impact"],
            "help": v["help"],
            "nodes": [n["target"] for n in v["nodes"]][:5],
        }
        for v in found
    ]
    assert not found, f"axe: serious or critical violations on {name}:\n" + json.dumps(
        report, indent=2, ensure_ascii=False
    )


@pytest.mark.parametrize("javascript", [True, False], ids=["javascript", "no-javascript"])
def test_log_in_read_grant_revoke_and_object(
    chromium: Browser, running: Portal, javascript: bool
) -> None:
    """The whole resident journey, by clicking, with JavaScript on and off."""
    context = new_context(chromium, javascript=javascript)
    page = context.new_page()
    log_in(page, running)
    assert page.locator("html").get_attribute("lang") == "nl"
    assert page.get_by_role("heading", level=1).inner_text() == "Overzicht"
    row = page.get_by_role("row", name="Achterstand met het betalen van de huur")
    assert "Woningcorporatie" in row.inner_text() and "3 augustus 2027" in row.inner_text()

    page.get_by_role("navigation", name="Hoofdmenu").get_by_role("link", name="Toestemming").click()
    page.get_by_role("radio", name="Kind 2 (14 jaar)").check()
    page.get_by_label("Soort organisatie").select_option("HUISARTS")
    page.get_by_label("Levensdomein").select_option("ZORGEN")
    page.get_by_label("Ja, ik geef toestemming").check()
    page.get_by_role("button", name="Keuze vastleggen").click()
    assert page.get_by_role("status").filter(has_text="wacht nu op akkoord").is_visible()
    assert page.get_by_role("cell", name="Wacht op akkoord van uw kind", exact=True).is_visible()

    page.get_by_role("radio", name="U zelf").check()
    page.get_by_label("Soort organisatie").select_option("GGD")
    page.get_by_label("Nee, ik geef geen toestemming (bezwaar)").check()
    page.get_by_role("button", name="Keuze vastleggen").click()
    section = page.get_by_role("region", name="Keuzes voor u zelf")
    assert section.get_by_role("cell", name="Geen toestemming (bezwaar)", exact=True).is_visible()
    section.get_by_role("button", name="Intrekken").click()
    assert page.get_by_text("De keuze is ingetrokken.").is_visible()
    assert page.get_by_role("region", name="Keuzes voor u zelf").get_by_role("row").count() == 0

    page.get_by_role("link", name="Bezwaar").first.click()
    page.get_by_label("Achterstand met het betalen van de huur", exact=False).check()
    page.get_by_label("Het probleem is al opgelost").check()
    page.get_by_role("button", name="Bezwaar indienen").click()
    assert page.get_by_text("Uw bezwaar is ontvangen.", exact=False).is_visible()
    [objection] = running.store.open_objections()
    assert objection.signal_reference == "sig-huur"

    page.get_by_role("button", name="Uitloggen").click()
    assert page.get_by_text("U bent uitgelogd.").is_visible()
    context.close()


def test_a_wrong_form_is_explained_without_javascript(chromium: Browser, running: Portal) -> None:
    """With scripts off, an inverted period comes back with a Dutch message and focusable link."""
    context = new_context(chromium, javascript=False)
    page = context.new_page()
    log_in(page, running)
    page.goto(origin(running) + "/toestemming")
    page.get_by_label("Soort organisatie").select_option("HUISARTS")
    page.get_by_label("Ja, ik geef toestemming").check()
    page.get_by_label("Geldt vanaf (niet verplicht)").fill("2099-05-10")
    page.get_by_label("Geldt tot en met (niet verplicht)").fill("2099-05-01")
    page.get_by_role("button", name="Keuze vastleggen").click()
    alert = page.get_by_role("alert")
    assert "De einddatum moet na de begindatum liggen." in alert.inner_text()
    assert running.service.store.entries(running.network.pseudonym_of(ANNA)) == []
    context.close()


def test_every_page_passes_axe(chromium: Browser, running: Portal) -> None:
    """No serious or critical axe-core violations on any page, the provider's included."""
    context = new_context(chromium)
    page = context.new_page()
    page.goto(origin(running) + "/")
    assert_accessible(page, "start")
    page.get_by_role("link", name="Inloggen met DigiD").click()
    page.get_by_text("Ontwikkel-inlogdienst — geen echte DigiD").first.wait_for()
    assert_accessible(page, "the development provider's login page")
    page.get_by_role("button", name="Inloggen", exact=True).click()
    page.wait_for_url("**/overzicht")
    for path in ("/overzicht", "/toestemming", "/regiehouder", "/bezwaar", "/berichten"):
        page.goto(origin(running) + path)
        assert_accessible(page, path)
    page.goto(origin(running) + "/toestemming")
    page.get_by_role("button", name="Keuze vastleggen").click()  # nothing chosen: errors
    assert page.get_by_role("alert").is_visible()
    assert_accessible(page, "/toestemming with errors")
    page.goto(origin(running) + "/bestaat-niet")
    assert_accessible(page, "the 404 page")
    context.close()


def test_the_keyboard_reaches_a_visible_skip_link_first(chromium: Browser, running: Portal) -> None:
    """Tab once: the skip link appears and has a focus outline; Enter moves to the content."""
    context = new_context(chromium)
    page = context.new_page()
    page.goto(origin(running) + "/")
    page.keyboard.press("Tab")
    focused = page.evaluate(
        "() => { const e = document.activeElement; const s = getComputedStyle(e);"
        " const r = e.getBoundingClientRect();"
        " return {text: e.textContent, shadow: s.boxShadow, left: r.left}; }"
    )
    assert focused["text"] == "Direct naar de inhoud"
    assert focused["left"] >= 0, "the skip link must be on screen when focused"
    assert focused["shadow"] != "none", "focus must be visible"
    page.keyboard.press("Enter")
    assert page.evaluate("() => document.activeElement.id") == "inhoud"
    context.close()
