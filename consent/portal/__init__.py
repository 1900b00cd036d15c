"""The resident portal: server-rendered Dutch pages, served over HTTPS by the consent service.

Flask and Jinja2 on cheroot (TLS in the server itself), no JavaScript, server-side sessions.
Residents log in with OpenID Connect (code flow with PKCE, via Authlib); the portal turns the
token's citizen numbers into person pseudonyms at the pseudonymisation service and keeps only
those. Modules:

    app            the Flask app: blueprints, sessions, CSRF, headers, error pages
    auth           start page, login through the provider, logout
    pages          Overzicht, Voorkeur regiehouder, Bezwaar, Berichten
    consent_page   Toestemming
    forms          form fields to requests, with Dutch messages per field
    texts          every plain-Dutch label
    identity       ID token claims to consent.model Actor (via the pseudonymisation service)
    oidc           the OpenID Connect client (Authlib)
    sessions       server-side sessions with an idle time-out
    household      HouseholdInfoSource: what the hub holds; HubRecords: what the hub must know
    hub_client     the hub's ResidentService ([consent.portal.hub]): both of the above
    notices        polls the hub for statute-based signals and tells the residents concerned
    records/store  preferences, objections, inbox messages and mail, in their own tables
    inbox          notify_statute_signal: a portal message and a record for the mail channel
    wiring/server  building and serving it; dev_oidc: the development login provider

Run it locally (after `seinhuis keys init DIR ...` made a development CA in DIR/ca and a
pseudonymisation service runs on 127.0.0.1:PORT):

    seinhuis consent init-dev DIR/portal --ca DIR/ca --pseudonym 127.0.0.1:PORT
    seinhuis consent dev-oidc serve --config DIR/portal/dev-oidc/dev-oidc.toml
    seinhuis consent serve --config DIR/portal/consent/consent.toml
    # then https://127.0.0.1:8443/ (the certificate is from the development CA)
"""
