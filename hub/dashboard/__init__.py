"""The staff dashboard: server-rendered Dutch pages over HTTPS, on the hub's own database.

Municipal staff log in with OpenID Connect (seinhuis.web.oidc); the token's claim names a member
of the hub's staff registry (hub/staff.py), whose role decides what they see, by the operator
interface's rules (hub/operator/views.py). No JavaScript; charts are SVG drawn on the server,
each with a table of the same figures. Modules:

    config     the [hub.dashboard] table of hub.toml
    wiring     building it from hub.toml; `seinhuis hub dashboard --config hub.toml` serves it
    app        the Flask app: sessions, CSRF, security headers, error pages
    context    what the page handlers share: collaborators, the logged-in member, rendering
    auth       start page, login through the provider, logout
    identity   ID token claims to a member of staff (pure)
    pages      Cijfers (figures) and Escalaties (escalated cases)
    desk       the audited reads: every page view is an entry in the hub's audit log
    escalated  which escalated cases a member sees, without identities (pure)
    sections   the figures page as sections of charts and tables (pure)
    charts     SVG chart geometry (pure)
    texts      every Dutch label
    devsetup   certificates, secrets and a development login provider for tests and the demo

The figures themselves come from hub.figures (pure aggregation and disclosure control) over
the store's aggregated reads (HubStore.signal_tallies, HubStore.case_facts).
"""
