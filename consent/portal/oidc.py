"""Logging residents in with OpenID Connect (seinhuis.web.oidc: code flow with PKCE, via
Authlib, shared with the dashboard). The portal's configuration is consent.config.OidcConfig."""

from __future__ import annotations

from seinhuis.web.oidc import LEEWAY_S, TIMEOUT_S, LoginCancelled, OidcLogin, OidcSettings

__all__ = ["LEEWAY_S", "TIMEOUT_S", "LoginCancelled", "OidcLogin", "OidcSettings"]
