"""Building blocks for the Dutch web pages Seinhuis serves: the resident portal
(consent/portal/) and the hub's dashboard for municipal staff (hub/dashboard/).

    server    an HTTPS server for a WSGI app (cheroot, TLS in the server itself)
    sessions  server-side sessions with an idle time-out; the cookie holds a signed random id
    security  CSRF tokens on every form, and the headers every page carries (no scripts)
    app       the Flask set-up, request guard and error pages both applications share
    oidc      logging in with OpenID Connect (code flow with PKCE, via Authlib)
    secrets   session and client secrets in files, and a certificate's common name
"""
