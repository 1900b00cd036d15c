"""The development login provider: marked on every page, strict about PKCE, redirects, secrets."""

from __future__ import annotations

import base64
import hashlib
import secrets
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from joserfc import jwt
from joserfc.jwk import KeySet

from consent.portal.dev_oidc.app import BANNER
from consent.portal.dev_oidc.residents import RESIDENTS
from consent.portal.devsetup import CLIENT_ID
from node.identifiers import elfproef
from tests.consent.portal.conftest import Network

CALLBACK = "https://127.0.0.1:8443/inloggen/terug"


def session() -> requests.Session:
    s = requests.Session()
    s.trust_env = False
    return s


def authorize_params(**overrides: str) -> dict[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
    params = {
        "client_id": CLIENT_ID,
        "redirect_uri": CALLBACK,
        "response_type": "code",
        "scope": "openid",
        "state": secrets.token_urlsafe(8),
        "nonce": secrets.token_urlsafe(8),
        "code_challenge": challenge.rstrip(b"=").decode(),
        "code_challenge_method": "S256",
        "verifier": verifier,
    }
    return params | overrides


def get(network: Network, path: str, **kwargs: Any) -> requests.Response:
    return session().get(
        network.issuer + path, verify=str(network.ca.cert_path), timeout=10, **kwargs
    )


def post(network: Network, path: str, **kwargs: Any) -> requests.Response:
    return session().post(
        network.issuer + path,
        verify=str(network.ca.cert_path),
        timeout=10,
        allow_redirects=False,
        **kwargs,
    )


def code_for(network: Network, params: dict[str, str], resident: str = "anna") -> str:
    form = {k: v for k, v in params.items() if k != "verifier"} | {"inwoner": resident}
    answer = post(network, "/authorize", data=form)
    assert answer.status_code == 302, answer.text
    query = parse_qs(urlsplit(answer.headers["Location"]).query)
    assert query["state"] == [params["state"]]
    return query["code"][0]


def exchange(
    network: Network, code: str, verifier: str, secret: str | None = None
) -> requests.Response:
    secret = secret if secret is not None else network.setup.client_secret.read_text().strip()
    return post(
        network,
        "/token",
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": CALLBACK,
            "code_verifier": verifier,
        },
        auth=(CLIENT_ID, secret),
    )


def test_the_synthetic_residents_have_valid_999_numbers() -> None:
    """Every citizen number starts with 999 and passes the elfproef; keys are unique."""
    numbers = [r.bsn for r in RESIDENTS] + [c.bsn for r in RESIDENTS for c in r.children]
    assert all(n.startswith("999") and elfproef(n) for n in numbers)
    assert len({r.key for r in RESIDENTS}) == len(RESIDENTS)


def test_every_page_it_shows_says_it_is_no_real_digid(network: Network) -> None:
    """The picker and the error page both carry the banner, in Dutch."""
    params = {k: v for k, v in authorize_params().items() if k != "verifier"}
    picker = get(network, "/authorize", params=params)
    error = get(network, "/authorize", params={"client_id": "onbekend"})
    for page in (picker, error):
        assert page.text.count(BANNER) >= 2 and '<html lang="nl">' in page.text
    assert picker.status_code == 200 and error.status_code == 400
    assert "Anna de Vries" in picker.text and "999000019" in picker.text


def test_discovery_and_keys(network: Network) -> None:
    """The metadata names this issuer, S256 only, and an ES256 key."""
    metadata = get(network, "/.well-known/openid-configuration").json()
    assert metadata["issuer"] == network.issuer
    assert metadata["code_challenge_methods_supported"] == ["S256"]
    keys = get(network, "/jwks.json").json()["keys"]
    assert [(k["kty"], k["alg"]) for k in keys] == [("EC", "ES256")] and "d" not in keys[0]


def test_a_code_gives_an_id_token_with_the_residents_claims(network: Network) -> None:
    """sub, bsn, age and children (bsn + age), signed with the published key."""
    params = authorize_params()
    answer = exchange(network, code_for(network, params), params["verifier"])
    assert answer.status_code == 200, answer.text
    keys = KeySet.import_key_set(get(network, "/jwks.json").json())
    token = jwt.decode(answer.json()["id_token"], keys)
    claims = token.claims
    assert claims["iss"] == network.issuer and claims["aud"] == [CLIENT_ID]
    assert claims["nonce"] == params["nonce"] and claims["sub"] == "ontwikkel-anna"
    assert (claims["bsn"], claims["age"]) == ("999000019", 38)
    assert claims["children"] == [{"bsn": "999000020", "age": 9}, {"bsn": "999000032", "age": 14}]


def test_a_code_works_once(network: Network) -> None:
    params = authorize_params()
    code = code_for(network, params)
    assert exchange(network, code, params["verifier"]).status_code == 200
    assert exchange(network, code, params["verifier"]).json()["error"] == "invalid_grant"


def test_the_token_endpoint_checks_the_verifier_and_the_secret(network: Network) -> None:
    params = authorize_params()
    code = code_for(network, params)
    assert exchange(network, code, "x" * 50).json()["error"] == "invalid_grant"
    assert exchange(network, code, params["verifier"], "fout").status_code == 401


@pytest.mark.parametrize(
    "overrides",
    [
        {"code_challenge": "", "code_challenge_method": ""},
        {"code_challenge_method": "plain"},
        {"nonce": ""},
        {"redirect_uri": "https://elders.example/inloggen/terug"},
        {"redirect_uri": "https://127.0.0.1:8443/andere-pagina"},
        {"client_id": "onbekend"},
        {"response_type": "token"},
    ],
    ids=[
        "no-pkce",
        "plain-pkce",
        "no-nonce",
        "foreign-redirect",
        "other-path",
        "client",
        "implicit",
    ],
)
def test_a_bad_authorization_request_gets_no_code(
    network: Network, overrides: dict[str, str]
) -> None:
    """Without S256 PKCE, a nonce, a registered redirect or client: no picker, no code."""
    params = authorize_params(**overrides)
    form = {k: v for k, v in params.items() if k != "verifier" and v}
    shown = get(network, "/authorize", params=form, allow_redirects=False)
    assert "Als wie wilt u inloggen?" not in shown.text
    posted = post(network, "/authorize", data=form | {"inwoner": "anna"})
    assert "code=" not in posted.headers.get("Location", "")


def test_a_nonce_is_not_accepted_twice(network: Network) -> None:
    """A replayed authorization request (same nonce, code not yet used) is refused."""
    params = authorize_params()
    code_for(network, params)
    form = {k: v for k, v in params.items() if k != "verifier"} | {"inwoner": "anna"}
    assert "code=" not in post(network, "/authorize", data=form).headers.get("Location", "")


def test_a_loopback_redirect_may_use_any_port(network: Network) -> None:
    """RFC 8252 7.3: the registered https://127.0.0.1/... matches every port on loopback."""
    params = authorize_params(redirect_uri="https://127.0.0.1:40123/inloggen/terug")
    assert code_for(network, params)


def test_choosing_nobody_shows_the_picker_again(network: Network) -> None:
    form = {k: v for k, v in authorize_params().items() if k != "verifier"}
    answer = post(network, "/authorize", data=form | {"inwoner": "niemand"})
    assert answer.status_code == 422 and "Kies een inwoner." in answer.text
