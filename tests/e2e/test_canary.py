"""Canary identifiers planted at the nodes never appear at the hub or the pseudonymisation service.

Runs a real network with request capture switched on, sends signals and population facts
carrying canary citizen numbers, birth dates, postcodes and house numbers, and searches every
file the hub and the pseudonymisation service wrote (databases, logs, key folders) and every
request they received (the hub's envelopes opened with its own key) for each canary in every
encoding this test can think of.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import sqlite3
import struct
from pathlib import Path

import pytest

from hub.servicer import stream_envelopes
from seinhuis import transport
from seinhuis.crypto.envelope import Opener
from seinhuis.crypto.keys import load_sealing_key
from seinhuis.v1 import intake_pb2, node_pb2, signal_pb2, vocabulary_pb2

from .conftest import Network

CANARY_BSNS = ["999473815", "999861232", "999524677"]
CANARY_BIRTH = dt.date(2013, 8, 19)
CANARY_POSTCODE = ("3521", "ZW")
CANARY_HOUSE = 4711
CANARY_ADDITION = "K7"

pytestmark = pytest.mark.slow


def _text_forms(text: str) -> set[bytes]:
    forms = set()
    for variant in {text, text.lower(), text.upper()}:
        raw = variant.encode()
        forms |= {
            raw,
            variant.encode("utf-16-le"),
            variant.encode("utf-16-be"),
            raw.hex().encode(),
            raw.hex().upper().encode(),
            base64.b64encode(raw),
            base64.urlsafe_b64encode(raw).rstrip(b"="),
        }
        for digest in (hashlib.sha256, hashlib.sha1, hashlib.md5, hashlib.sha512):
            d = digest(raw).digest()
            forms |= {d, d.hex().encode()}
    return forms


def canary_encodings() -> dict[str, set[bytes]]:
    """Each canary, in every encoding a careless implementation might have used."""
    found: dict[str, set[bytes]] = {}
    for bsn in CANARY_BSNS:
        forms = _text_forms(bsn) | _text_forms(f"bsn:{bsn}")
        forms |= _text_forms(f"{bsn[:3]}.{bsn[3:5]}.{bsn[5:7]}.{bsn[7:]}")
        forms |= _text_forms(f"{bsn[:3]} {bsn[3:6]} {bsn[6:]}")
        found[f"bsn {bsn[:3]}…"] = forms
    b = CANARY_BIRTH
    found["birth date"] = set().union(
        *(
            _text_forms(s)
            for s in (
                b.isoformat(),
                b.strftime("%Y%m%d"),
                b.strftime("%d-%m-%Y"),
                b.strftime("%d%m%Y"),
                b.strftime("%d/%m/%Y"),
            )
        )
    )
    found["birth date"] |= {
        vocabulary_pb2.Date(year=b.year, month=b.month, day=b.day).SerializeToString()
    }
    digits, letters = CANARY_POSTCODE
    found["postcode"] = _text_forms(digits + letters) | _text_forms(f"{digits} {letters}")
    found["house number"] = (
        _text_forms(f"{digits}{letters}:{CANARY_HOUSE}")
        | _text_forms(f"{digits}{letters} {CANARY_HOUSE}")
        | _text_forms(f"{digits} {letters} {CANARY_HOUSE}")
        | _text_forms(f"{CANARY_HOUSE}{CANARY_ADDITION}")
        | _text_forms(f"{CANARY_HOUSE}-{CANARY_ADDITION}")
        | _text_forms(f"nl:{digits}{letters}:{CANARY_HOUSE}::{CANARY_ADDITION}")
    )
    for name, packed in canary_packed().items():
        found[name] |= packed
    return found


def canary_packed() -> dict[str, set[bytes]]:
    """The canaries that are numbers, packed as fixed-width binary integers."""
    found = {
        f"bsn {bsn[:3]}…": {struct.pack(f"{e}{w}", int(bsn)) for e in "<>" for w in "IQ"}
        for bsn in CANARY_BSNS
    }
    days = (CANARY_BIRTH - dt.date(1970, 1, 1)).days
    found["birth date"] = {struct.pack(f"{e}i", days) for e in "<>"}
    return found


def canary_numbers() -> dict[str, set[int]]:
    """Each canary as the integers a careless implementation might have stored."""
    b = CANARY_BIRTH
    found = {f"bsn {bsn[:3]}…": {int(bsn)} for bsn in CANARY_BSNS}
    found["birth date"] = {(b - dt.date(1970, 1, 1)).days, int(b.strftime("%Y%m%d")), b.toordinal()}
    return found


def find_canaries(blob: bytes, encodings: dict[str, set[bytes]]) -> list[str]:
    return sorted(name for name, forms in encodings.items() if any(f in blob for f in forms))


# A packed integer is 4 or 8 bytes, some of them zeros; SQLite's own page structure (a cell's
# payload size and rowid after zeroed free space, say) matches such needles by chance. Inside a
# database they are looked for per stored value instead; every other form in the raw file too.


def find_canaries_in_database(path: Path, encodings: dict[str, set[bytes]]) -> list[str]:
    """Canaries in an SQLite file: in its raw bytes and in every stored value."""
    packed = canary_packed()
    unpacked = {name: forms - packed.get(name, set()) for name, forms in encodings.items()}
    hits = set(find_canaries(path.read_bytes(), unpacked))
    numbers = canary_numbers()
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        tables = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        for table in tables:
            # Table names come from the file's own catalogue.
            for row in db.execute(f'SELECT * FROM "{table}"'):  # noqa: S608
                for value in row:
                    if isinstance(value, int) and not isinstance(value, bool):
                        hits |= {n for n, ints in numbers.items() if value in ints}
                    elif isinstance(value, str | bytes):
                        raw = value.encode() if isinstance(value, str) else value
                        hits |= {n for n, forms in encodings.items() if raw in forms}
                        hits |= set(find_canaries(raw, unpacked))
    finally:
        db.close()
    return sorted(hits)


def _date(d: dt.date) -> vocabulary_pb2.Date:
    return vocabulary_pb2.Date(year=d.year, month=d.month, day=d.day)


def _subject(bsn: str) -> node_pb2.LocalSubject:
    digits, letters = CANARY_POSTCODE
    return node_pb2.LocalSubject(
        bsn=bsn,
        birth_date=_date(CANARY_BIRTH),
        postcode=f"{digits} {letters.lower()}",
        house_number=CANARY_HOUSE,
        house_number_addition=CANARY_ADDITION,
    )


def _address() -> node_pb2.LocalAddress:
    digits, letters = CANARY_POSTCODE
    return node_pb2.LocalAddress(
        postcode=digits + letters,
        house_number=CANARY_HOUSE,
        house_number_addition=CANARY_ADDITION,
    )


def _plant(net: Network) -> None:
    """Send canary-bearing signals and facts through every kind of node."""
    today = dt.date.today()
    ids: dict[str, list[bytes]] = {}
    school, huisarts, ggd = (net.node_stub(n) for n in ("school-test", "huisarts-test", "ggd-test"))
    for i, bsn in enumerate(CANARY_BSNS):
        ids.setdefault("school-test", []).append(
            school.SubmitSignal(
                node_pb2.SubmitSignalRequest(
                    partner_reference=f"canary-school-{i}",
                    signal_type=vocabulary_pb2.SIGNAL_TYPE_SCHOOLVERZUIM,
                    urgency=vocabulary_pb2.URGENCY_NORMAAL,
                    observed_on=_date(today),
                    subject=_subject(bsn),
                ),
                timeout=30,
            ).id
        )
    ids["huisarts-test"] = [
        huisarts.SubmitSignal(
            node_pb2.SubmitSignalRequest(
                partner_reference="canary-ha",
                urgency=vocabulary_pb2.URGENCY_HOOG,
                signal_type=vocabulary_pb2.SIGNAL_TYPE_ZORGSIGNAAL_HUISARTS,
                observed_on=_date(today),
                subject=_subject(CANARY_BSNS[0]),
            ),
            timeout=30,
        ).id
    ]
    ids["ggd-test"] = [
        ggd.SubmitSignal(
            node_pb2.SubmitSignalRequest(
                partner_reference="canary-ggd",
                urgency=vocabulary_pb2.URGENCY_NORMAAL,
                signal_type=vocabulary_pb2.SIGNAL_TYPE_ZORGWEKKEND_GEDRAG,
                observed_on=_date(today),
                subject=_subject(CANARY_BSNS[1]),
            ),
            timeout=30,
        ).id
    ]
    digits, letters = CANARY_POSTCODE
    woco_subject = node_pb2.LocalSubject(
        postcode=f"{digits}{letters}",
        house_number=CANARY_HOUSE,
        house_number_addition=CANARY_ADDITION,
    )
    ids["woco-test"] = [
        net.node_stub("woco-test")
        .SubmitSignal(
            node_pb2.SubmitSignalRequest(
                partner_reference="canary-woco",
                urgency=vocabulary_pb2.URGENCY_NORMAAL,
                signal_type=vocabulary_pb2.SIGNAL_TYPE_HUURACHTERSTAND,
                observed_on=_date(today),
                subject=woco_subject,
                arrears=signal_pb2.Arrears(
                    amount_cents=120000,
                    months_in_arrears=2,
                    contact_attempted=True,
                    written_reminder_sent=True,
                ),
            ),
            timeout=30,
        )
        .id
    ]
    brp = net.node_stub("brp-test")
    person = node_pb2.LocalPerson(bsn=CANARY_BSNS[2], birth_date=_date(CANARY_BIRTH))
    parent = node_pb2.LocalPerson(bsn=CANARY_BSNS[0], birth_date=_date(CANARY_BIRTH))
    ids["brp-test"] = [
        brp.SubmitPopulationEvent(
            node_pb2.SubmitPopulationEventRequest(
                residence=node_pb2.LocalResidence(
                    person=person, address=_address(), since=_date(CANARY_BIRTH)
                )
            ),
            timeout=30,
        ).id,
        brp.SubmitPopulationEvent(
            node_pb2.SubmitPopulationEventRequest(
                parenthood=node_pb2.LocalParenthood(parent=parent, child=person)
            ),
            timeout=30,
        ).id,
    ]
    for partner, partner_ids in ids.items():
        net.wait_until_delivered(partner, partner_ids)


def _control_database(folder: Path) -> Path:
    """A database holding each canary in its shortest form, for the database search's control."""
    path = folder / "control.db"
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE t (v)")
    for forms in canary_encodings().values():
        db.execute("INSERT INTO t VALUES (?)", (min(forms, key=len),))
    for ints in canary_numbers().values():
        db.execute("INSERT INTO t VALUES (?)", (min(ints),))
    db.commit()
    db.close()
    return path


def test_no_canary_reaches_the_hub_or_the_pseudonymisation_service(
    network_factory, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    """No canary, in any encoding, is in anything the hub or the service wrote or received."""

    net = network_factory(capture_requests=True)
    _plant(net)
    net.launcher.stop_all()  # flush and close every file before reading them

    encodings = canary_encodings()
    # Positive control: the search finds each canary where it is known to be.
    control = b"".join(next(iter(forms)) for forms in encodings.values())
    assert find_canaries(control, encodings) == sorted(encodings)

    leaks = {}
    files = net.all_written_files("hub", "pseudonym")
    assert any(p.suffix == ".db" for p in files) and any(p.name == "hub.log" for p in files)
    assert find_canaries_in_database(_control_database(tmp_path), encodings) == sorted(encodings)
    for path in files:
        if path.read_bytes()[:16] == b"SQLite format 3\x00":
            hits = find_canaries_in_database(path, encodings)
        else:
            hits = find_canaries(path.read_bytes(), encodings)
        if hits:
            leaks[str(path)] = hits

    hub_received = list(transport.read_captured(net.layout.hub_dir / "received.bin"))
    service_received = list(transport.read_captured(net.layout.pseudonym_dir / "received.bin"))
    assert hub_received and service_received
    opener = Opener([load_sealing_key(net.layout.hub_dir / "sealing.key")])
    opened = 0
    for method, raw in hub_received + service_received:
        blobs = [raw]
        envelopes = []
        if method.endswith("/SubmitStream"):
            request = intake_pb2.SubmitStreamRequest.FromString(raw)
            envelopes = list(stream_envelopes(iter([request])))
        elif method.endswith("/Submit"):
            envelopes = [intake_pb2.SubmitRequest.FromString(raw).envelope]
        for envelope in envelopes:
            statement = opener.open(envelope).statement
            blobs.append(statement.SerializeToString())
            blobs.append(str(statement).encode())
            opened += 1
        for blob in blobs:
            hits = find_canaries(blob, encodings)
            if hits:
                leaks[f"request {method}"] = hits
    assert opened >= 7, "the hub's envelopes were not all captured and opened"
    assert not leaks, f"canary identifiers found: {leaks}"
