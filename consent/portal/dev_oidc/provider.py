"""The development provider's OpenID Connect server, on Authlib's server components.

Authorization code flow only, PKCE (S256) and a nonce required, confidential clients with
client_secret_basic, ID tokens signed with a fresh ES256 key per start (published at
/jwks.json; a restarted provider has a new key id, which makes relying parties fetch again).
Codes live a minute and in memory; there is no userinfo endpoint: the ID token says it all.
"""

from __future__ import annotations

import hmac
import threading
import time
from dataclasses import dataclass, field
from typing import Any, ClassVar
from urllib.parse import urlsplit

from authlib.oauth2.rfc6749 import (  # type: ignore[import-untyped]
    ClientMixin,
    InvalidRequestError,
)
from authlib.oauth2.rfc6749.grants import (  # type: ignore[import-untyped]
    AuthorizationCodeGrant,
)
from authlib.oauth2.rfc7636 import CodeChallenge  # type: ignore[import-untyped]
from authlib.oidc.core import UserInfo  # type: ignore[import-untyped]
from authlib.oidc.core.grants import OpenIDCode  # type: ignore[import-untyped]
from joserfc.jwk import ECKey

from consent.portal.dev_oidc.residents import Resident
from consent.portal.dev_oidc.staff import StaffAccount

#: Whom a token is about: a synthetic resident or a synthetic member of staff.
Account = Resident | StaffAccount

#: Seconds an authorization code and an ID token stay valid.
CODE_LIFETIME_S = 60
ID_TOKEN_LIFETIME_S = 300
SCOPES = ("openid",)
_LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})


@dataclass(frozen=True)
class Client(ClientMixin):  # type: ignore[misc]
    client_id: str
    secret: str = field(repr=False)
    redirect_uris: tuple[str, ...]
    #: "residents" (the portal) or "staff" (the dashboard): whom the picker offers.
    accounts: str = "residents"

    def get_client_id(self) -> str:
        return self.client_id

    def get_default_redirect_uri(self) -> str:
        return self.redirect_uris[0]

    def get_allowed_scope(self, scope: str) -> str:
        return " ".join(s for s in scope.split() if s in SCOPES)

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        return any(_redirect_matches(r, redirect_uri) for r in self.redirect_uris)

    def check_client_secret(self, client_secret: str) -> bool:
        return hmac.compare_digest(self.secret.encode(), client_secret.encode())

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        return endpoint != "token" or method == "client_secret_basic"

    def check_response_type(self, response_type: str) -> bool:
        return response_type == "code"

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type == "authorization_code"


def _redirect_matches(registered: str, given: str) -> bool:
    """Exact match; on loopback hosts any port (RFC 8252 section 7.3)."""
    if registered == given:
        return True
    r, g = urlsplit(registered), urlsplit(given)
    same = (r.scheme, r.hostname, r.path, r.query) == (g.scheme, g.hostname, g.path, g.query)
    return same and r.hostname in _LOOPBACK and r.port is None


@dataclass(frozen=True)
class AuthorizationCode:
    code: str
    client_id: str
    redirect_uri: str
    scope: str
    user: Account
    nonce: str
    code_challenge: str
    code_challenge_method: str
    auth_time: int
    expires_at: float

    def get_redirect_uri(self) -> str:
        return self.redirect_uri

    def get_scope(self) -> str:
        return self.scope

    def get_nonce(self) -> str:
        return self.nonce

    def get_auth_time(self) -> int:
        return self.auth_time

    def get_acr(self) -> str | None:
        return None

    def get_amr(self) -> list[str] | None:
        return None


class CodeStore:
    """Issued, unused authorization codes (and the nonces they carry), in memory."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._codes: dict[str, AuthorizationCode] = {}

    def add(self, code: AuthorizationCode) -> None:
        with self._lock:
            now = time.time()
            for stale in [c for c, v in self._codes.items() if v.expires_at < now]:
                del self._codes[stale]
            self._codes[code.code] = code

    def take(self, code: str, client_id: str) -> AuthorizationCode | None:
        with self._lock:
            found = self._codes.get(code)
        if found is None or found.client_id != client_id or found.expires_at < time.time():
            return None
        return found

    def delete(self, code: str) -> None:
        with self._lock:
            self._codes.pop(code, None)

    def nonce_used(self, client_id: str, nonce: str) -> bool:
        with self._lock:
            return any(c.client_id == client_id and c.nonce == nonce for c in self._codes.values())


@dataclass
class Signing:
    """The provider's ID token key, and the issuer its tokens name (known once bound)."""

    key: ECKey = field(default_factory=lambda: ECKey.generate_key("P-256", private=True))
    issuer: str = ""

    @property
    def kid(self) -> str:
        return str(self.key.thumbprint())

    def jwks(self) -> dict[str, Any]:
        public = self.key.as_dict(private=False)
        return {"keys": [public | {"kid": self.kid, "use": "sig", "alg": "ES256"}]}


def code_grant(codes: CodeStore) -> type[AuthorizationCodeGrant]:
    class Grant(AuthorizationCodeGrant):  # type: ignore[misc]
        TOKEN_ENDPOINT_AUTH_METHODS: ClassVar = ["client_secret_basic"]

        def save_authorization_code(self, code: str, request: Any) -> None:
            data = request.payload.data
            codes.add(
                AuthorizationCode(
                    code=code,
                    client_id=request.client.client_id,
                    redirect_uri=request.payload.redirect_uri,
                    scope=request.scope,
                    user=request.user,
                    nonce=data.get("nonce", ""),
                    code_challenge=data.get("code_challenge", ""),
                    code_challenge_method=data.get("code_challenge_method", ""),
                    auth_time=int(time.time()),
                    expires_at=time.time() + CODE_LIFETIME_S,
                )
            )

        def query_authorization_code(self, code: str, client: Client) -> AuthorizationCode | None:
            return codes.take(code, client.client_id)

        def delete_authorization_code(self, authorization_code: AuthorizationCode) -> None:
            codes.delete(authorization_code.code)

        def authenticate_user(self, authorization_code: AuthorizationCode) -> Account:
            return authorization_code.user

    return Grant


class S256Only(CodeChallenge):  # type: ignore[misc]
    """PKCE for every client, confidential ones too, and only with S256 (as OAuth 2.1 has it)."""

    SUPPORTED_CODE_CHALLENGE_METHOD: ClassVar = ["S256"]
    DEFAULT_CODE_CHALLENGE_METHOD = "S256"

    def validate_code_challenge(self, grant: Any, redirect_uri: str) -> None:
        data = grant.request.payload.data
        if not data.get("code_challenge") or data.get("code_challenge_method") != "S256":
            raise InvalidRequestError("PKCE with code_challenge_method=S256 is required")
        super().validate_code_challenge(grant, redirect_uri)


class IdTokens(OpenIDCode):  # type: ignore[misc]
    """Signs ID tokens carrying the resident's claims (DigiD plus Machtigen/BRP gezag)."""

    def __init__(self, signing: Signing, codes: CodeStore) -> None:
        super().__init__(require_nonce=True)
        self._signing = signing
        self._codes = codes

    def resolve_client_private_key(self, client: Client) -> ECKey:
        return self._signing.key

    def get_client_algorithm(self, client: Client) -> str:
        return "ES256"

    def get_encode_header(self, client: Client) -> dict[str, str]:
        return {"alg": "ES256", "kid": self._signing.kid}

    def get_client_claims(self, client: Client) -> dict[str, Any]:
        return {
            "iss": self._signing.issuer,
            "aud": [client.client_id],
            "exp": int(time.time()) + ID_TOKEN_LIFETIME_S,
        }

    def exists_nonce(self, nonce: str, request: Any) -> bool:
        return self._codes.nonce_used(request.payload.client_id, nonce)

    def generate_user_info(self, user: Account, scope: str) -> UserInfo:
        return UserInfo(user.claims())


@dataclass
class Provider:
    """The provider's state: its clients, ID token key, issued codes and token maker, and the
    synthetic staff its "staff" clients offer."""

    clients: dict[str, Client]
    staff: tuple[StaffAccount, ...] = ()
    signing: Signing = field(default_factory=Signing)
    codes: CodeStore = field(default_factory=CodeStore)

    def __post_init__(self) -> None:
        self.tokens = IdTokens(self.signing, self.codes)
