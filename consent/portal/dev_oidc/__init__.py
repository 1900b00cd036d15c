"""A development OpenID Connect provider standing in for DigiD (never for production).

It lets a tester pick one of the synthetic demo residents (citizen numbers starting with 999,
which the real BRP never issues) and logs them in with the authorization code flow and PKCE,
returning the claims a DigiD broker with Machtigen/BRP gezag would: sub, bsn, age, children.
Every page it shows says "Ontwikkel-inlogdienst — geen echte DigiD".
"""
