"""Which caller may call which operation, by the common name of its client certificate.

    role     who                                     may
    portal   a CN in portal_ids (same trust domain)    Grant, Revoke, List, Check
    hub      a CN in hub_ids                           Check, Watch
    node     a CN in this registry's partner list      Check, for its own partner id and type
    -        any other CN the network CA issued        nothing

Grants and revocations come only from the portal, which authenticates residents and passes
who they are and whom they represent; a node's or the hub's certificate can never change a
resident's consent. Default deny: a certificate of the network's CA that is no partner's (a
member of staff, another service, a partner that was removed) learns nothing here, and a
partner asks only about itself, as the kind of organisation it is registered as: a school
cannot learn whether someone consented to their GP signalling.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from seinhuis.errors import PermissionDenied
from seinhuis.partner_list import ListedPartner
from seinhuis.vocabulary import PartnerType


class Role(StrEnum):
    PORTAL = "portal"
    HUB = "hub"
    NODE = "node"


class Operation(StrEnum):
    CHECK = "Check"
    GRANT = "Grant"
    REVOKE = "Revoke"
    LIST = "List"
    WATCH = "Watch"


ALLOWED: dict[Role, frozenset[Operation]] = {
    Role.PORTAL: frozenset({Operation.CHECK, Operation.GRANT, Operation.REVOKE, Operation.LIST}),
    Role.HUB: frozenset({Operation.CHECK, Operation.WATCH}),
    Role.NODE: frozenset({Operation.CHECK}),
}


#: The refusal for a certificate that is no partner's, portal's or hub's.
NOT_LISTED = (
    "rule access.unknown: only registered partners, the portal and the hub may use the consent"
    " registry"
)


@dataclass(frozen=True)
class Access:
    portal_ids: frozenset[str]
    hub_ids: frozenset[str]
    #: Certificate CN -> partner, from this registry's copy of the partner registry.
    partners: Mapping[str, ListedPartner] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.portal_ids & self.hub_ids:
            raise ValueError("a certificate name cannot be both a portal and the hub")
        if (self.portal_ids | self.hub_ids) & set(self.partners):
            raise ValueError("a partner's certificate name cannot be a portal's or the hub's")

    def role(self, caller: str) -> Role | None:
        """The caller's role; None for a certificate name this registry does not list."""
        if caller in self.portal_ids:
            return Role.PORTAL
        if caller in self.hub_ids:
            return Role.HUB
        if caller in self.partners:
            return Role.NODE
        return None

    def authorize(self, caller: str, operation: Operation) -> Role:
        """The caller's role; PermissionDenied naming the rule when it may not do this."""
        role = self.role(caller)
        if role is None:
            raise PermissionDenied(NOT_LISTED, detail="unknown")
        if operation not in ALLOWED[role]:
            raise PermissionDenied(
                f"rule access.{role.value}: a {role.value} may not {operation}",
                detail=role.value,
            )
        return role

    def authorize_check_for(self, caller: str, partner_id: str, partner_type: PartnerType) -> None:
        """A node may ask only about its own data use, as the kind of partner it is."""
        if self.role(caller) is not Role.NODE:
            return
        listed = self.partners[caller]
        if partner_id != listed.id:
            raise PermissionDenied(
                "rule access.own-partner: a node may only check for its own partner id",
                detail="own-partner",
            )
        if partner_type is not listed.type:
            raise PermissionDenied(
                "rule access.own-type: a node may only check as the partner type it is"
                " registered as",
                detail="own-type",
            )
