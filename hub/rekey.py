"""Re-keying after an OPRF key rotation: every stored pseudonym moves to the current key version.

The pseudonymisation service gives the hub, per identifier kind, the factor
k_new * k_old^-1; one scalar multiplication moves a pseudonym from the old key to the new one.
No identifier leaves any node, and the factor cannot compute the pseudonym of a new input.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from hub import institutions as institutions_module
from hub.store import HubStore
from pseudonym.client import PseudonymClient
from seinhuis import logs
from seinhuis.crypto import oprf
from seinhuis.vocabulary import IdentifierKind

log = logs.get_logger(__name__)


@dataclass(frozen=True)
class RekeyReport:
    to_version: int
    rows: int
    versions_moved: tuple[int, ...]
    institutions_moved: bool


def rekey_to_current(
    store: HubStore, client: PseudonymClient, institutions_file: Path | None
) -> RekeyReport:
    """Move every pseudonym held under an older key version to the service's current one."""
    info = client.key_info()
    target = info.current_version
    rows = 0
    moved = []
    factors_cache: dict[int, dict[str, bytes]] = {}

    def factors(version: int) -> dict[str, bytes]:
        if version not in factors_cache:
            factors_cache[version] = {
                kind.value: client.rekey_factor(kind, version, target)
                for kind in (IdentifierKind.PERSON, IdentifierKind.ADDRESS)
            }
        return factors_cache[version]

    for version in sorted(v for v in info.versions if v < target):
        f = factors(version)
        n = store.rekey(version, target, lambda kind, p, f=f: oprf.rekey(f[kind], p))  # type: ignore[misc]
        if n:
            moved.append(version)
            rows += n
            log.info("hub.rekeyed", kind="ALL", from_version=version, to_version=target, count=n)
    institutions_moved = False
    if institutions_file is not None:
        listed = institutions_module.load(institutions_file)
        if listed.entries and listed.key_version < target:
            factor = factors(listed.key_version)[IdentifierKind.ADDRESS.value]
            institutions_module.save(
                institutions_file,
                institutions_module.Institutions(
                    target, tuple((oprf.rekey(factor, p), k) for p, k in listed.entries)
                ),
            )
            institutions_moved = True
    return RekeyReport(target, rows, tuple(moved), institutions_moved)
