"""The dashboard in real headless Chromium, served by `seinhuis hub dashboard` as a process:
an operator reads the figures (charts, "<5"), a procesregisseur its escalated cases only;
with JavaScript on and off; axe-core finds no serious violation on any page.

The browser harness is the resident portal's (tests/consent/portal/test_browser.py).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page

from seinhuis.network import Running
from tests.consent.portal.test_browser import (  # the portal's Chromium and axe-core
    assert_accessible,
    chromium,  # noqa: F401 (a fixture)
    new_context,
)
from tests.hub.dashboard.conftest import Network
from tests.hub.dashboard.scenario import CASES, TAKEN_ON

BANNER = "Ontwikkel-inlogdienst — geen echte DigiD"


@pytest.fixture(scope="module")
def dashboard(network: Network) -> Iterator[Running]:
    """`seinhuis hub dashboard --config hub.toml` on a free loopback port."""
    run = network.launcher.start("dashboard", "hub dashboard", network.hub_toml)
    yield run
    run.stop()
    network.launcher.running.remove(run)


def origin(run: Running) -> str:
    return f"https://127.0.0.1:{run.port}"


def log_in(page: Page, run: Running, staff_id: str, landing: str) -> None:
    page.goto(origin(run) + "/")
    page.get_by_role("link", name="Inloggen").click()
    page.get_by_text(BANNER).first.wait_for()
    page.get_by_label(staff_id, exact=False).check()
    page.get_by_role("button", name="Inloggen", exact=True).click()
    page.wait_for_url(f"**{landing}")


@pytest.mark.parametrize("javascript", [True, False], ids=["javascript", "no-javascript"])
def test_an_operator_reads_the_figures(
    chromium: Browser,  # noqa: F811
    dashboard: Running,
    javascript: bool,
) -> None:
    context = new_context(chromium, javascript=javascript)
    page = context.new_page()
    log_in(page, dashboard, "operator", "/cijfers")
    assert page.locator("html").get_attribute("lang") == "nl"
    assert page.get_by_role("heading", level=1).inner_text() == "Cijfers"
    signals = page.get_by_role("region", name="Signalen ontvangen")
    charts = signals.get_by_role("img")
    assert charts.count() == 2, "a bar chart of the totals and a heat map by life domain"
    assert charts.first.get_attribute("aria-labelledby")
    assert "<5" in signals.inner_text(), "small counts are shown as <5"
    assert page.locator("svg[role=img]").count() >= 8
    # The table behind the chart, opened as a person would (no script needed for <details>).
    signals.get_by_text("De cijfers als tabel").click()
    table = signals.get_by_role("table")
    assert table.is_visible()
    assert table.get_by_role("row", name="Opgroeien").get_by_role("cell", name=str(CASES)).count()
    # Another view: per month, by kind of partner.
    page.get_by_role("link", name="Per maand").click()
    page.get_by_role("link", name="Soort partner").click()
    assert "per=maand" in page.url and "naar=partner" in page.url
    assert page.get_by_role("link", name="Soort partner").get_attribute("aria-current") == "true"
    page.get_by_role("button", name="Uitloggen").click()
    assert page.get_by_text("U bent uitgelogd.").is_visible()
    context.close()


@pytest.mark.parametrize("javascript", [True, False], ids=["javascript", "no-javascript"])
def test_a_procesregisseur_sees_only_its_escalated_cases(
    chromium: Browser,  # noqa: F811
    dashboard: Running,
    network: Network,
    javascript: bool,
) -> None:
    context = new_context(chromium, javascript=javascript)
    page = context.new_page()
    log_in(page, dashboard, "procesregisseur", "/escalaties")
    assert page.get_by_role("heading", level=1).inner_text() == "Escalaties"
    rows = page.get_by_role("table").get_by_role("row")
    assert rows.count() == 1 + CASES - TAKEN_ON
    text = page.get_by_role("table").inner_text()
    assert all(ref in text for ref in network.seeded.escalated)
    assert not any(ref in text for ref in network.seeded.taken_on)
    context.close()


def test_every_page_passes_axe(chromium: Browser, dashboard: Running) -> None:  # noqa: F811
    context = new_context(chromium)
    page = context.new_page()
    page.goto(origin(dashboard) + "/")
    assert_accessible(page, "the start page")
    page.get_by_role("link", name="Inloggen").click()
    page.get_by_text(BANNER).first.wait_for()
    assert_accessible(page, "the development provider's staff picker")
    page.get_by_label("operator", exact=False).check()
    page.get_by_role("button", name="Inloggen", exact=True).click()
    page.wait_for_url("**/cijfers")
    # Every template once (the other views of the figures differ only in their numbers).
    for path in ("/cijfers", "/escalaties", "/bestaat-niet"):
        page.goto(origin(dashboard) + path)
        for summary in page.get_by_text("De cijfers als tabel").all():
            summary.click()  # the tables too
        assert_accessible(page, path)
    context.close()
