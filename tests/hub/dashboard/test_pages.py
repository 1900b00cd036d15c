"""The dashboard in process (Flask's test client), logged in through the development provider:
who sees what, the figures as their tables show them, the audit trail every view leaves, the
session's safeguards."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import yaml

from hub.audit import ActorRole, AuditAction, verify
from hub.dashboard import wiring
from hub.dashboard.app import COOKIE_NAME
from hub.dashboard.texts import period_long
from hub.figures import Period, Unit
from tests.hub.dashboard.conftest import Network, StaffBrowser
from tests.hub.dashboard.html import column, tables
from tests.hub.dashboard.scenario import CASES, CLOSED, GGD_SIGNALS, TAKEN_ON


@dataclass
class Clock:
    offset: dt.timedelta = dt.timedelta()
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __call__(self) -> dt.datetime:
        return dt.datetime.now(dt.UTC) + self.offset

    def advance(self, **kwargs: float) -> None:
        with self.lock:
            self.offset += dt.timedelta(**kwargs)


@dataclass
class Dashboard:
    service: wiring.DashboardService
    clock: Clock
    network: Network

    def browser(self) -> StaffBrowser:
        return StaffBrowser(self.service.app.test_client(), self.network)


MakeDashboard = Callable[..., Dashboard]


@pytest.fixture
def make_dashboard(network: Network) -> Iterator[MakeDashboard]:
    """make_dashboard(staff=None) -> the dashboard built in process on a test clock; `staff`:
    another staff registry than the hub's."""
    made: list[Dashboard] = []

    def make(staff: Path | None = None) -> Dashboard:
        clock = Clock()
        config = network.config()
        if staff is not None:
            config = dataclasses.replace(config, staff=staff)
        built = Dashboard(wiring.build(config, clock=clock), clock, network)
        made.append(built)
        return built

    yield make
    for d in made:
        d.service.stop()


@pytest.fixture
def dashboard(make_dashboard: MakeDashboard) -> Dashboard:
    return make_dashboard()


def _week(network: Network, weeks_after_opening: int = 0) -> str:
    start = network.seeded.opened_week + dt.timedelta(weeks=weeks_after_opening)
    return period_long(Period(Unit.WEEK, start, start + dt.timedelta(days=6)))


@pytest.mark.parametrize("path", ["/cijfers", "/escalaties", "/cijfers?per=maand"])
def test_pages_need_a_login(dashboard: Dashboard, path: str) -> None:
    response = dashboard.browser().get(path)
    assert response.status_code == 303 and response.headers["Location"] == "/"


def test_an_operator_reads_the_figures(dashboard: Dashboard) -> None:
    """Counts from the hub's own data, with every count under 5 as "<5"."""
    browser = dashboard.browser()
    answer = browser.login("operator")
    assert answer.status_code == 303 and answer.headers["Location"] == "/cijfers"
    page = browser.get("/cijfers")
    assert page.status_code == 200
    html = page.text
    assert html.count('role="img"') >= 8, "every subject has a chart"
    found = tables(html)
    opened = _week(dashboard.network)
    signals = column(found["Signalen ontvangen per levensdomein en per week"], opened)
    assert signals["Totaal"] == str(CASES + GGD_SIGNALS)
    assert signals["Opgroeien"] == str(CASES)
    assert signals["Zorgen"] == "<5", "2 GGD signals"
    assert signals["Wonen"] == "<5", "none at all is below 5 too"
    cases = column(found["Matches: zaken geopend per levensdomein en per week"], opened)
    assert cases["Totaal"] == str(CASES) and cases["Opgroeien"] == str(CASES)
    assert cases["Zorgen"] == "<5"
    in_time = column(found["Op tijd opgepakt"], opened)
    assert in_time["Op tijd"] == f"{round(100 * TAKEN_ON / CASES)}%"
    assert column(found["Tijd tot een regiehouder"], opened)["Mediaan"] == "0 uur"
    late = column(found["Te laat opgepakt per levensdomein en per week"], opened)
    assert late["Totaal"] == str(CASES - TAKEN_ON)
    next_week = _week(dashboard.network, 1)
    escalated = column(found["Escalaties per levensdomein en per week"], next_week)
    assert escalated["Totaal"] == str(CASES - TAKEN_ON)
    outcomes = column(found["Uitkomsten per uitkomst en per week"], next_week)
    assert outcomes["Gesloten zaken"] == str(CLOSED) and outcomes["Geholpen"] == str(CLOSED)
    assert outcomes["Geen contact"] == "<5"


def test_figures_by_kind_of_partner_and_per_month(dashboard: Dashboard) -> None:
    browser = dashboard.browser()
    browser.login("operator")
    page = browser.get("/cijfers?per=maand&naar=partner")
    assert page.status_code == 200
    found = tables(page.text)
    table = found["Signalen ontvangen per soort partner en per maand"]
    rows = {row[0]: row[1:] for row in table[1:]}
    assert "School" in rows and "GGD" in rows and "Huisarts" in rows
    # The 16 school signals fall in one or two months; every shown count is a real count.
    assert all(cell == "<5" or cell == "×" or cell.isdigit() for r in rows.values() for cell in r)
    assert browser.get("/cijfers?per=jaar").status_code == 400


def test_a_procesregisseur_sees_only_the_cases_escalated_to_it(dashboard: Dashboard) -> None:
    browser = dashboard.browser()
    answer = browser.login("procesregisseur")
    assert answer.headers["Location"] == "/escalaties"
    page = browser.get("/escalaties")
    assert page.status_code == 200
    seeded = dashboard.network.seeded
    for ref in seeded.escalated:
        assert ref in page.text
    for ref in seeded.taken_on:
        assert ref not in page.text
    [table] = tables(page.text).values()
    assert len(table) == 1 + len(seeded.escalated)
    header = table[0]
    for row in table[1:]:
        cells = dict(zip(header, row, strict=True))
        assert cells["Niveau"] == "Procesregisseur"
        assert cells["Status"] == "Opgeschaald"
        assert cells["Levensdomeinen"] == "Opgroeien"
        assert cells["Soorten partners"] == "School"
    # No pseudonym or household key reaches the page: the longest hex run is a case reference.
    assert max(len(h) for h in re.findall(r"[0-9a-f]+", page.text)) <= 20


def test_every_view_is_an_entry_in_the_audit_log(dashboard: Dashboard) -> None:
    store = dashboard.network.store()
    try:
        before = len(store.audit_entries())
        operator, regisseur = dashboard.browser(), dashboard.browser()
        operator.login("operator")
        regisseur.login("procesregisseur")
        operator.get("/cijfers?per=maand&naar=levensdomein")
        regisseur.get("/escalaties")
        entries = store.audit_entries()
        assert verify(entries).intact
        new = entries[before:]
        assert [(e.actor_id, e.actor_role, e.action) for e in new] == [
            ("operator", ActorRole.OPERATOR, AuditAction.VIEW_FIGURES),
            ("procesregisseur", ActorRole.PROCESREGISSEUR, AuditAction.VIEW_LIST),
        ]
        figures, escalations = new
        assert figures.detail_map == {
            "view": "dashboard.figures",
            "unit": "maand",
            "by": "levensdomein",
        }
        assert figures.subjects == frozenset(), "the figures concern nobody in particular"
        assert escalations.detail_map["view"] == "dashboard.escalations"
        assert escalations.detail_map["shown"] == str(CASES - TAKEN_ON)
        # Whose data the escalated cases hold: each household, so residents can learn of it.
        households = {s for s in escalations.subjects if s.kind.value == "HOUSEHOLD"}
        assert len(households) == CASES - TAKEN_ON
    finally:
        store.close()


def test_someone_not_in_the_staff_registry_is_refused(
    make_dashboard: MakeDashboard, network: Network, tmp_path: Path
) -> None:
    """The provider vouches for the login; the hub's registry decides (here: operator only)."""
    staff = network.config().staff
    assert staff is not None
    only = [m for m in yaml.safe_load(staff.read_text())["staff"] if m["id"] == "operator"]
    path = tmp_path / "staff.yaml"
    path.write_text(yaml.safe_dump({"staff": only}))
    dashboard = make_dashboard(staff=path)
    browser = dashboard.browser()
    refused = browser.login("procesregisseur")
    assert refused.status_code == 403
    assert "niet in het register van medewerkers" in refused.text
    assert browser.get("/escalaties").status_code == 303


def test_logging_out_takes_the_session_token(dashboard: Dashboard) -> None:
    browser = dashboard.browser()
    browser.login("operator")
    assert browser.post("/uitloggen").status_code == 400, "no CSRF token: refused"
    assert browser.get("/cijfers").status_code == 200
    token = browser.csrf("/cijfers")
    out = browser.post("/uitloggen", {"csrf_token": token})
    assert out.status_code == 303 and out.headers["Location"] == "/?uitgelogd=1"
    assert f"{COOKIE_NAME}=;" in out.headers["Set-Cookie"]
    assert browser.get("/cijfers").status_code == 303


def test_an_idle_session_times_out(dashboard: Dashboard) -> None:
    browser = dashboard.browser()
    browser.login("operator")
    dashboard.clock.advance(minutes=16)
    expired = browser.get("/cijfers")
    assert expired.status_code == 303 and expired.headers["Location"] == "/?verlopen=1"
    assert "niet actief" in browser.get("/?verlopen=1").text


def test_pages_run_no_scripts_and_keep_the_cookie_to_themselves(dashboard: Dashboard) -> None:
    browser = dashboard.browser()
    answer = browser.login("operator")
    cookie = answer.headers["Set-Cookie"]
    assert cookie.startswith(f"{COOKIE_NAME}=")
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie
    page = browser.get("/cijfers")
    policy = page.headers["Content-Security-Policy"]
    assert "default-src 'none'" in policy and "script-src" not in policy
    assert page.headers["Cache-Control"] == "no-store"
    assert "<script" not in page.text
    assert page.headers["X-Frame-Options"] == "DENY"
