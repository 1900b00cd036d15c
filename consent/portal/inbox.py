"""Telling residents that a statute-based signal about them was registered.

Statute-based signals need no consent, but the resident is informed: under 12 the parents,
from 12 to 16 the child and the parents, from 16 the young person (DOMAIN rule 6). When the hub
registers such a signal, consent.portal.notices (which polls the hub's ResidentService) calls
`notify_statute_signal`; it leaves a message in the portal and a record for the municipality's
mail channel, which finds the addressees and their postal addresses itself. Who sees which
message in the portal follows from the same rule at the time of reading (consent.portal.people).
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Callable

from consent.model import Pseudonym
from consent.portal.records import InboxMessage
from consent.portal.store import PortalStore
from seinhuis import logs
from seinhuis.vocabulary import LegalBasis, PartnerType, SignalType

log = logs.get_logger(__name__)


def _new_id() -> bytes:
    return os.urandom(16)


def notify_statute_signal(
    store: PortalStore,
    subject: Pseudonym,
    signal_type: SignalType,
    partner_type: PartnerType,
    legal_basis: LegalBasis,
    registered_on: dt.date,
    *,
    now: dt.datetime,
    new_id: Callable[[], bytes] = _new_id,
    once: bool = False,
) -> InboxMessage:
    """Leave a portal message about the signal and queue a letter; InvalidArgument for consent.

    once: a message with the id `new_id` gives is left alone when stored already (a notice
    read again after a restart), instead of being refused."""
    message = InboxMessage(
        id=new_id(),
        subject=subject,
        signal_type=signal_type,
        partner_type=partner_type,
        legal_basis=legal_basis,
        registered_on=registered_on,
        created_at=now,
    )
    if once:
        if not store.add_message_once(message):
            return message
    else:
        store.add_message(message)
    log.info("portal.message_added", message=message.id, signal_type=signal_type.value)
    return message
