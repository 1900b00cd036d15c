"""Which caller may call which operation, by the common name of its client certificate.

    role     who                                   may
    portal   a CN in portal_ids (same trust domain)  Grant, Revoke, List, Check
    hub      a CN in hub_ids                         Check, Watch
    node     any other CN the network CA issued      Check, for its own partner id only

Grants and revocations come only from the portal, which authenticates residents and passes
who they are and whom they represent; a node's or the hub's certificate can never change a
resident's consent.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from seinhuis.errors import PermissionDenied


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


@dataclass(frozen=True)
class Access:
    portal_ids: frozenset[str]
    hub_ids: frozenset[str]

    def __post_init__(self) -> None:
        if self.portal_ids & self.hub_ids:
            raise ValueError("a certificate name cannot be both a portal and the hub")

    def role(self, caller: str) -> Role:
        if caller in self.portal_ids:
            return Role.PORTAL
        if caller in self.hub_ids:
            return Role.HUB
        return Role.NODE

    def authorize(self, caller: str, operation: Operation) -> Role:
        """The caller's role; PermissionDenied naming the rule when it may not do this."""
        role = self.role(caller)
        if operation not in ALLOWED[role]:
            raise PermissionDenied(f"rule access.{role.value}: a {role.value} may not {operation}")
        return role

    def authorize_check_for(self, caller: str, partner_id: str) -> None:
        """A node may ask only about its own data use (its CN is its partner id)."""
        if self.role(caller) is Role.NODE and partner_id != caller:
            raise PermissionDenied(
                "rule access.own-partner: a node may only check for its own partner id"
            )
