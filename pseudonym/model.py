"""Plain values the pseudonymisation service and its clients exchange; no grpc, no storage."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum

from seinhuis.vocabulary import IdentifierKind


@dataclass(frozen=True)
class KeyInfo:
    """Which key versions exist; new pseudonyms are made under the current one."""

    current_version: int
    versions: tuple[int, ...]


@dataclass(frozen=True)
class Evaluation:
    """Evaluated elements, in request order, and the key version that made them."""

    key_version: int
    elements: list[bytes]


class Operation(StrEnum):
    EVALUATE = "evaluate"
    REKEY_FACTOR = "rekey_factor"


#: The outcome of a query that was answered; refusals carry their gRPC status name instead.
OK = "OK"


@dataclass(frozen=True)
class AuditRecord:
    """One query: who asked what kind of work, how much, under which key, with what outcome.

    Nothing about the values: no elements, no factors, no identifiers.
    """

    at: dt.datetime
    partner: str
    operation: Operation
    kind: IdentifierKind
    count: int
    key_version: int
    outcome: str
    from_version: int | None = None
