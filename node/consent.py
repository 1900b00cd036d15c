"""Consent at the node (issue 5): a consent-based signal is accepted only with the resident's
consent, and then carries the consent registry's signed receipt to the hub.

After pseudonymisation (node.service step 2) the node asks the registry (consent.client over
mutual TLS, `[node.consent]`) for each signal whose legal basis in the catalogue is consent:
may this partner signal about this person in this life domain (purpose SIGNALERING)? Without
a permit the signal is refused locally with FAILED_PRECONDITION saying consent is missing;
nothing of it is stored or sent. The registry being away is UNAVAILABLE: nothing stored, the
partner may retry.

Consent is a person's: a consent-based signal about an address alone (from a partner that may
not process citizen numbers, or without a citizen number) cannot be checked, so it is refused
too. A node without `[node.consent]` checks nothing (development networks only; it logs
`node.consent_unchecked` at start), and the hub refuses its consent-based signals when the
hub does check.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, TypeVar

import grpc

from consent.client import CheckAnswer, ConsentClient
from consent.model import CheckQuery, Pseudonym, Purpose
from node.config import NodeConfig
from node.model import ConsentReceipt, Signal
from node.outbox import Outgoing
from seinhuis import logs, transport
from seinhuis.errors import FailedPrecondition, SeinhuisError
from seinhuis.vocabulary import LegalBasis, PartnerType

log = logs.get_logger(__name__)

#: What a signal to the hub is consented for.
PURPOSE = Purpose.SIGNALERING

NO_PERSON = (
    "consent is missing: a consent-based signal must name a person (subject.bsn) so that the "
    "resident's consent can be checked; nothing was stored or sent"
)
NOT_GIVEN = (
    "consent is missing: the resident has not given consent for this organisation to signal "
    "about them in this life domain; nothing was stored or sent"
)

T = TypeVar("T")


class ConsentChecker(Protocol):
    """consent.client.ConsentClient as the node uses it."""

    def check_many(self, queries: Sequence[CheckQuery]) -> list[CheckAnswer | SeinhuisError]: ...


@dataclass(frozen=True)
class ConsentGate:
    """Asks the registry about this node's consent-based signals."""

    checker: ConsentChecker
    partner_id: str
    partner_type: PartnerType

    def receipts(self, signals: Sequence[Signal]) -> list[ConsentReceipt | SeinhuisError | None]:
        """Per signal, in order: None when it needs no consent, its receipt, or the refusal.

        All questions for a batch are in flight at once."""
        out: list[ConsentReceipt | SeinhuisError | None] = [None] * len(signals)
        asked: list[int] = []
        queries: list[CheckQuery] = []
        for i, s in enumerate(signals):
            if s.legal_basis is not LegalBasis.TOESTEMMING:
                continue
            if not s.subject.person_pseudonym:
                out[i] = FailedPrecondition(NO_PERSON)
                continue
            subject = Pseudonym(s.subject.person_pseudonym, s.subject.key_version)
            queries.append(
                CheckQuery(subject, self.partner_id, self.partner_type, s.life_domain, PURPOSE)
            )
            asked.append(i)
        for i, answer in zip(asked, self.checker.check_many(queries), strict=True):
            if isinstance(answer, SeinhuisError):
                out[i] = answer
            elif not answer.permitted:
                out[i] = FailedPrecondition(NOT_GIVEN)
            else:
                out[i] = ConsentReceipt(answer.receipt, answer.signature)
        return out

    def attach(
        self, checked: Sequence[T], outgoing: Sequence[Outgoing]
    ) -> tuple[list[T], list[Outgoing], list[tuple[T, SeinhuisError]]]:
        """Receipts onto a batch's outgoing signals (checked[i] goes with outgoing[i]): what
        goes on, with receipts attached, and what is refused, with why."""
        payloads = [o.payload for o in outgoing]
        signals = [p for p in payloads if isinstance(p, Signal)]
        if len(signals) != len(payloads):
            raise TypeError("only signals need consent")
        kept: list[T] = []
        kept_out: list[Outgoing] = []
        refused: list[tuple[T, SeinhuisError]] = []
        for c, o, s, answer in zip(checked, outgoing, signals, self.receipts(signals), strict=True):
            if isinstance(answer, SeinhuisError):
                refused.append((c, answer))
                continue
            if answer is not None:
                o = dataclasses.replace(o, payload=dataclasses.replace(s, consent_receipt=answer))
            kept.append(c)
            kept_out.append(o)
        return kept, kept_out, refused


def open_gate(config: NodeConfig) -> tuple[ConsentGate, grpc.Channel] | None:
    """The gate for `[node.consent]` and its channel (the caller closes it); None without."""
    c = config.consent
    if c is None:
        log.warning("node.consent_unchecked")
        return None
    channel = transport.secure_channel(c.target, config.tls, server_name=c.server_name)
    client = ConsentClient(channel, timeout_s=c.timeout_s)
    return ConsentGate(client, config.partner_id, config.partner_type), channel
