"""From a validated ID token to a member of the hub's staff registry (pure).

The token says who logged in (one claim, by default `preferred_username`, holding the member's
id in staff.yaml); the registry says in which role. Someone the registry does not list is
refused, whatever the token says.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from hub.staff import StaffMember, StaffRegistry
from seinhuis.web.oidc import LoginRefused


def member_from_claims(
    claims: Mapping[str, Any], registry: StaffRegistry, claim: str
) -> StaffMember:
    """The member the token names; LoginRefused with a reason code otherwise."""
    value = claims.get(claim)
    if not isinstance(value, str) or not value:
        raise LoginRefused(f"claims.{claim}")
    member = registry.members.get(value)
    if member is None:
        raise LoginRefused("staff.unknown")
    return member
