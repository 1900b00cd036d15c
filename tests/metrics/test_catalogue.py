"""Metric labels keep to closed sets; metrics_listen is loopback only and off by default."""

from __future__ import annotations

import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from prometheus_client import generate_latest

from consent import config as consent_config
from hub import config as hub_config
from node import config as node_config
from pseudonym import config as pseudonym_config
from seinhuis import metrics
from seinhuis.errors import ConfigError, InvalidArgument, SeinhuisError, Unauthenticated
from seinhuis.network import METRICS_SETTINGS

TLS = {"ca_cert": "ca.crt", "cert": "tls.crt", "key": "tls.key"}


def sample(name: str, **labels: str) -> float:
    return metrics.REGISTRY.get_sample_value(name, labels) or 0.0


def test_a_label_value_outside_its_closed_set_is_counted_as_other() -> None:
    """A partner id or a pseudonym passed by mistake never becomes a label value."""
    before = sample("seinhuis_hub_signals_stored_total", partner_type="other", signal_type="other")
    metrics.HUB_SIGNALS.labels("ggd-west", "9f86d081884c7d659a2feaa0c55ad015").inc(2)
    after = sample("seinhuis_hub_signals_stored_total", partner_type="other", signal_type="other")
    assert after - before == 2
    text = metrics_text()
    assert "ggd-west" not in text and "9f86d081" not in text


def metrics_text() -> str:
    return generate_latest(metrics.REGISTRY).decode()


class _NotCatalogued(InvalidArgument):
    """A subclass counts as its catalogue class."""


@pytest.mark.parametrize(
    ("error", "reason"),
    [
        (Unauthenticated, "Unauthenticated"),
        (_NotCatalogued, "InvalidArgument"),
        (SeinhuisError, "Internal"),
        (ValueError, "Internal"),
    ],
)
def test_refusal_reasons_are_catalogue_class_names(error: type[Exception], reason: str) -> None:
    assert metrics.reason_of(error) == reason
    assert reason in metrics.CATALOG_REASONS


def test_the_outbox_gauge_reads_its_callback_at_scrape_time() -> None:
    counts = {"pending": 3.0, "delivered": 5.0, "1234AB": 1.0}

    def callback() -> dict[str, float]:
        return counts

    metrics.NODE_OUTBOX.bind(callback)
    try:
        assert sample("seinhuis_node_outbox_messages", state="pending") == 3
        counts["pending"] = 0.0
        assert sample("seinhuis_node_outbox_messages", state="pending") == 0
        assert sample("seinhuis_node_outbox_messages", state="refused") == 0
        assert sample("seinhuis_node_outbox_messages", state="other") == 1
        assert "1234AB" not in metrics_text()
    finally:
        metrics.NODE_OUTBOX.unbind(callback)
    assert (
        metrics.REGISTRY.get_sample_value("seinhuis_node_outbox_messages", {"state": "pending"})
        is None
    )


@pytest.mark.parametrize(
    ("listen", "host", "port"),
    [
        ("127.0.0.1:0", "127.0.0.1", 0),
        ("[::1]:9464", "::1", 9464),
        ("localhost:9100", "localhost", 9100),
    ],
)
def test_metrics_listen_accepts_loopback(listen: str, host: str, port: int) -> None:
    assert metrics.parse_listen(listen) == (host, port)


@pytest.mark.parametrize(
    "listen",
    [
        "0.0.0.0:9100",
        "10.1.2.3:9100",
        "[::]:9100",
        "metrics.example:9100",
        "127.0.0.1",
        ":9100",
        "127.0.0.1:99999",
    ],
)
def test_metrics_listen_refuses_anything_but_loopback_host_port(listen: str) -> None:
    with pytest.raises(ValueError, match="must be"):
        metrics.parse_listen(listen)


def _hub(tmp: Path, **extra: Any) -> Any:
    table = {
        "id": "hub",
        "listen": "127.0.0.1:0",
        "database_url": "memory://",
        "registry": "partners.yaml",
        "sealing_keys": ["sealing.key"],
        "tls": TLS,
    }
    return hub_config.from_dict({"hub": table | extra}, base=tmp)


def _node(tmp: Path, **extra: Any) -> Any:
    table = {
        "partner_id": "ggd-demo",
        "partner_type": "GGD",
        "database": "node.db",
        "signing_key": "signing.key",
        "cache_key": "cache.key",
        "hub": {"target": "127.0.0.1:1", "server_name": "hub", "sealing_public": "hub.pub"},
        "pseudonym": {"target": "127.0.0.1:2", "server_name": "pseudonym"},
        "tls": TLS,
    }
    return node_config.from_dict({"node": table | extra}, base=tmp)


def _pseudonym(tmp: Path, **extra: Any) -> Any:
    table = {
        "keyring": "keyring",
        "audit_database": "audit.db",
        "partners": "partners.yaml",
        "tls": TLS,
    }
    return pseudonym_config.from_mapping(
        {"pseudonym": table | extra}, base=tmp, source=tmp / "pseudonym.toml"
    )


def _consent(tmp: Path, **extra: Any) -> Any:
    table = {"signing_key": "receipt.key", "partners": "partners.yaml", "tls": TLS}
    return consent_config.from_mapping(
        {"consent": table | extra}, base=tmp, source=tmp / "consent.toml"
    )


LOADERS: dict[str, Callable[..., Any]] = {
    "hub": _hub,
    "node": _node,
    "pseudonym": _pseudonym,
    "consent": _consent,
}


@pytest.mark.parametrize("service", sorted(LOADERS))
def test_every_service_has_metrics_off_unless_configured(service: str, tmp_path: Path) -> None:
    config = LOADERS[service](tmp_path)
    assert config.metrics_listen == ""
    assert config.metrics_port_file is None
    on = LOADERS[service](tmp_path, metrics_listen="127.0.0.1:0", metrics_port_file="metrics.port")
    assert on.metrics_listen == "127.0.0.1:0"
    assert on.metrics_port_file == tmp_path / "metrics.port"


@pytest.mark.parametrize("service", sorted(LOADERS))
def test_every_service_refuses_metrics_beyond_loopback(service: str, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=rf"{service}\.metrics_listen: must be a loopback"):
        LOADERS[service](tmp_path, metrics_listen="0.0.0.0:9464")


def test_the_exporter_writes_its_port_and_is_off_without_listen(tmp_path: Path) -> None:
    assert metrics.Exporter("").start() == 0
    exporter = metrics.Exporter("127.0.0.1:0", tmp_path / "metrics.port")
    port = exporter.start()
    try:
        assert port > 0
        assert int((tmp_path / "metrics.port").read_text()) == port
        taken = metrics.Exporter(f"127.0.0.1:{port}")
        with pytest.raises(ConfigError, match="metrics_listen: cannot bind"):
            taken.start()
    finally:
        exporter.stop()


def test_the_toml_of_a_local_network_turns_metrics_on() -> None:
    assert tomllib.loads(METRICS_SETTINGS) == {
        "metrics_listen": "127.0.0.1:0",
        "metrics_port_file": "metrics.port",
    }
