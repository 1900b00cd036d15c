"""The node's domain: check a local signal or population fact, pseudonymise it, queue it.

Every refusal happens before anything is stored: a crisis, a signal type this partner type may
not send, a citizen number the partner may not process, a malformed identifier. Errors name the
field and never repeat its value.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from node.consent import ConsentGate
from node.identifiers import BirthDate, Bsn, DutchAddress, PartnerReference
from node.model import (
    Arrears,
    Death,
    DeliveryState,
    LocalAddress,
    LocalArrears,
    LocalDeath,
    LocalParenthood,
    LocalPerson,
    LocalPopulationEvent,
    LocalRelocation,
    LocalResidence,
    LocalSignal,
    Parenthood,
    PopulationEvent,
    Relocation,
    Residence,
    Signal,
    SignalStatus,
    Subject,
)
from node.outbox import Outbox, Outgoing
from node.pseudonyms import Pseudonymizer
from seinhuis import logs
from seinhuis.catalogue import Catalogue, SignalTypeRule
from seinhuis.errors import (
    FailedPrecondition,
    InvalidArgument,
    NotFound,
    PermissionDenied,
    SeinhuisError,
)
from seinhuis.vocabulary import (
    CRISIS_REFUSAL,
    IdentifierKind,
    PartnerType,
    Urgency,
    WithdrawReason,
)

log = logs.get_logger(__name__)

#: A hundred million euro: anything above is a typing error, not arrears.
MAX_AMOUNT_CENTS = 10_000_000_000
MAX_MONTHS_IN_ARREARS = 120


class HubWithdrawal(Protocol):
    """The hub's Withdraw call, as the domain needs it (node.delivery.HubClient)."""

    def withdraw(self, message_id: bytes, reason: WithdrawReason) -> None: ...


@dataclass(frozen=True)
class _Checked:
    """A local signal that passed every check, with its identifiers as value objects."""

    signal: LocalSignal
    rule: SignalTypeRule
    bsn: Bsn | None
    address: DutchAddress
    observed_on: dt.date
    keep_until: dt.date
    reference: str


@dataclass
class SignalBatch:
    """Signals on their way through check_batch, pseudonymize_batch and store_batch."""

    results: list[bytes | SeinhuisError] = field(default_factory=list)
    checked: list[tuple[int, _Checked]] = field(default_factory=list)
    outgoing: list[Outgoing] = field(default_factory=list)


class Node:
    """Accepts signals and population facts for one partner node and answers about them."""

    def __init__(
        self,
        *,
        partner_type: PartnerType,
        catalogue: Catalogue,
        pseudonymizer: Pseudonymizer,
        outbox: Outbox,
        hub: HubWithdrawal | None = None,
        today: Callable[[], dt.date] = dt.date.today,
        consent: ConsentGate | None = None,
    ) -> None:
        self.partner_type = partner_type
        #: Consent checks for consent-based signals (node.consent); None: not checked.
        self._consent = consent
        self._catalogue = catalogue
        self._pseudonyms = pseudonymizer
        self._outbox = outbox
        self._hub = hub
        self._today = today

    # --- signals ----------------------------------------------------------------------------

    def submit_signal(self, signal: LocalSignal) -> bytes:
        """Check, pseudonymise and store one signal durably; its id at the hub."""
        (result,) = self.submit_signals([signal])
        if isinstance(result, SeinhuisError):
            raise result
        log.info("node.signal_accepted", id=result, signal_type=signal.signal_type.value)
        return result

    def submit_signals(self, signals: Sequence[LocalSignal]) -> list[bytes | SeinhuisError]:
        """Like submit_signal for many: one pseudonym batch and one transaction for all.

        Per signal its id, or the error that refused it (nothing of it stored). Accepted
        signals of a batch are not logged one by one; the importer logs the totals.
        """
        return self.store_batch(self.pseudonymize_batch(self.check_batch(signals)))

    # The three steps of submit_signals, separately, so an importer can pipeline them: check
    # the next batch while this one is with the pseudonymisation service.

    def check_batch(self, signals: Sequence[LocalSignal]) -> SignalBatch:
        """Step 1: every check that needs no pseudonym; refusals are final."""
        today = self._today()
        batch = SignalBatch()
        for signal in signals:
            try:
                batch.checked.append((len(batch.results), self._check(signal, today)))
                batch.results.append(b"")
            except SeinhuisError as exc:
                _log_refusal(exc)
                batch.results.append(exc)
        return batch

    def pseudonymize_batch(self, batch: SignalBatch) -> SignalBatch:
        """Step 2: the pseudonyms of every checked signal, in one round for the batch."""
        if not batch.checked:
            return batch
        checked = [c for _, c in batch.checked]
        version, found = self._pseudonyms.pseudonymize_many(
            {
                IdentifierKind.PERSON: [c.bsn.oprf_input for c in checked if c.bsn is not None],
                IdentifierKind.ADDRESS: [c.address.oprf_input for c in checked],
            }
        )
        persons = iter(found[IdentifierKind.PERSON])
        batch.outgoing = [
            Outgoing(
                _build_signal(
                    c, Subject(next(persons) if c.bsn is not None else b"", address, version)
                ),
                partner_reference=c.reference,
            )
            for c, address in zip(checked, found[IdentifierKind.ADDRESS], strict=True)
        ]
        if self._consent is not None:
            # Consent (issue 5): a consent-based signal goes on only with the registry's receipt.
            batch.checked, batch.outgoing, refused = self._consent.attach(
                batch.checked, batch.outgoing
            )
            for (i, _), error in refused:
                _log_refusal(error)
                batch.results[i] = error
        return batch

    def store_batch(self, batch: SignalBatch) -> list[bytes | SeinhuisError]:
        """Step 3: store every pseudonymised signal in one transaction; per signal the outcome."""
        if not batch.checked:
            return batch.results
        stored = self._outbox.accept_many(batch.outgoing)
        for (i, _), outcome in zip(batch.checked, stored, strict=True):
            batch.results[i] = outcome
            if isinstance(outcome, SeinhuisError):
                _log_refusal(outcome)
        return batch.results

    def _check(self, s: LocalSignal, today: dt.date) -> _Checked:
        if s.urgency is Urgency.CRISIS:
            raise InvalidArgument(CRISIS_REFUSAL, field="urgency")
        rule = self._catalogue.check_sender(self.partner_type, s.signal_type)
        reference = PartnerReference(s.partner_reference).value if s.partner_reference else ""
        bsn = self._person_bsn(s.person.bsn, "subject.bsn")
        birth = (
            BirthDate(s.person.birth_date, field="subject.birth_date", today=today)
            if s.person.birth_date is not None
            else None
        )
        if rule.retention_until_age is not None and birth is None:
            # Retention ends at an age (Jeugdwet reference index), so the node needs the birth date.
            raise InvalidArgument(
                f"required for {s.signal_type} (kept until age {rule.retention_until_age})",
                field="subject.birth_date",
            )
        address = _address(s.address, "subject")
        observed_on = s.observed_on or today
        if observed_on > today:
            raise InvalidArgument("must not be in the future", field="observed_on")
        keep_until = rule.keep_until(observed_on, birth.date if birth else None)
        if keep_until < today:
            raise InvalidArgument(
                "its retention period has already ended; the signal may not be kept",
                field="observed_on",
            )
        _check_arrears(rule, s.arrears)
        return _Checked(s, rule, bsn, address, observed_on, keep_until, reference)

    def _person_bsn(self, raw: str, field: str) -> Bsn | None:
        if self._catalogue.may_process_bsn(self.partner_type):
            return Bsn(raw, field=field)
        if raw.strip():
            # Not even accepted at the node: this partner type may not process citizen numbers.
            raise PermissionDenied(
                f"catalogue rule partner_types.{self.partner_type}.may_process_bsn: a "
                f"{self.partner_type} may not process citizen numbers; leave {field} empty"
            )
        return None

    # --- population events ----------------------------------------------------------------

    def submit_population_event(self, event: LocalPopulationEvent) -> bytes:
        """Pseudonymise and store one population-register fact; only a BRP node may."""
        try:
            return self._submit_population_event(event)
        except SeinhuisError as exc:
            _log_refusal(exc)
            raise

    def _submit_population_event(self, event: LocalPopulationEvent) -> bytes:
        if self.partner_type is not PartnerType.BRP:
            raise PermissionDenied("only the population register (BRP) sends population events")
        today = self._today()
        if isinstance(event, LocalResidence):
            person = self._population_person(event.person, "residence.person", today)
            address = _address(event.address, "residence.address")
            since = _residence_date(event.since, event.person.birth_date, today)
            version, (p,), (a,) = self._pseudonymize([person], [address])
            payload = PopulationEvent(version, Residence(p, a, since))
        elif isinstance(event, LocalParenthood):
            parent = self._population_person(event.parent, "parenthood.parent", today)
            child = self._population_person(event.child, "parenthood.child", today)
            if parent == child:
                raise InvalidArgument("parent and child must differ", field="parenthood.child")
            version, (pp, cp), _ = self._pseudonymize([parent, child], [])
            payload = PopulationEvent(version, Parenthood(pp, cp))
        elif isinstance(event, LocalRelocation):
            person = self._population_person(event.person, "relocation.person", today)
            address = _address(event.to_address, "relocation.to_address")
            on = _past_date(event.on, "relocation.on", today)
            version, (p,), (a,) = self._pseudonymize([person], [address])
            payload = PopulationEvent(version, Relocation(p, a, on))
        elif isinstance(event, LocalDeath):
            person = self._population_person(event.person, "death.person", today)
            on = _past_date(event.on, "death.on", today)
            version, (p,), _ = self._pseudonymize([person], [])
            payload = PopulationEvent(version, Death(p, on))
        else:  # pragma: no cover - the union is closed
            raise InvalidArgument("unknown population event", field="event")
        message_id = self._outbox.accept(Outgoing(payload))
        log.info("node.signal_accepted", id=message_id, signal_type="")
        return message_id

    def _population_person(self, person: LocalPerson, field: str, today: dt.date) -> Bsn:
        if person.birth_date is not None:
            BirthDate(person.birth_date, field=f"{field}.birth_date", today=today)
        return Bsn(person.bsn, field=f"{field}.bsn")

    def _pseudonymize(
        self, persons: Sequence[Bsn], addresses: Sequence[DutchAddress]
    ) -> tuple[int, list[bytes], list[bytes]]:
        version, found = self._pseudonyms.pseudonymize_many(
            {
                IdentifierKind.PERSON: [p.oprf_input for p in persons],
                IdentifierKind.ADDRESS: [a.oprf_input for a in addresses],
            }
        )
        return version, found[IdentifierKind.PERSON], found[IdentifierKind.ADDRESS]

    # --- withdrawal and status --------------------------------------------------------------

    def withdraw(
        self, *, message_id: bytes = b"", reference: str = "", reason: WithdrawReason
    ) -> bytes:
        """Withdraw a signal: never sent if still pending, else withdrawn at the hub first."""
        target = self._resolve(message_id, reference)
        before = self._outbox.withdraw_if_pending(target, reason)
        status = self._outbox.status(target)
        at_hub = status.delivered_at is not None and (
            before is DeliveryState.DELIVERED
            # A signal withdrawn as resolved may still be erased as unjustified.
            or (
                status.withdraw_reason is WithdrawReason.RESOLVED
                and reason is WithdrawReason.UNJUSTIFIED
            )
        )
        if at_hub:
            if self._hub is None:
                raise FailedPrecondition("this node has no hub connection to withdraw through")
            # NotFound: the hub holds no live signal with this id any more (withdrawn by an
            # earlier attempt whose answer was lost, or expired): withdrawn is the truth.
            with contextlib.suppress(NotFound):
                self._hub.withdraw(target, reason)
            self._outbox.mark_withdrawn(target, reason)
        log.info("node.signal_withdrawn", id=target, reason=reason.value, state=before.value)
        return target

    def status(self, *, message_id: bytes = b"", reference: str = "") -> SignalStatus:
        """Where a signal stands in the outbox."""
        return self._outbox.status(self._resolve(message_id, reference))

    def _resolve(self, message_id: bytes, reference: str) -> bytes:
        if message_id:
            return self._outbox.resolve(message_id=message_id)
        if reference:
            return self._outbox.resolve(reference=PartnerReference(reference).value)
        raise InvalidArgument("give an id or a partner_reference", field="signal")


def _address(a: LocalAddress, field: str) -> DutchAddress:
    return DutchAddress(
        a.postcode, a.house_number, a.house_letter, a.house_number_addition, field=field
    )


def _residence_date(
    since: dt.date | None, birth_date: dt.date | None, today: dt.date
) -> dt.date | None:
    """The residence date to send, or None for "from birth".

    For someone who has lived at an address since (about) birth, the date would be their
    date of birth: within the first year of life it is withheld, which the hub reads as
    "before any dated move".
    """
    if since is None:
        return None
    since = _past_date(since, "residence.since", today)
    if birth_date is not None and since < _add_years(birth_date, 1):
        return None
    return since


def _add_years(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


def _past_date(value: dt.date | None, field: str, today: dt.date) -> dt.date:
    if value is None:
        raise InvalidArgument("required", field=field)
    if value > today:
        raise InvalidArgument("must not be in the future", field=field)
    return value


def _check_arrears(rule: SignalTypeRule, arrears: LocalArrears | None) -> None:
    if not rule.arrears:
        if arrears is not None and arrears != LocalArrears():
            raise InvalidArgument(
                f"only for arrears signal types, not {rule.signal_type}", field="arrears"
            )
        return
    if arrears is None:
        raise InvalidArgument(f"required for {rule.signal_type}", field="arrears")
    if not 0 < arrears.amount_cents <= MAX_AMOUNT_CENTS:
        raise InvalidArgument(
            f"must be between 1 and {MAX_AMOUNT_CENTS}", field="arrears.amount_cents"
        )
    if not 0 < arrears.months_in_arrears <= MAX_MONTHS_IN_ARREARS:
        raise InvalidArgument(
            f"must be between 1 and {MAX_MONTHS_IN_ARREARS}", field="arrears.months_in_arrears"
        )
    # Wgs preconditions: the creditor must have tried to reach the resident and sent a reminder.
    if not arrears.contact_attempted:
        raise InvalidArgument(
            "the sender must have attempted contact before an early debt signal",
            field="arrears.contact_attempted",
        )
    if not arrears.written_reminder_sent:
        raise InvalidArgument(
            "the sender must have sent a written reminder before an early debt signal",
            field="arrears.written_reminder_sent",
        )


def _build_signal(c: _Checked, subject: Subject) -> Signal:
    a = c.signal.arrears
    return Signal(
        signal_type=c.rule.signal_type,
        life_domain=c.rule.life_domain,
        urgency=c.signal.urgency,
        legal_basis=c.rule.legal_basis,
        observed_on=c.observed_on,
        keep_until=c.keep_until,
        subject=subject,
        arrears=(
            Arrears(
                a.amount_cents, a.months_in_arrears, a.contact_attempted, a.written_reminder_sent
            )
            if c.rule.arrears and a is not None
            else None
        ),
    )


def _log_refusal(exc: SeinhuisError) -> None:
    log.info("node.signal_refused_locally", code=exc.status, field=getattr(exc, "field", None))
