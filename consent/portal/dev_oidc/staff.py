"""The synthetic municipal staff the development provider offers a client of kind "staff"
(the hub's dashboard). Each is a member of the hub's staff registry by id; the token says who
logged in, the hub's registry (hub/staff.py) decides what they may see.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

#: The claim that names the staff member (the dashboard's default `staff_claim`).
STAFF_CLAIM = "preferred_username"


@dataclass(frozen=True)
class StaffAccount:
    #: The member's id in the hub's staff registry; also what the login page posts back.
    key: str
    #: Shown in the picker only (e.g. "operator"); the hub's registry decides the role.
    role: str = ""

    @property
    def sub(self) -> str:
        """The provider's stable subject identifier."""
        return f"medewerker-{self.key}"

    def claims(self) -> dict[str, Any]:
        return {"sub": self.sub, STAFF_CLAIM: self.key}


def by_key(accounts: tuple[StaffAccount, ...], key: str) -> StaffAccount | None:
    return next((a for a in accounts if a.key == key), None)
