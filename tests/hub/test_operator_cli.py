"""Onboarding staff (`seinhuis keys add-staff`), the staff registry, the operator client config,
and `seinhuis hub audit verify` naming the first broken entry of a tampered database."""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.x509.oid import NameOID

from hub import staff as staff_module
from hub.audit import ActorRole, AuditAction, AuditDraft
from hub.operator import config as operator_config
from hub.operator.cli import render_list, render_looks
from hub.registry import Partner, Registry
from hub.store import SqlHubStore
from seinhuis.cli import main
from seinhuis.errors import ConfigError
from seinhuis.keys_cli import PartnerSpec, init_network_keys
from seinhuis.vocabulary import PartnerType


def test_add_staff_issues_a_certificate_lists_the_member_and_writes_a_client_config(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    init_network_keys(tmp_path, [PartnerSpec("ggd-west", PartnerType.GGD)])
    assert main(["keys", "add-staff", str(tmp_path), "anna", "--role", "procesregisseur"]) == 0
    assert "procesregisseur" in capsys.readouterr().out
    folder = tmp_path / "staff" / "anna"
    cert = x509.load_pem_x509_certificate((folder / "tls.crt").read_bytes())
    [cn] = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    assert cn.value == "anna.staff"
    registry = staff_module.load(tmp_path / "hub" / "staff.yaml")
    member = registry.by_certificate_cn("anna.staff")
    assert member is not None and member.role is staff_module.StaffRole.PROCESREGISSEUR
    config = operator_config.load(folder / "operator.toml")
    assert config.hub == "127.0.0.1:50051" and config.tls.cert == folder / "tls.crt"
    assert config.tls.ca_cert.resolve() == (tmp_path / "ca" / "ca.crt").resolve()
    # Once only; a role that does not exist is refused before anything is written.
    assert main(["keys", "add-staff", str(tmp_path), "anna", "--role", "operator"]) == 2
    with pytest.raises(SystemExit):
        main(["keys", "add-staff", str(tmp_path), "bob", "--role", "burgemeester"])
    assert not (tmp_path / "staff" / "bob").exists()


def test_the_staff_registry_is_validated_and_kept_apart_from_partners(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"staff\.0\.role"):
        staff_module.from_dict({"staff": [{"id": "anna", "role": "KING", "certificate_cn": "a"}]})
    twice = {
        "staff": [
            {"id": "anna", "role": "OPERATOR", "certificate_cn": "x"},
            {"id": "bob", "role": "OPERATOR", "certificate_cn": "x"},
        ]
    }
    with pytest.raises(ConfigError, match="used by another member"):
        staff_module.from_dict(twice)
    clash = staff_module.from_dict(
        {"staff": [{"id": "anna", "role": "OPERATOR", "certificate_cn": "ggd-west"}]}
    )
    partners = Registry(
        "hub", {"ggd-west": Partner("ggd-west", PartnerType.GGD, "ggd-west", keys=())}
    )
    with pytest.raises(ConfigError, match="also a partner's certificate name"):
        clash.check_apart_from(partners)
    assert staff_module.load(None).members == {}


def test_an_operator_config_names_the_key_that_is_wrong(tmp_path: Path) -> None:
    path = tmp_path / "operator.toml"
    path.write_text('[operator]\nhub = "x:1"\nport = 3\n[operator.tls]\nca_cert = "a"\n')
    with pytest.raises(ConfigError, match=r"operator\.port: unknown key"):
        operator_config.load(path)
    path.write_text('[operator]\nhub = "x:1"\n[operator.tls]\nca_cert = "a"\ncert = "b"\n')
    with pytest.raises(ConfigError, match=r"operator\.tls\.key"):
        operator_config.load(path)


def test_listings_are_aligned_tables_in_dutch() -> None:
    cases = [
        {
            "case": "C-0123456789abcdef0123",
            "status": "ESCALATED",
            "deadline": "2026-11-30",
            "regiehouder": "sociaal-noord",
            "escalation": "PROCESREGISSEUR",
            "escalation_rule": "multi_complex",
            "outcome": None,
        },
        {
            "case": "C-ffffffffffffffffffff",
            "status": "CLOSED",
            "deadline": None,
            "regiehouder": None,
            "escalation": "NONE",
            "escalation_rule": None,
            "outcome": "NO_CONTACT",
        },
    ]
    lines = render_list(cases).splitlines()
    assert lines[0].split() == [
        "casus",
        "status",
        "termijn",
        "regiehouder",
        "opgeschaald",
        "naar",
        "regel",
        "uitkomst",
    ]
    assert lines[1].index("opgeschaald") == lines[0].index("status")
    assert lines[2].index("gesloten") == lines[0].index("status")
    assert "geen contact" in lines[2] and lines[-1] == "2 casussen"
    assert render_list([]) == "Geen casussen."
    looks = [{"at": "2026-11-23T09:00:00+00:00", "role": "HUB", "action": "ESCALATION_NOTICE"}]
    assert "de hub (automatisch)" in render_looks(looks)
    assert render_looks([]) == "Niemand heeft deze gegevens bekeken."


def test_hub_audit_verify_names_the_first_broken_entry(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "hub.db"
    store = SqlHubStore(f"sqlite:///{db}")
    at = dt.datetime(2026, 11, 23, 9, 0, tzinfo=dt.UTC)
    for action in (AuditAction.VIEW_LIST, AuditAction.VIEW_CASE, AuditAction.CLOSE):
        store.append_audit(
            AuditDraft("anna", ActorRole.OPERATOR, action, "C-0123456789abcdef0123"), at
        )
    store.close()
    config = tmp_path / "hub.toml"
    config.write_text(
        '[hub]\nid = "hub"\nlisten = "127.0.0.1:0"\ndatabase_url = "sqlite:///hub.db"\n'
        'registry = "partners.yaml"\nsealing_keys = ["sealing.key"]\n'
        '[hub.tls]\nca_cert = "ca.crt"\ncert = "tls.crt"\nkey = "tls.key"\n'
    )
    assert main(["hub", "audit", "verify", "--config", str(config)]) == 0
    assert "in orde: 3 regels" in capsys.readouterr().out
    conn = sqlite3.connect(db)
    conn.execute("UPDATE hub_audit SET case_ref = 'C-ffffffffffffffffffff' WHERE seq = 2")
    conn.commit()
    conn.close()
    assert main(["hub", "audit", "verify", "--config", str(config)]) == 1
    assert "regel 2: de inhoud is gewijzigd" in capsys.readouterr().out
    assert main(["hub", "audit", "verify", "--config", str(config), "--json"]) == 1
    out = json.loads(capsys.readouterr().out)
    assert (out["intact"], out["first_broken"], out["problem"]) == (False, 2, "HASH_MISMATCH")
