"""Logging in with OpenID Connect: authorization code flow with PKCE, via Authlib.

Authlib's Flask client keeps state, nonce and the PKCE verifier in the (server-side) session,
exchanges the code at the token endpoint with the client secret, and validates the ID token:
its signature against the provider's published keys, the issuer (as configured here, not as
the provider's metadata says), the audience (our client id), the nonce and the expiry.
The resident portal logs residents in with it, the dashboard municipal staff.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import requests
from authlib.integrations.base_client import OAuthError  # type: ignore[import-untyped]
from authlib.integrations.flask_client import (  # type: ignore[import-untyped]
    FlaskOAuth2App,
    OAuth,
)
from authlib.integrations.requests_client import OAuth2Session  # type: ignore[import-untyped]
from flask import Flask, Response
from joserfc.errors import JoseError

from seinhuis.errors import Unavailable

#: Seconds of clock difference tolerated on the token's times.
LEEWAY_S = 30
TIMEOUT_S = 10.0


class LoginCancelled(Exception):
    """The user stopped at the provider (access_denied)."""


class LoginRefused(Exception):
    """The provider's answer or the token's claims cannot log anyone in; `reason` is a code
    for the log."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class OidcClientConfig(Protocol):
    """Where an app logs people in: the provider and our client there."""

    @property
    def issuer(self) -> str: ...

    @property
    def client_id(self) -> str: ...

    #: Trust anchor for the provider's HTTPS; None: the system's trust store.
    @property
    def ca_cert(self) -> Path | None: ...


class _Session(OAuth2Session):  # type: ignore[misc]
    """Trusts the configured CA only: requests would let REQUESTS_CA_BUNDLE and proxy settings
    from the environment override it."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.trust_env = False


class _Client(FlaskOAuth2App):  # type: ignore[misc]
    client_cls = _Session


@dataclass(frozen=True)
class OidcSettings:
    config: OidcClientConfig
    client_secret: str


class OidcLogin:
    """An app's OpenID Connect client, registered on one Flask app under `name` (the session
    keys of a login in progress carry it)."""

    def __init__(self, app: Flask, settings: OidcSettings, *, name: str = "digid") -> None:
        config = settings.config
        self._config = config
        oauth = OAuth(app)
        self._client = oauth.register(
            name,
            client_cls=_Client,
            client_id=config.client_id,
            client_secret=settings.client_secret,
            server_metadata_url=f"{config.issuer}/.well-known/openid-configuration",
            client_kwargs={
                "scope": "openid",
                "code_challenge_method": "S256",
                "token_endpoint_auth_method": "client_secret_basic",
                "verify": str(config.ca_cert) if config.ca_cert else True,
                "default_timeout": TIMEOUT_S,
            },
        )

    def redirect(self, redirect_uri: str) -> Response:
        """Send the browser to the provider; state, nonce and verifier go into the session."""
        try:
            response: Response = self._client.authorize_redirect(redirect_uri)
        except requests.RequestException as exc:
            raise Unavailable("the identity provider cannot be reached") from exc
        return response

    def finish(self) -> Mapping[str, Any]:
        """On the callback: the validated ID token's claims.

        Raises LoginCancelled, LoginRefused (with a reason code) or Unavailable.
        """
        options = {
            "iss": {"essential": True, "value": self._config.issuer},
            "aud": {"essential": True, "value": self._config.client_id},
            "exp": {"essential": True},
            "sub": {"essential": True},
        }
        try:
            token = self._client.authorize_access_token(claims_options=options, leeway=LEEWAY_S)
        except OAuthError as exc:
            if exc.error == "access_denied":
                raise LoginCancelled() from None
            raise LoginRefused(f"oidc.{exc.error or 'error'}") from None
        except JoseError as exc:
            raise LoginRefused(f"id_token.{exc.error}") from None
        except requests.RequestException as exc:
            raise Unavailable("the identity provider cannot be reached") from exc
        claims = token.get("userinfo")
        if not claims:
            raise LoginRefused("id_token.missing")
        return dict(claims)
