"""The service's rules: who may evaluate how much, who may re-key, and the audit of each query.

Who may do what, by the common name of the CA-verified client certificate:

    caller                               Evaluate  GetKeyInfo  GetRekeyFactor
    a partner in this service's copy     yes       yes         no
      of the partner registry
    a resident portal (portal_ids)       yes       yes         no
    the hub (hub_ids)                    no        yes         yes
    any other certificate of the CA      no        no          no

Default deny: a certificate the network's CA issued for someone else (a member of staff, the
consent service, a partner that was removed) cannot turn guessed citizen numbers into
pseudonyms. docs/trust-model.md says why the list is this service's own.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections import Counter
from collections.abc import Callable, Sequence
from typing import Protocol

from pseudonym.keyring import Keyring
from pseudonym.model import OK, AuditRecord, Evaluation, KeyInfo, Operation
from pseudonym.store.base import AuditStore
from seinhuis import logs
from seinhuis.crypto import oprf
from seinhuis.errors import (
    InvalidArgument,
    PermissionDenied,
    ResourceExhausted,
    SeinhuisError,
)
from seinhuis.ratelimit import RateLimiter
from seinhuis.vocabulary import IdentifierKind

log = logs.get_logger(__name__)


class KeyringSource(Protocol):
    def get(self) -> Keyring: ...


#: One message for every certificate that is not on the list: it says nothing about why.
NOT_ADMITTED = (
    "only registered partner nodes and the resident portal may use the pseudonymisation service"
)


def _utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class Evaluator:
    """Evaluates blinded batches for partners and issues re-key factors to the hub.

    The hub may not evaluate: with the OPRF at its disposal it could pseudonymise guessed
    citizen numbers itself, which the separation of trust domains exists to prevent.
    """

    def __init__(
        self,
        keyring: KeyringSource,
        audit: AuditStore,
        limiter: RateLimiter,
        *,
        max_batch: int,
        hub_ids: frozenset[str],
        evaluators: frozenset[str],
        now: Callable[[], dt.datetime] = _utc_now,
    ) -> None:
        self._keyring = keyring
        self._audit = audit
        self._limiter = limiter
        self._max_batch = max_batch
        if hub_ids & evaluators:
            raise ValueError("the hub may not be an evaluator")
        self._hub_ids = hub_ids
        self._evaluators = evaluators
        self._now = now
        self._refusals: Counter[tuple[str, str]] = Counter()
        self._lock = threading.Lock()

    def key_info(self, caller: str) -> KeyInfo:
        """Which key versions exist; for evaluators and the hub only."""
        if caller not in self._evaluators and caller not in self._hub_ids:
            log.info("pseudonym.refused", partner=caller, code=PermissionDenied.status, count=0)
            raise PermissionDenied(NOT_ADMITTED)
        return self._keyring.get().info()

    def refusals(self) -> dict[tuple[str, str], int]:
        """Refused queries so far, per (partner, status name)."""
        with self._lock:
            return dict(self._refusals)

    def evaluate(self, partner: str, kind: IdentifierKind, elements: Sequence[bytes]) -> Evaluation:
        """Multiply each blinded element by the current key for `kind`; all or nothing."""
        keyring = self._keyring.get()
        version = keyring.current_version
        count = len(elements)
        try:
            self._check_evaluate(partner, count)
            evaluated = oprf.blind_evaluate_many(keyring.key(kind, version), elements)
        except SeinhuisError as exc:
            self._refuse(Operation.EVALUATE, partner, kind, count, version, exc)
            raise
        self._record(Operation.EVALUATE, partner, kind, count, version, OK)
        log.info(
            "pseudonym.evaluated",
            partner=partner,
            kind=kind.value,
            count=count,
            key_version=version,
        )
        return Evaluation(version, evaluated)

    def _check_evaluate(self, partner: str, count: int) -> None:
        if partner in self._hub_ids:
            raise PermissionDenied("the hub may not evaluate pseudonyms")
        if partner not in self._evaluators:
            raise PermissionDenied(NOT_ADMITTED)
        if count == 0:
            raise InvalidArgument("the batch is empty", field="blinded_elements")
        if count > self._max_batch:
            raise ResourceExhausted(
                f"a batch holds at most {self._max_batch} elements, this one {count}"
            )
        # Tokens are taken before validation: a batch with a bad element still cost work.
        if not self._limiter.take(partner, count):
            raise ResourceExhausted(
                f"rate limit: at most {self._limiter.rate:g} evaluations per second per partner"
                f" (bursts up to {self._limiter.burst})"
            )

    def rekey_factor(
        self, caller: str, kind: IdentifierKind, from_version: int, to_version: int
    ) -> bytes:
        """The factor k_to * k_from^-1 for one kind; only for the hub."""
        try:
            if caller not in self._hub_ids:
                raise PermissionDenied("only the hub may fetch re-key factors")
            factor = self._keyring.get().rekey_factor(kind, from_version, to_version)
        except SeinhuisError as exc:
            self._refuse(Operation.REKEY_FACTOR, caller, kind, 1, to_version, exc, from_version)
            raise
        self._record(Operation.REKEY_FACTOR, caller, kind, 1, to_version, OK, from_version)
        log.info(
            "pseudonym.rekey_factor_issued",
            partner=caller,
            kind=kind.value,
            from_version=from_version,
            to_version=to_version,
        )
        return factor

    def _refuse(
        self,
        operation: Operation,
        partner: str,
        kind: IdentifierKind,
        count: int,
        version: int,
        exc: SeinhuisError,
        from_version: int | None = None,
    ) -> None:
        with self._lock:
            self._refusals[partner, exc.status] += 1
        log.info("pseudonym.refused", partner=partner, code=exc.status, count=count)
        self._record(operation, partner, kind, count, version, exc.status, from_version)

    def _record(
        self,
        operation: Operation,
        partner: str,
        kind: IdentifierKind,
        count: int,
        version: int,
        outcome: str,
        from_version: int | None = None,
    ) -> None:
        self._audit.add(
            AuditRecord(
                at=self._now(),
                partner=partner,
                operation=operation,
                kind=kind,
                count=count,
                key_version=version,
                outcome=outcome,
                from_version=from_version,
            )
        )
