"""From a validated ID token to the consent registry's Actor, through the pseudonymisation service.

The token's citizen numbers live only in this module's locals for the one login request: they
are checked, turned into pseudonyms in one call, and dropped. Only pseudonyms and ages go on.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from consent.model import Pseudonym
from consent.representation import MAX_AGE, Actor, RepresentedChild
from node.identifiers import Bsn
from seinhuis.errors import InvalidArgument
from seinhuis.vocabulary import IdentifierKind

# The token's claims cannot make an actor: the same refusal as the login's own (one handler).
from seinhuis.web.oidc import LoginRefused

__all__ = ["MAX_CHILDREN", "LoginRefused", "Pseudonymizer", "actor_from_claims"]

#: More children under one person's authority than this is not a real token.
MAX_CHILDREN = 20


class Pseudonymizer(Protocol):
    """pseudonym.client.PseudonymClient, or a stand-in in tests."""

    def pseudonymize(
        self, kind: IdentifierKind, inputs: Sequence[bytes]
    ) -> tuple[int, list[bytes]]: ...


def _age(value: Any, reason: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_AGE:
        raise LoginRefused(reason)
    return value


def _bsn(value: Any, reason: str) -> Bsn:
    if not isinstance(value, str):
        raise LoginRefused(reason)
    try:
        return Bsn(value)
    except InvalidArgument:
        raise LoginRefused(reason) from None


def actor_from_claims(claims: Mapping[str, Any], pseudonymizer: Pseudonymizer) -> Actor:
    """The Actor for the token's person and the children they represent.

    Claims: `bsn` and `age` of the person, and `children`: a list of {`bsn`, `age`} for the
    children under their authority (as DigiD Machtigen or the BRP's gezag would say).
    Raises LoginRefused with a reason code; pseudonymisation errors pass through.
    """
    bsn = _bsn(claims.get("bsn"), "claims.bsn")
    age = _age(claims.get("age"), "claims.age")
    raw_children = claims.get("children", [])
    if not isinstance(raw_children, list) or len(raw_children) > MAX_CHILDREN:
        raise LoginRefused("claims.children")
    children: list[tuple[Bsn, int]] = []
    for child in raw_children:
        if not isinstance(child, Mapping):
            raise LoginRefused("claims.children")
        pair = (
            _bsn(child.get("bsn"), "claims.children.bsn"),
            _age(child.get("age"), "claims.children.age"),
        )
        children.append(pair)
    inputs = [bsn.oprf_input, *(c.oprf_input for c, _ in children)]
    key_version, pseudonyms = pseudonymizer.pseudonymize(IdentifierKind.PERSON, inputs)
    if len(pseudonyms) != len(inputs):
        raise LoginRefused("pseudonym.count")
    person = Pseudonym(pseudonyms[0], key_version)
    represented = tuple(
        RepresentedChild(Pseudonym(p, key_version), child_age)
        for p, (_, child_age) in zip(pseudonyms[1:], children, strict=True)
    )
    try:
        return Actor(person, age, represented)
    except InvalidArgument:
        raise LoginRefused("claims.children.duplicate") from None
