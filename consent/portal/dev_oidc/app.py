"""The development provider's pages and endpoints, and the service that serves them over HTTPS.

GET /authorize checks the request and shows the resident picker (or, for a client of kind
"staff", the staff picker); POST /authorize logs the chosen resident or member of staff in (or,
on "Annuleren", answers access_denied); POST /token exchanges a code;
discovery at /.well-known/openid-configuration and keys at /jwks.json. The picker needs no
CSRF token: a forged choice ends at the portal's callback, where the state does not match.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from authlib.integrations.flask_oauth2 import AuthorizationServer  # type: ignore[import-untyped]
from authlib.oauth2 import OAuth2Error  # type: ignore[import-untyped]
from flask import Flask, Response, jsonify, render_template, request
from flask.typing import ResponseReturnValue

from consent.portal.dev_oidc import residents, staff
from consent.portal.dev_oidc.config import DevOidcConfig
from consent.portal.dev_oidc.provider import Client, Provider, S256Only, code_grant
from consent.portal.security import CONTENT_SECURITY_POLICY, add_headers
from consent.portal.server import HttpsServer
from consent.portal.wiring import read_secret
from seinhuis import logs

log = logs.get_logger(__name__)

ROLE = "dev-oidc"
HERE = Path(__file__).resolve().parent
BANNER = "Ontwikkel-inlogdienst — geen echte DigiD"


def create_app(provider: Provider) -> Flask:
    app = Flask(
        "consent.portal.dev_oidc",
        root_path=str(HERE),
        template_folder="templates",
        static_folder=str(HERE.parent / "static"),
    )
    app.jinja_env.autoescape = True
    app.jinja_env.globals["banner"] = BANNER
    signing, clients = provider.signing, provider.clients
    server = AuthorizationServer(app, query_client=clients.get, save_token=lambda _t, _r: None)
    server.register_grant(code_grant(provider.codes), [provider.tokens, S256Only(required=True)])

    def error_page(error: OAuth2Error) -> ResponseReturnValue:
        return render_template("fout.html", error=error.error), 400

    @app.get("/.well-known/openid-configuration")
    def discovery() -> ResponseReturnValue:
        issuer = signing.issuer
        return jsonify(
            issuer=issuer,
            authorization_endpoint=f"{issuer}/authorize",
            token_endpoint=f"{issuer}/token",
            jwks_uri=f"{issuer}/jwks.json",
            response_types_supported=["code"],
            grant_types_supported=["authorization_code"],
            subject_types_supported=["public"],
            id_token_signing_alg_values_supported=["ES256"],
            scopes_supported=["openid"],
            token_endpoint_auth_methods_supported=["client_secret_basic"],
            code_challenge_methods_supported=["S256"],
            claims_supported=["sub", "bsn", "age", "children"],
        )

    @app.get("/jwks.json")
    def jwks() -> ResponseReturnValue:
        return jsonify(signing.jwks())

    @app.get("/authorize")
    def authorize_form() -> ResponseReturnValue:
        try:
            grant = server.get_consent_grant(end_user=None)
        except OAuth2Error as error:
            return error_page(error)
        params = {k: v for k, v in request.args.items() if k in _AUTHORIZE_PARAMS}
        return picker(grant.client, params)

    def picker(client: Client, params: dict[str, str], *, missing: bool = False) -> str:
        if client.accounts == "staff":
            return render_template(
                "medewerker.html", staff=provider.staff, params=params, missing=missing
            )
        return render_template(
            "kiezen.html", residents=residents.RESIDENTS, params=params, missing=missing
        )

    @app.post("/authorize")
    def authorize() -> ResponseReturnValue:
        try:
            grant = server.get_consent_grant(end_user=None)
        except OAuth2Error as error:
            return error_page(error)
        if "annuleren" in request.form:
            return _response(server.create_authorization_response(grant=grant, grant_user=None))
        account: residents.Resident | staff.StaffAccount | None
        if grant.client.accounts == "staff":
            account = staff.by_key(provider.staff, request.form.get("medewerker", ""))
        else:
            account = residents.by_key(request.form.get("inwoner", ""))
        if account is None:
            params = {k: v for k, v in request.form.items() if k in _AUTHORIZE_PARAMS}
            return picker(grant.client, params, missing=True), 422
        log.info("dev_oidc.logged_in", client=request.form.get("client_id", ""))
        return _response(server.create_authorization_response(grant=grant, grant_user=account))

    @app.post("/token")
    def token() -> ResponseReturnValue:
        return _response(server.create_token_response())

    # The picker's form posts here and is redirected on to the client: allow those origins.
    origins = sorted({_origin(u) for c in clients.values() for u in c.redirect_uris})
    policy = CONTENT_SECURITY_POLICY.replace(
        "form-action 'self'", "form-action 'self' " + " ".join(origins)
    )

    @app.after_request
    def headers(response: Response) -> Response:
        response.headers["Content-Security-Policy"] = policy
        return add_headers(response)

    return app


def _response(value: object) -> Response:
    """Authlib's Flask server answers with a Flask Response (untyped there)."""
    assert isinstance(value, Response)
    return value


def _origin(uri: str) -> str:
    """The origin a redirect URI allows; on loopback any port (as the redirect check does)."""
    parts = urlsplit(uri)
    if parts.port is None and parts.hostname in ("127.0.0.1", "localhost"):
        return f"{parts.scheme}://{parts.hostname}:*"
    return f"{parts.scheme}://{parts.netloc}"


_AUTHORIZE_PARAMS = (
    "client_id",
    "redirect_uri",
    "response_type",
    "scope",
    "state",
    "nonce",
    "code_challenge",
    "code_challenge_method",
)


@dataclass
class DevOidcService:
    """The provider on its own HTTPS port; start() binds and returns the port."""

    config: DevOidcConfig
    provider: Provider
    server: HttpsServer
    port: int = 0

    @property
    def issuer(self) -> str:
        return self.provider.signing.issuer

    def start(self) -> int:
        self.port = self.server.start()
        host = self.config.listen.rpartition(":")[0]
        self.provider.signing.issuer = self.config.issuer or f"https://{host}:{self.port}"
        if self.config.port_file is not None:
            tmp = self.config.port_file.with_name(f".{self.config.port_file.name}.{os.getpid()}")
            tmp.write_text(f"{self.port}\n")
            os.replace(tmp, self.config.port_file)
        log.info("service.started", address=self.issuer, role=ROLE)
        return self.port

    def stop(self, grace: float = 0.0) -> None:
        log.info("service.stopping", role=ROLE)
        self.server.stop()


def build(config: DevOidcConfig) -> DevOidcService:
    clients = {
        c.client_id: Client(
            c.client_id,
            read_secret(c.client_secret_file, "dev_oidc.clients.client_secret_file"),
            c.redirect_uris,
            c.accounts,
        )
        for c in config.clients
    }
    provider = Provider(
        clients, staff=tuple(staff.StaffAccount(m.id, m.role) for m in config.staff)
    )
    server = HttpsServer(
        create_app(provider), config.listen, config.cert, config.key, name="dev_oidc"
    )
    return DevOidcService(config, provider, server)
