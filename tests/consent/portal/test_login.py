"""Logging in through the development provider: the flow, the ID token checks, the session."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from joserfc.jwk import ECKey
from structlog.testing import capture_logs

from consent.portal.sessions import COOKIE_NAME
from tests.consent.portal.conftest import Portal

ANNA_BSN = "999000019"
CHILD_BSNS = ("999000020", "999000032")


def test_login_flow_against_the_dev_provider_lands_on_the_overview(portal: Portal) -> None:
    """Authorization code + PKCE (S256) + nonce at the provider, back to the Overzicht."""
    browser = portal.client()
    params = browser.start_login()
    assert params["response_type"] == "code" and params["scope"] == "openid"
    assert params["code_challenge_method"] == "S256" and params["code_challenge"]
    assert params["nonce"] and params["state"]
    assert "code_verifier" not in params
    browser.login("anna")
    page = browser.get("/overzicht")
    assert page.status_code == 200
    assert '<html lang="nl">' in page.text and "<h1>Overzicht</h1>" in page.text


def test_the_session_cookie_is_host_only_secure_httponly_and_lax(portal: Portal) -> None:
    """The cookie is __Host-, Secure, HttpOnly, SameSite=Lax, Path=/, and gets a new id at login."""
    browser = portal.client()
    before = browser.get("/inloggen").headers.getlist("Set-Cookie")
    assert len(before) == 1
    callback = browser.pick(browser.start_login(), "anna")
    after = browser.get(callback).headers.getlist("Set-Cookie")
    assert len(after) == 1
    cookie = after[0]
    assert cookie.startswith(f"{COOKIE_NAME}=")
    flags = {part.strip().lower() for part in cookie.split(";")[1:]}
    assert {"secure", "httponly", "samesite=lax", "path=/"} <= flags
    assert not any(f.startswith(("domain", "expires", "max-age")) for f in flags)
    assert cookie.split(";")[0] != before[0].split(";")[0], "the session id must change at login"


def test_every_page_carries_the_security_headers(portal: Portal) -> None:
    """No scripts allowed, no framing, no referrer, and no caching of pages."""
    browser = portal.client()
    browser.login()
    for path in ("/", "/overzicht", "/toestemming", "/regiehouder", "/bezwaar", "/berichten"):
        headers = browser.get(path).headers
        assert "script-src" not in headers["Content-Security-Policy"]
        assert "default-src 'none'" in headers["Content-Security-Policy"]
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert headers["Referrer-Policy"] == "no-referrer"
        assert headers["Cache-Control"] == "no-store"


def test_the_portal_answers_only_to_its_own_host_names(portal: Portal) -> None:
    """Without public_url only loopback names are trusted (no Host header games)."""
    client = portal.app.test_client()
    assert client.get("/", base_url="https://127.0.0.1:8443").status_code == 200
    assert client.get("/", base_url="https://portaal.elders.example").status_code == 400


@pytest.mark.parametrize("path", ["/overzicht", "/toestemming", "/regiehouder", "/bezwaar"])
def test_pages_need_a_login(portal: Portal, path: str) -> None:
    """Without a session every page sends the visitor to the start page."""
    response = portal.client().get(path)
    assert response.status_code == 303 and response.headers["Location"] == "/"


def test_logout_ends_the_session(portal: Portal) -> None:
    """Uitloggen clears the session server-side and the cookie; pages need a login again."""
    browser = portal.client()
    browser.login()
    sessions = portal.sessions
    assert len(sessions) == 1
    response = browser.submit("/uitloggen", {}, page="/overzicht")
    assert response.status_code == 303 and response.headers["Location"] == "/?uitgelogd=1"
    assert f"{COOKIE_NAME}=;" in response.headers["Set-Cookie"]
    assert len(sessions) == 0
    assert "U bent uitgelogd" in browser.get("/?uitgelogd=1").text
    assert browser.get("/overzicht").status_code == 303


def test_logout_without_the_csrf_token_is_refused(portal: Portal) -> None:
    """A cross-site POST cannot log the resident out: 400, still logged in."""
    browser = portal.client()
    browser.login()
    refused = browser.post("/uitloggen")
    assert refused.status_code == 400
    assert "Dit formulier is verlopen" in refused.text
    assert browser.get("/overzicht").status_code == 200


def test_an_idle_session_times_out(make_portal: Callable[..., Portal]) -> None:
    """After the idle time-out (15 minutes) the session is gone; activity keeps it alive."""
    portal = make_portal(idle_minutes=15)
    browser = portal.client()
    browser.login()
    portal.clock.advance(minutes=10)
    assert browser.get("/overzicht").status_code == 200
    portal.clock.advance(minutes=10)
    assert browser.get("/overzicht").status_code == 200
    portal.clock.advance(minutes=15, seconds=1)
    expired = browser.get("/overzicht")
    assert expired.status_code == 303 and expired.headers["Location"] == "/?verlopen=1"
    start = browser.get("/?verlopen=1")
    assert "langer dan 15 minuten niet actief" in start.text
    assert browser.get("/overzicht").status_code == 303


def test_a_post_after_the_time_out_changes_nothing(make_portal: Callable[..., Portal]) -> None:
    """A form sent from a page left open too long is not carried out."""
    portal = make_portal(idle_minutes=5)
    browser = portal.client()
    browser.login()
    token = browser.csrf()
    portal.clock.advance(minutes=6)
    response = browser.post(
        "/regiehouder", {"csrf_token": token, "voorkeur": "SELF"}, follow_redirects=False
    )
    assert response.status_code == 303 and response.headers["Location"] == "/?verlopen=1"
    assert portal.store.preference(portal.network.pseudonym_of(ANNA_BSN)) is None


def test_cancelling_at_the_provider_says_so(portal: Portal) -> None:
    """Annuleren at the provider returns access_denied; the portal says the login was stopped."""
    import requests

    browser = portal.client()
    params = browser.start_login()
    answer = requests.post(
        f"{portal.network.issuer}/authorize",
        data={**params, "annuleren": "1"},
        verify=str(portal.network.ca.cert_path),
        allow_redirects=False,
        timeout=10,
    )
    location = answer.headers["Location"]
    assert "error=access_denied" in location
    page = browser.get(location.removeprefix("https://localhost"))
    assert "U heeft het inloggen afgebroken" in page.text
    assert browser.get("/overzicht").status_code == 303


def test_a_callback_with_a_foreign_state_is_refused(portal: Portal) -> None:
    """A code delivered to someone else's session (login CSRF) does not log them in."""
    victim, attacker = portal.client(), portal.client()
    victim.start_login()
    callback = attacker.pick(attacker.start_login(), "bram")
    response = victim.get(callback)
    assert response.status_code == 400 and "Inloggen is niet gelukt" in response.text
    assert victim.get("/overzicht").status_code == 303


def _patched(portal: Portal, monkeypatch: pytest.MonkeyPatch, **claims: Any) -> None:
    tokens = portal.network.oidc.provider.tokens
    original = tokens.get_client_claims

    def get_client_claims(client: Any) -> dict[str, Any]:
        return original(client) | claims

    monkeypatch.setattr(tokens, "get_client_claims", get_client_claims)


@pytest.mark.parametrize(
    "claims",
    [
        {"iss": "https://elders.example"},
        {"aud": ["een-andere-client"]},
        {"exp": 1_000_000_000, "iat": 999_999_000},
    ],
    ids=["issuer", "audience", "expired"],
)
def test_an_id_token_with_wrong_claims_is_refused(
    portal: Portal, monkeypatch: pytest.MonkeyPatch, claims: dict[str, Any]
) -> None:
    """The portal checks issuer, audience and expiry itself."""
    _patched(portal, monkeypatch, **claims)
    browser = portal.client()
    response = browser.get(browser.pick(browser.start_login(), "anna"))
    assert response.status_code == 400 and "Inloggen is niet gelukt" in response.text
    assert browser.get("/overzicht").status_code == 303


def test_an_id_token_with_another_nonce_is_refused(
    portal: Portal, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The nonce in the token must be the one this session sent."""
    tokens = portal.network.oidc.provider.tokens
    original = tokens.get_authorization_code_claims
    monkeypatch.setattr(
        tokens,
        "get_authorization_code_claims",
        lambda code: original(code) | {"nonce": "een-andere-nonce"},
    )
    browser = portal.client()
    response = browser.get(browser.pick(browser.start_login(), "anna"))
    assert response.status_code == 400
    assert browser.get("/overzicht").status_code == 303


def test_an_id_token_signed_with_another_key_is_refused(
    portal: Portal, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A token whose signature does not verify against the published key is refused."""
    tokens = portal.network.oidc.provider.tokens
    forged = ECKey.generate_key("P-256", private=True)
    monkeypatch.setattr(tokens, "resolve_client_private_key", lambda client: forged)
    browser = portal.client()
    response = browser.get(browser.pick(browser.start_login(), "anna"))
    assert response.status_code == 400
    assert browser.get("/overzicht").status_code == 303


def test_a_token_with_an_invalid_citizen_number_is_refused(
    portal: Portal, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Claims are checked too: a BSN failing the elfproef logs nobody in."""
    tokens = portal.network.oidc.provider.tokens
    monkeypatch.setattr(
        tokens,
        "generate_user_info",
        lambda user, scope: {"sub": "x", "bsn": "123456789", "age": 40},
    )
    browser = portal.client()
    with capture_logs() as logs:
        response = browser.get(browser.pick(browser.start_login(), "anna"))
    assert response.status_code == 400
    assert {"event": "portal.login_failed", "reason": "claims.bsn", "log_level": "info"} in logs


def test_citizen_numbers_are_not_kept_or_logged(portal: Portal) -> None:
    """After login no BSN is in the session, the log events, or the database file."""
    browser = portal.client()
    with capture_logs() as logs:
        browser.login("anna")
        browser.submit("/regiehouder", {"voorkeur": "SELF"})  # something in the database
        browser.get("/overzicht")
    kept = repr(portal.sessions.contents())
    assert "actor" in kept
    database = Path(portal.service.config.database_url.removeprefix("sqlite:///"))
    stored = b"".join(f.read_bytes() for f in database.parent.glob(f"{database.name}*"))
    assert stored
    for bsn in (ANNA_BSN, *CHILD_BSNS):
        assert bsn not in kept
        assert bsn not in repr(logs)
        assert bsn.encode() not in stored
    assert any(e["event"] == "portal.logged_in" and e["children"] == 2 for e in logs)
