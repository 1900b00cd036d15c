"""CSV import: parsing, the per-row report, exit codes, both ways in."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest

from node import importer, wiring
from node.config import NodeConfig
from node.importer import COLUMNS, open_rows, parse_row
from node.outbox import Outbox
from node.pseudonyms import Pseudonymizer, PseudonymSource
from seinhuis.catalogue import Catalogue
from seinhuis.errors import InvalidArgument
from seinhuis.vocabulary import PartnerType, SignalType, Urgency
from tests.node.conftest import TODAY, FakePseudonyms, RunCli, StartNode, make_bsn, make_node

GOOD = {
    "reference": "r-1",
    "signal_type": "zorgwekkend_gedrag",
    "urgency": "",
    "observed_on": TODAY.isoformat(),
    "bsn": make_bsn(0),
    "birth_date": "1980-05-17",
    "postcode": "1234 ab",
    "house_number": "12",
    "house_letter": "",
    "house_number_addition": "",
    "amount_cents": "",
    "months_in_arrears": "",
    "contact_attempted": "",
    "reminder_sent": "",
}


def csv_text(rows: list[dict[str, str]]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=COLUMNS)
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


def test_a_row_parses_into_a_local_signal() -> None:
    """Case-insensitive enums, NORMAAL by default, no arrears when the columns are empty."""
    signal = parse_row(GOOD)
    assert signal.signal_type is SignalType.ZORGWEKKEND_GEDRAG
    assert signal.urgency is Urgency.NORMAAL
    assert signal.arrears is None and signal.partner_reference == "r-1"
    assert signal.address.house_number == 12


@pytest.mark.parametrize(
    ("column", "value"),
    [
        ("signal_type", "NOPE"),
        ("signal_type", ""),
        ("house_number", "12a"),
        ("birth_date", "17-05-1980"),
        ("observed_on", "yesterday"),
        ("amount_cents", "12,50"),
        ("contact_attempted", "perhaps"),
    ],
)
def test_a_malformed_cell_names_its_column_not_its_value(column: str, value: str) -> None:
    """A cell that does not parse is refused naming its column, never echoing the value."""
    with pytest.raises(InvalidArgument) as info:
        parse_row(GOOD | {column: value})
    assert info.value.field == column
    assert value not in info.value.message or value == ""


def test_the_header_must_be_the_documented_one() -> None:
    """Missing or unknown columns are refused before any row is read."""
    with pytest.raises(InvalidArgument, match="missing columns: reminder_sent"):
        list(open_rows(io.StringIO(",".join(COLUMNS[:-1]) + "\n")))
    with pytest.raises(InvalidArgument, match="unknown columns: extra"):
        list(open_rows(io.StringIO(",".join((*COLUMNS, "extra")) + "\n")))


def test_a_direct_import_reports_refused_rows_by_number_and_field(
    outbox: Outbox,
    pseudonymizer: Pseudonymizer,
    the_catalogue: Catalogue,
    source: FakePseudonyms,
) -> None:
    """Row numbers count the header as row 1; the report never shows identifiers."""
    node = make_node(PartnerType.GGD, outbox, pseudonymizer, the_catalogue)
    bad_bsn = make_bsn(1)[:-1] + str((int(make_bsn(1)[-1]) + 1) % 10)
    rows = [GOOD | {"reference": f"r-{i}", "bsn": make_bsn(i % 5)} for i in range(20)]
    rows[3] = rows[3] | {"bsn": bad_bsn}
    rows[7] = rows[7] | {"postcode": "0000 XX"}
    rows[9] = rows[9] | {"urgency": "crisis"}
    stream = io.StringIO(csv_text(rows))
    report = importer.run_direct(open_rows(stream), node, batch_size=8)
    assert (report.rows, report.accepted, report.refused) == (20, 17, 3)
    assert [(r.row, r.message.split(":")[0]) for r in report.refusals] == [
        (5, "subject.bsn"),
        (9, "subject.postcode"),
        (11, "urgency"),
    ]
    out = io.StringIO()
    importer.write_report(report, out)
    text = out.getvalue()
    assert "20 rows: 17 accepted, 3 refused" in text
    assert bad_bsn not in text and "0000" not in text
    # Three batches; five distinct people and one address across them: few OPRF calls.
    assert source.evaluated == 5 + 1


def test_import_through_a_running_node_exits_1_when_rows_are_refused(
    start_node: StartNode,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    run_cli: RunCli,
) -> None:
    """Through the local API: a report per row, exit 1 on a refusal, re-importing is harmless."""
    service = start_node()
    rows = [GOOD | {"reference": f"n-{i}", "bsn": make_bsn(i)} for i in range(30)]
    rows[2] = rows[2] | {"house_number": "0"}
    path = tmp_path / "signals.csv"
    path.write_text(csv_text(rows))
    code = run_cli(["import", "--node", f"127.0.0.1:{service.port}", str(path)])
    out = capsys.readouterr().out
    assert code == 1
    assert "30 rows: 29 accepted, 1 refused" in out
    assert "row 4: INVALID_ARGUMENT: subject.house_number: " in out
    assert service.local.outbox.pending_count() == 29
    # Importing the same file again is harmless: references make it idempotent.
    assert run_cli(["import", "--node", f"127.0.0.1:{service.port}", str(path)]) == 1
    assert service.local.outbox.pending_count() == 29


def test_import_straight_into_the_outbox_exits_0_when_all_are_accepted(
    start_node: StartNode,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    run_cli: RunCli,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """--config writes into the node database; the running node then delivers from it."""
    service = start_node()
    path = tmp_path / "signals.csv"
    path.write_text(csv_text([GOOD | {"reference": f"d-{i}"} for i in range(10)]))
    config = service.config.database.parent / "node.toml"
    # The fast path opens its own pseudonym client; give it the fake one instead.
    original = wiring.open_local

    def with_fake(cfg: NodeConfig, *, source: PseudonymSource | None = None) -> wiring.LocalNode:
        return original(cfg, source=FakePseudonyms())

    monkeypatch.setattr(wiring, "open_local", with_fake)
    code = run_cli(["import", "--config", str(config), "--no-progress", str(path)])
    assert code == 0
    assert "10 rows: 10 accepted, 0 refused" in capsys.readouterr().out
    assert service.local.outbox.pending_count() == 10


def test_a_row_with_more_cells_than_the_header_is_refused() -> None:
    """A quoting slip that shifts cells is refused for that row, not guessed at."""
    text = csv_text([GOOD]) + csv_text([GOOD]).splitlines()[1] + ",surplus\n"
    rows = list(open_rows(io.StringIO(text)))
    parse_row(rows[0][1])
    with pytest.raises(InvalidArgument, match=r"^row: has more cells"):
        parse_row(rows[1][1])
