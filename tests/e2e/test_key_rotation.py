"""An OPRF key rotation: the hub re-keys what it holds and new signals keep matching old ones."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
import time

import pytest

from hub.store.base import CaseSummary
from seinhuis.keys_cli import PartnerSpec
from seinhuis.v1 import node_pb2, vocabulary_pb2
from seinhuis.vocabulary import PartnerType

from .conftest import Network

pytestmark = pytest.mark.slow

PARTNERS = [
    PartnerSpec("school-rot", PartnerType.SCHOOL),
    PartnerSpec("ggd-rot", PartnerType.GGD),
    # Sends before the rotation, so that ggd-rot first sends after it (no old-key pseudonyms
    # in its node's cache).
    PartnerSpec("ggd-rot-b", PartnerType.GGD),
]


def _send(net: Network, partner: str, signal_type: int, ref: str) -> bytes:
    d = dt.date.today()
    request = node_pb2.SubmitSignalRequest(
        partner_reference=ref,
        signal_type=signal_type,
        urgency=vocabulary_pb2.URGENCY_NORMAAL,
        observed_on=vocabulary_pb2.Date(year=d.year, month=d.month, day=d.day),
        subject=node_pb2.LocalSubject(
            bsn="999000019",
            birth_date=vocabulary_pb2.Date(year=2012, month=9, day=1),
            postcode="1011AB",
            house_number=12,
        ),
    )
    signal_id = net.node_stub(partner).SubmitSignal(request, timeout=30).id
    net.wait_until_delivered(partner, [signal_id])
    return signal_id


def _seinhuis(*args: str) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "seinhuis.cli", *args], capture_output=True, text=True, check=True
    )
    return result.stdout


def test_rotation_rekeys_the_hub_and_keeps_matching(network_factory) -> None:  # type: ignore[no-untyped-def]
    """After a rotation and `hub rekey`, a new signal about the same child and address carries
    exactly the pseudonyms the hub's re-keyed older signal now has."""
    net = network_factory(PARTNERS)
    before = _send(net, "school-rot", vocabulary_pb2.SIGNAL_TYPE_SCHOOLVERZUIM, "rot-1")
    store = net.hub_store()
    old = store.get_signal(before)
    store.close()
    assert old is not None and old.received.signal.key_version == 1
    # Two partners, two life domains: a case with a regiehouder, before the rotation.
    concern = _send(net, "ggd-rot-b", vocabulary_pb2.SIGNAL_TYPE_ZORGWEKKEND_GEDRAG, "rot-0")
    [opened] = _cases_holding(net, {before, concern})

    _seinhuis("pseudonym", "rotate", "--keyring", str(net.layout.pseudonym_dir / "keyring"))
    time.sleep(1.5)  # the service notices a new key version within a second
    out = _seinhuis("hub", "rekey", "--config", str(net.layout.hub_dir / "hub.toml"))
    assert "to key version 2" in out

    after = _send(net, "ggd-rot", vocabulary_pb2.SIGNAL_TYPE_ZORGWEKKEND_GEDRAG, "rot-2")
    store = net.hub_store()
    try:
        rekeyed, fresh = store.get_signal(before), store.get_signal(after)
    finally:
        store.close()
    assert rekeyed is not None and fresh is not None
    a, b = rekeyed.received.signal, fresh.received.signal
    assert a.key_version == b.key_version == 2
    assert a.person_pseudonym == b.person_pseudonym != old.received.signal.person_pseudonym
    assert a.address_pseudonym == b.address_pseudonym
    # The household kept its case across the rotation: the new signal joined it.
    [kept] = _cases_holding(net, {before, concern, after})
    assert (kept.ref, kept.regiehouder) == (opened.ref, opened.regiehouder)
    store = net.hub_store()
    try:
        assert len(store.list_cases()) == 1
    finally:
        store.close()


def _cases_holding(net: Network, signal_ids: set[bytes]) -> list[CaseSummary]:
    """The cases whose signals include all of these, once the judge has judged them."""
    deadline = time.monotonic() + 30
    while True:
        store = net.hub_store()
        try:
            found = [c for c in store.list_cases() if signal_ids <= store.case_signal_ids(c.id)]
        finally:
            store.close()
        if found or time.monotonic() > deadline:
            return found
        time.sleep(0.2)


def test_the_hub_follows_a_rotation_by_itself(network_factory) -> None:  # type: ignore[no-untyped-def]
    """Without an operator, the hub notices a new key version and re-keys what it holds."""
    net = network_factory(PARTNERS[:1], rekey_interval_s=1.0)
    signal_id = _send(net, "school-rot", vocabulary_pb2.SIGNAL_TYPE_SCHOOLVERZUIM, "auto-1")
    _seinhuis("pseudonym", "rotate", "--keyring", str(net.layout.pseudonym_dir / "keyring"))
    deadline = time.monotonic() + 30
    version = 1
    while version == 1 and time.monotonic() < deadline:
        time.sleep(0.5)
        store = net.hub_store()
        try:
            stored = store.get_signal(signal_id)
        finally:
            store.close()
        assert stored is not None
        version = stored.received.signal.key_version
    assert version == 2
