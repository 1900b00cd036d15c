"""No identifier reaches a log line, an error, an outbox row or a status, whatever happens."""

from __future__ import annotations

import datetime as dt
import io
import json
import sqlite3
from pathlib import Path

import pytest

from node.model import LocalAddress, LocalPerson
from node.outbox import Outbox
from node.pseudonyms import Pseudonymizer
from seinhuis import logs
from seinhuis.catalogue import Catalogue
from seinhuis.errors import SeinhuisError
from seinhuis.vocabulary import PartnerType, Urgency
from tests.node.conftest import ggd_signal, make_bsn, make_node

BSN = make_bsn(42)
POSTCODE, HOUSE_NUMBER = "8765 QR", 4321
BIRTH = dt.date(1971, 3, 29)
SECRETS = (BSN, "8765", "QR", str(HOUSE_NUMBER), "1971", "03-29")


def test_accepted_and_refused_signals_leave_no_identifier_behind(
    outbox: Outbox,
    pseudonymizer: Pseudonymizer,
    the_catalogue: Catalogue,
    db_path: Path,
) -> None:
    """Logs, error messages, reprs and the database file hold none of the identifiers."""
    stream = io.StringIO()
    logs.configure("node", stream=stream)
    node = make_node(PartnerType.GGD, outbox, pseudonymizer, the_catalogue)
    person = LocalPerson(BSN, BIRTH)
    address = LocalAddress(POSTCODE, HOUSE_NUMBER)
    node.submit_signal(ggd_signal(person=person, address=address, partner_reference="p-1"))
    wrong_bsn = BSN[:-1] + str((int(BSN[-1]) + 1) % 10)
    attempts = [
        ggd_signal(person=LocalPerson(wrong_bsn, BIRTH), address=address),
        ggd_signal(person=person, address=LocalAddress("0" + POSTCODE[1:], HOUSE_NUMBER)),
        ggd_signal(person=person, address=LocalAddress(POSTCODE, 123456)),
        ggd_signal(person=LocalPerson(BSN, dt.date(2999, 3, 29)), address=address),
        ggd_signal(person=person, address=address, urgency=Urgency.CRISIS),
    ]
    texts = [repr(person), repr(address), repr(attempts[0])]
    for attempt in attempts:
        with pytest.raises(SeinhuisError) as info:
            node.submit_signal(attempt)
        texts += [str(info.value), repr(info.value), info.value.message, info.value.detail]
    status = node.status(reference="p-1")
    texts += [status.partner_reference, status.refusal_message]
    # Random ids and timestamps may hold any digits by chance; everything else is checked.
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    texts += [
        json.dumps({k: v for k, v in line.items() if k not in ("id", "timestamp")})
        for line in lines
    ]
    pseudonymizer.close()
    outbox.close()
    with sqlite3.connect(db_path) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    raw = b"".join(p.read_bytes() for p in db_path.parent.iterdir() if p.is_file())
    for secret in SECRETS:
        for text in texts:
            assert secret not in text, (secret, text)
    for secret in (BSN, wrong_bsn, "8765QR", "1971-03-29"):
        assert secret.encode() not in raw
    events = [line["event"] for line in lines]
    assert "node.signal_accepted" in events and "node.signal_refused_locally" in events
