"""The consent part of `seinhuis demo` (issue 5): the consents the scenario's residents gave, and
how to log in to the portal as the demo resident.

The demo records consent the way the portal does (with the portal's certificate, for a person
acting for themselves), for every consent-based signal in the scenario about an adult; the
scenario's children have no consent-based signals. A consent-based signal about an address
alone cannot be consent-checked and is refused by its node (node.consent).
"""

from __future__ import annotations

import datetime as dt

from consent.client import ConsentClient
from consent.model import Cell, Decision, GrantRequest, Pseudonym, Purpose, Source
from consent.portal.dev_oidc.residents import by_key
from consent.representation import Actor
from node.identifiers import Bsn
from pseudonym.client import PseudonymClient
from seinhuis import catalogue as catalogue_module
from seinhuis.network import Layout
from seinhuis.scenario import Scenario
from seinhuis.transport import TlsFiles
from seinhuis.vocabulary import IdentifierKind, LegalBasis, LifeDomain, PartnerType, SignalType

#: The development provider's resident who is the mother of the scenario's family A.
DEMO_RESIDENT = "marieke"
#: From this age a person decides about consent alone (consent.representation).
ADULT = 16


def _age(born: dt.date, today: dt.date) -> int:
    return today.year - born.year - ((today.month, today.day) < (born.month, born.day))


def _portal_tls(layout: Layout) -> TlsFiles:
    folder = layout.consent_dir / "portal"
    return TlsFiles(layout.root / "ca" / "ca.crt", folder / "tls.crt", folder / "tls.key")


def grant_scenario_consents(
    layout: Layout, scenario: Scenario, *, consent_port: int, pseudonym_port: int
) -> int:
    """Record each adult's consent for the consent-based signals the scenario has about them;
    how many consents were recorded."""
    catalogue = catalogue_module.load()
    today = dt.date.today()
    wanted: dict[tuple[str, PartnerType, LifeDomain], int] = {}
    for s in scenario.signals:
        rule = catalogue.rule(SignalType(s["type"]))
        if rule.legal_basis is not LegalBasis.TOESTEMMING or "about" not in s:
            continue
        person = scenario.people[s["about"]]
        born = dt.date.fromisoformat(str(person["birth_date"]))
        age = _age(born, today)
        if age >= ADULT:
            kind = PartnerType(scenario.nodes[s["node"]])
            wanted[(str(person["bsn"]), kind, rule.life_domain)] = age
    if not wanted:
        return 0
    tls = _portal_tls(layout)
    numbers = sorted({bsn for bsn, _, _ in wanted})
    with PseudonymClient(f"127.0.0.1:{pseudonym_port}", tls, server_name="pseudonym") as client:
        version, values = client.pseudonymize(
            IdentifierKind.PERSON, [Bsn(n).oprf_input for n in numbers]
        )
    pseudonym = {n: Pseudonym(v, version) for n, v in zip(numbers, values, strict=True)}
    with ConsentClient(f"127.0.0.1:{consent_port}", tls, server_name="consent") as registry:
        for (bsn, kind, domain), age in sorted(wanted.items()):
            subject = pseudonym[bsn]
            registry.grant(
                Actor(subject, age, ()),
                GrantRequest(
                    Cell(subject, Source.category(kind), domain, Purpose.SIGNALERING),
                    Decision.PERMIT,
                ),
            )
    return len(wanted)


def portal_lines(portal_port: int) -> list[str]:
    """What the demo prints about the portal: its address and how to log in."""
    resident = by_key(DEMO_RESIDENT)
    assert resident is not None
    return [
        f"Resident portal (Dutch): https://127.0.0.1:{portal_port}/",
        "  Log in with the development login provider (Ontwikkel-inlogdienst, no real DigiD):",
        f"  choose '{resident.name}' ({resident.note}).",
        "  Your browser does not know the development CA: trust ca/ca.crt in the demo folder.",
    ]
