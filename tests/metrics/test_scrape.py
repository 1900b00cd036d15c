"""Every service serves Prometheus metrics that move with real traffic and name nobody.

Starts the pseudonymisation service, the hub, the consent registry and a school's node as
processes (metrics on loopback, as seinhuis.network lays them out), sends a signal through the
node and a refused envelope straight to the hub, asks the consent registry, and scrapes each
service's /metrics over HTTP before and after.
"""

from __future__ import annotations

import base64
import os
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from prometheus_client.parser import text_string_to_metric_families

from pseudonym.client import PseudonymClient
from seinhuis.keys_cli import PartnerSpec
from seinhuis.network import Running
from seinhuis.v1 import (
    consent_pb2,
    consent_pb2_grpc,
    envelope_pb2,
    intake_pb2,
    intake_pb2_grpc,
    node_pb2,
    node_pb2_grpc,
    vocabulary_pb2,
)
from seinhuis.vocabulary import IdentifierKind, PartnerType
from tests.security.launch import BSNS, Services, local_school_signal, start_services, wait_for

SCHOOL = PartnerSpec("school-metrics", PartnerType.SCHOOL)
WOCO = PartnerSpec("woco-metrics", PartnerType.WONINGCORPORATIE)
POSTCODE, HOUSE = "3511 AB", 7

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def scrape_text(run: Running) -> str:
    with urllib.request.urlopen(run.metrics_url, timeout=10) as response:  # noqa: S310 - loopback
        assert response.status == 200
        return str(response.read().decode())


def samples(run: Running) -> Samples:
    """Every sample of a service's /metrics: (name, labels) -> value."""
    found: Samples = {}
    for family in text_string_to_metric_families(scrape_text(run)):
        for s in family.samples:
            found[s.name, frozenset(s.labels.items())] = s.value
    return found


def value(found: Samples, name: str, **labels: str) -> float:
    """The sum of the samples of `name` whose labels include `labels` (0 when none)."""
    wanted = set(labels.items())
    return sum(v for (n, ls), v in found.items() if n == name and wanted <= ls)


@pytest.fixture(scope="module")
def net(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Services]:
    services = start_services(
        tmp_path_factory.mktemp("metrics") / "net", [SCHOOL, WOCO], nodes=(SCHOOL.id,), consent=True
    )
    yield services
    services.stop()


@dataclass
class Traffic:
    """Scrapes of every service before and after, and the identifiers the traffic involved."""

    scrapes: dict[str, tuple[Samples, Samples]]
    identifiers: dict[str, bytes]

    def moved(self, service: str, name: str, **labels: str) -> float:
        before, after = self.scrapes[service]
        return value(after, name, **labels) - value(before, name, **labels)

    def now(self, service: str, name: str, **labels: str) -> float:
        return value(self.scrapes[service][1], name, **labels)


@pytest.fixture(scope="module")
def traffic(net: Services) -> Traffic:
    """One accepted signal, one refused envelope and one consent check, scraped around."""
    runs = {"hub": net.hub, "pseudonym": net.pseudonym, "node": net.nodes[SCHOOL.id]}
    assert net.consent is not None
    runs["consent"] = net.consent
    before = {name: samples(run) for name, run in runs.items()}

    node = node_pb2_grpc.NodeServiceStub(net.channel(net.nodes[SCHOOL.id], None, ""))
    signal_id = node.SubmitSignal(
        local_school_signal(BSNS[0], postcode=POSTCODE, house=HOUSE), timeout=30
    ).id
    wait_for(
        "the signal to be delivered",
        lambda: (
            node.GetSignalStatus(node_pb2.GetSignalStatusRequest(id=signal_id), timeout=10).state
            == node_pb2.DELIVERY_STATE_DELIVERED
        ),
    )

    # An envelope the hub cannot open: refused as UNAUTHENTICATED, nothing stored.
    intake = intake_pb2_grpc.IntakeServiceStub(
        net.channel(net.hub, net.partner_tls(WOCO.id), "hub")
    )
    garbage = envelope_pb2.SealedEnvelope(hub_key_id=os.urandom(8), sealed=os.urandom(200))
    with pytest.raises(Exception, match="UNAUTHENTICATED"):
        intake.Submit(intake_pb2.SubmitRequest(envelope=garbage), timeout=10)

    # A consent check for a person nobody asked consent from: DENY.
    consent = consent_pb2_grpc.ConsentServiceStub(
        net.channel(runs["consent"], net.partner_tls(SCHOOL.id), "consent")
    )
    with PseudonymClient(
        net.pseudonym.address, net.partner_tls(SCHOOL.id), server_name="pseudonym"
    ) as client:
        version, (person,) = client.pseudonymize(IdentifierKind.PERSON, [f"bsn:{BSNS[0]}".encode()])
    answer = consent.Check(
        consent_pb2.CheckRequest(
            subject=consent_pb2.ConsentPerson(pseudonym=person, key_version=version),
            partner_id=SCHOOL.id,
            partner_type=vocabulary_pb2.PARTNER_TYPE_SCHOOL,
            life_domain=vocabulary_pb2.LIFE_DOMAIN_LEREN,
            purpose=consent_pb2.PURPOSE_SIGNALERING,
        ),
        timeout=10,
    )
    assert answer.decision == consent_pb2.CONSENT_DECISION_DENY

    after = {name: samples(run) for name, run in runs.items()}
    stored = net.hub_store().get_signal(signal_id)
    assert stored is not None
    signal = stored.received.signal
    return Traffic(
        scrapes={name: (before[name], after[name]) for name in runs},
        identifiers={
            "message id": signal_id,
            "person pseudonym": signal.person_pseudonym or b"",
            "address pseudonym": signal.address_pseudonym,
            "consent subject": person,
        },
    )


def test_the_hub_counts_the_stored_signal_by_partner_type_and_signal_type(
    traffic: Traffic,
) -> None:
    assert (
        traffic.moved(
            "hub",
            "seinhuis_hub_signals_stored_total",
            partner_type="SCHOOL",
            signal_type="SCHOOLVERZUIM",
        )
        == 1
    )
    assert traffic.moved("hub", "seinhuis_hub_intake_to_store_seconds_count") >= 1
    assert (
        traffic.moved(
            "hub",
            "seinhuis_grpc_server_handled_total",
            grpc_service="seinhuis.v1.IntakeService",
            grpc_method="SubmitStream",
            grpc_code="OK",
        )
        >= 1
    )


def test_the_hub_counts_the_refused_envelope_by_code_and_reason(
    traffic: Traffic,
) -> None:
    refused = {
        "partner_type": "WONINGCORPORATIE",
        "grpc_code": "UNAUTHENTICATED",
        "reason": "Unauthenticated",
    }
    assert traffic.moved("hub", "seinhuis_hub_envelopes_refused_total", **refused) == 1
    assert (
        traffic.moved(
            "hub",
            "seinhuis_grpc_server_handled_total",
            grpc_method="Submit",
            grpc_code="UNAUTHENTICATED",
        )
        == 1
    )
    assert (
        traffic.moved(
            "hub",
            "seinhuis_grpc_server_handling_seconds_count",
            grpc_method="Submit",
        )
        == 1
    )
    # Nothing from the refused partner was stored.
    assert (
        traffic.moved("hub", "seinhuis_hub_signals_stored_total", partner_type="WONINGCORPORATIE")
        == 0
    )


def test_the_node_shows_its_outbox_and_delivery_latency(
    traffic: Traffic,
) -> None:
    assert traffic.now("node", "seinhuis_node_outbox_messages", state="delivered") == 1
    assert traffic.now("node", "seinhuis_node_outbox_messages", state="pending") == 0
    assert traffic.now("node", "seinhuis_node_outbox_messages", state="refused") == 0
    assert (
        traffic.moved("node", "seinhuis_node_delivery_batch_seconds_count", outcome="answered") >= 1
    )
    assert (
        traffic.moved(
            "node",
            "seinhuis_grpc_server_handled_total",
            grpc_method="SubmitSignal",
            grpc_code="OK",
        )
        == 1
    )


def test_the_pseudonymisation_service_counts_queries_by_kind(
    traffic: Traffic,
) -> None:
    for kind in ("PERSON", "ADDRESS"):
        assert (
            traffic.moved(
                "pseudonym",
                "seinhuis_pseudonym_queries_total",
                operation="evaluate",
                kind=kind,
                outcome="OK",
            )
            >= 1
        )
        assert (
            traffic.moved("pseudonym", "seinhuis_pseudonym_elements_evaluated_total", kind=kind)
            >= 1
        )


def test_the_consent_registry_counts_checks_by_decision(
    traffic: Traffic,
) -> None:
    assert traffic.moved("consent", "seinhuis_consent_checks_total", decision="DENY") == 1
    assert traffic.moved("consent", "seinhuis_consent_checks_total", decision="PERMIT") == 0


def _forms(raw: bytes) -> set[str]:
    return {
        raw.hex(),
        raw.hex().upper(),
        base64.b64encode(raw).decode(),
        base64.urlsafe_b64encode(raw).decode().rstrip("="),
    }


def test_no_scrape_names_a_person_an_address_a_pseudonym_or_a_partner(
    net: Services, traffic: Traffic
) -> None:
    forbidden = {BSNS[0], POSTCODE, POSTCODE.replace(" ", ""), SCHOOL.id, WOCO.id}
    for raw in traffic.identifiers.values():
        forbidden |= _forms(raw)
    assert net.consent is not None
    for run in (net.hub, net.pseudonym, net.consent, *net.nodes.values()):
        text = scrape_text(run)
        found = sorted(f for f in forbidden if f in text)
        assert not found, f"{run.name}'s /metrics shows {found}"


def test_metrics_are_served_at_metrics_only(net: Services) -> None:
    url = net.hub.metrics_url.replace("/metrics", "/elsewhere")
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(url, timeout=10)  # noqa: S310 - loopback
    refused.value.close()
    assert refused.value.code == 404
