"""`seinhuis hub partners ...` and `seinhuis hub staff ...`: the registries as an operator edits
them, checked by loading the result with the hub's own loaders."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest
import yaml

from hub import registry as registry_module
from hub import staff as staff_module
from seinhuis.cli import main
from seinhuis.crypto import keys
from seinhuis.keys_cli import PartnerSpec, add_staff, init_network_keys

Capture = pytest.CaptureFixture[str]


@pytest.fixture
def net(tmp_path: Path) -> Path:
    """A network's keys as `seinhuis keys init` makes them: two partners and one operator."""
    root = tmp_path / "net"
    init_network_keys(
        root,
        [PartnerSpec.parse("school-noord:SCHOOL"), PartnerSpec.parse("woco-oost:WONINGCORPORATIE")],
    )
    add_staff(root, "anna", "operator")
    add_staff(root, "piet", "procesregisseur")
    return root


def _new_public_key(folder: Path, name: str = "signing-2") -> tuple[Path, bytes]:
    signing = keys.generate_signing_key(folder / f"{name}.key", folder / f"{name}.pub")
    return folder / f"{name}.pub", bytes(signing.verify_key)


def _add_key(registry: Path, partner: str, public: Path, *extra: str) -> int:
    command = ["hub", "partners", "add-key", "--registry", str(registry), "--partner", partner]
    return main([*command, "--public", str(public), *extra])


def test_add_key_lists_the_key_beside_the_old_one(net: Path, capsys: Capture) -> None:
    """The hub's loader finds the new key, valid from now for 730 days, and the old one still."""
    registry_file = net / "hub" / "partners.yaml"
    public, verify = _new_public_key(net / "nodes" / "school-noord")
    before = dt.datetime.now(dt.UTC).replace(microsecond=0)
    assert _add_key(registry_file, "school-noord", public) == 0
    after = dt.datetime.now(dt.UTC)
    out = capsys.readouterr().out
    ident = keys.key_id(verify)
    assert f"listed key {ident.hex()} for school-noord in {registry_file}" in out
    assert "restart the hub" in out

    partner = registry_module.load(registry_file).partners["school-noord"]
    assert len(partner.keys) == 2
    new = partner.keys[1]
    assert new.key_id == ident and bytes(new.verify_key) == verify
    assert before <= new.valid_from <= after
    assert new.valid_until - new.valid_from == dt.timedelta(days=730)
    assert registry_module.load(registry_file).verify_key_for(partner, ident, after)
    # The file keeps its header and stays readable YAML with the key as text.
    text = registry_file.read_text()
    assert text.startswith("# The hub's partner registry")
    entry = yaml.safe_load(text)["partners"][0]["keys"][1]
    assert entry["verify_key"] == verify.hex()
    assert sorted(p.name for p in registry_file.parent.glob(".*")) == []  # no temp file left


def test_remove_key_retires_the_old_key_but_never_the_last(net: Path, capsys: Capture) -> None:
    registry_file = net / "hub" / "partners.yaml"
    [old] = registry_module.load(registry_file).partners["school-noord"].keys
    public, verify = _new_public_key(net / "nodes" / "school-noord")
    assert _add_key(registry_file, "school-noord", public) == 0
    command = ["hub", "partners", "remove-key", "--registry", str(registry_file)]
    school = [*command, "--partner", "school-noord"]

    assert main([*school, "--key-id", old.key_id.hex()]) == 0
    assert f"removed key {old.key_id.hex()}" in capsys.readouterr().out
    [left] = registry_module.load(registry_file).partners["school-noord"].keys
    assert left.key_id == keys.key_id(verify)

    before = registry_file.read_text()
    assert main([*school, "--key-id", old.key_id.hex()]) == 2
    assert f"partner school-noord has no key {old.key_id.hex()}" in capsys.readouterr().err
    assert main([*school, "--key-id", left.key_id.hex()]) == 2
    assert "only key" in capsys.readouterr().err
    assert registry_file.read_text() == before


def test_add_key_with_a_chosen_validity(net: Path) -> None:
    """--valid-from (a date: UTC midnight) and --valid-days set the period."""
    registry_file = net / "hub" / "partners.yaml"
    public, _ = _new_public_key(net / "nodes" / "woco-oost")
    args = ("--valid-from", "2030-03-01", "--valid-days", "30")
    assert _add_key(registry_file, "woco-oost", public, *args) == 0
    new = registry_module.load(registry_file).partners["woco-oost"].keys[-1]
    assert new.valid_from == dt.datetime(2030, 3, 1, tzinfo=dt.UTC)
    assert new.valid_until == dt.datetime(2030, 3, 31, tzinfo=dt.UTC)
    assert not new.valid_at(dt.datetime.now(dt.UTC))


@pytest.mark.parametrize(
    ("partner", "public", "message"),
    [
        (
            "ggd-west",
            "new",
            "partners.yaml: no partner 'ggd-west' (listed: school-noord, woco-oost)",
        ),
        ("school-noord", "listed", "is listed already, for partner school-noord"),
        ("woco-oost", "listed", "is listed already, for partner school-noord"),
        (
            "school-noord",
            "sealing",
            "expected a seinhuis-verify-key key, found seinhuis-sealing-pub",
        ),
        ("school-noord", "missing", "cannot read key file"),
    ],
)
def test_add_key_refuses_and_leaves_the_registry_alone(
    net: Path, capsys: Capture, partner: str, public: str, message: str
) -> None:
    """An unknown partner, a key already listed (for anyone), or a file that is not a verify
    key: exit 2, one line naming the file and what is wrong, the registry unchanged."""
    registry_file = net / "hub" / "partners.yaml"
    files = {
        "new": _new_public_key(net)[0],
        "listed": net / "nodes" / "school-noord" / "signing.pub",
        "sealing": net / "hub" / "sealing.pub",
        "missing": net / "nope.pub",
    }
    before = registry_file.read_bytes()
    assert _add_key(registry_file, partner, files[public]) == 2
    err = capsys.readouterr().err
    assert err.startswith("seinhuis: ") and err.count("\n") == 1 and message in err
    assert registry_file.read_bytes() == before


def test_add_key_refuses_a_bad_date(net: Path, capsys: Capture) -> None:
    """A --valid-from that is not ISO 8601 is refused by the argument parser (exit 2)."""
    public, _ = _new_public_key(net)
    with pytest.raises(SystemExit) as stopped:
        _add_key(net / "hub" / "partners.yaml", "school-noord", public, "--valid-from", "soon")
    assert stopped.value.code == 2
    assert "--valid-from: 'soon' is not an ISO 8601 date or time" in capsys.readouterr().err


def test_a_malformed_registry_is_named_and_not_rewritten(net: Path, capsys: Capture) -> None:
    """A registry the hub would refuse is refused here too, naming the file and the field."""
    registry_file = net / "hub" / "partners.yaml"
    registry_file.write_text(registry_file.read_text().replace("type: SCHOOL", "type: SCHOOLS"))
    before = registry_file.read_bytes()
    public, _ = _new_public_key(net)
    assert _add_key(registry_file, "school-noord", public) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"seinhuis: {registry_file}: partners.0.type: 'SCHOOLS' is not one of")
    assert registry_file.read_bytes() == before


def test_list_shows_partners_and_their_keys(net: Path, capsys: Capture) -> None:
    """One row per key: partner, type, certificate name, key id, validity, and whether valid."""
    registry_file = net / "hub" / "partners.yaml"
    public, verify = _new_public_key(net / "nodes" / "school-noord")
    assert _add_key(registry_file, "school-noord", public, "--valid-from", "2040-01-01") == 0
    capsys.readouterr()
    assert main(["hub", "partners", "list", "--registry", str(registry_file)]) == 0
    lines = capsys.readouterr().out.splitlines()
    rows = [re.split(r"\s{2,}", line.strip()) for line in lines[:4]]
    header = ["partner", "type", "certificate CN", "key id", "valid from", "valid until", "now"]
    assert rows[0] == header
    school = registry_module.load(registry_file).partners["school-noord"]
    assert rows[1][:4] == ["school-noord", "SCHOOL", "school-noord", school.keys[0].key_id.hex()]
    assert rows[1][-1] == "valid"
    # A second key of the same partner: a row of its own under the partner's.
    assert rows[2] == [
        keys.key_id(verify).hex(),
        "2040-01-01T00:00:00Z",
        "2041-12-31T00:00:00Z",
        "not yet valid",
    ]
    assert lines[2].index(rows[2][0]) == lines[0].index("key id")
    assert rows[3][:3] == ["woco-oost", "WONINGCORPORATIE", "woco-oost"]
    assert lines[-1] == "2 partner(s), 3 key(s), hub hub"


def test_remove_takes_a_partner_out_and_names_the_copies(net: Path, capsys: Capture) -> None:
    """The hub's loader no longer knows the partner; the services' copies are left to the
    operator (each domain admits from its own copy), and the output says so."""
    registry_file = net / "hub" / "partners.yaml"
    copy = net / "pseudonym" / "partners.yaml"
    copy_before = copy.read_bytes()
    argv = ["hub", "partners", "remove", "--registry", str(registry_file), "--partner", "woco-oost"]
    assert main(argv) == 0
    out = capsys.readouterr().out
    removed = "removed partner woco-oost (WONINGCORPORATIE, certificate woco-oost, 1 key(s))"
    assert f"{removed} from {registry_file}" in out
    assert "pseudonymisation service and the consent registry" in out and "restart" in out
    registry = registry_module.load(registry_file)
    assert list(registry.partners) == ["school-noord"]
    assert registry.by_certificate_cn("woco-oost") is None
    assert copy.read_bytes() == copy_before  # not changed behind the other domain's back
    # The same command on the copy; then the copies agree again.
    assert main([*argv[:4], str(copy), *argv[5:]]) == 0
    assert copy.read_bytes() == registry_file.read_bytes()
    # Removing it again: nothing to remove.
    assert main(argv) == 2
    assert "no partner 'woco-oost' (listed: school-noord)" in capsys.readouterr().err


def test_staff_list_and_remove(net: Path, capsys: Capture) -> None:
    """list shows id, role and certificate name; remove takes one member out of staff.yaml."""
    staff_file = net / "hub" / "staff.yaml"
    assert main(["hub", "staff", "list", "--staff", str(staff_file)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split() for line in lines[1:3]] == [
        ["anna", "operator", "anna.staff"],
        ["piet", "procesregisseur", "piet.staff"],
    ]
    assert main(["hub", "staff", "remove", "--staff", str(staff_file), "--id", "anna"]) == 0
    out = capsys.readouterr().out
    assert f"removed anna (operator, certificate anna.staff) from {staff_file}" in out
    assert "restart the hub" in out
    registry = staff_module.load(staff_file)
    assert list(registry.members) == ["piet"]
    assert registry.by_certificate_cn("anna.staff") is None
    assert staff_file.read_text().startswith("# The hub's staff registry")
    assert main(["hub", "staff", "remove", "--staff", str(staff_file), "--id", "anna"]) == 2
    assert capsys.readouterr().err == (
        f"seinhuis: {staff_file}: no staff member 'anna' (listed: piet)\n"
    )
