"""Re-keying after an OPRF key rotation: every stored pseudonym moves to the current key version.

The pseudonymisation service gives the hub, per identifier kind, the factor
k_new * k_old^-1; one scalar multiplication moves a pseudonym from the old key to the new one.
No identifier leaves any node, and the factor cannot compute the pseudonym of a new input.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from hub import institutions as institutions_module
from hub.store import HubStore
from pseudonym.client import PseudonymClient
from seinhuis import logs
from seinhuis.crypto import oprf
from seinhuis.errors import SeinhuisError
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


class KeyVersionFollower:
    """A background thread that keeps the hub on the service's current key version.

    After a rotation it re-keys everything stored; afterwards it also catches signals that
    nodes pseudonymised just before the rotation and delivered after it.
    """

    def __init__(
        self,
        store: HubStore,
        client_factory: Callable[[], PseudonymClient],
        institutions_file: Path | None,
        interval_s: float,
    ) -> None:
        self._store = store
        self._client_factory = client_factory
        self._institutions_file = institutions_file
        self._interval_s = interval_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="key-version-follower", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def _run(self) -> None:
        while not self._stop.wait(self._interval_s):
            try:
                with self._client_factory() as client:
                    rekey_to_current(self._store, client, self._institutions_file)
            except SeinhuisError as exc:
                # The service may be down for a while; the next round tries again.
                log.warning("hub.rekey_failed", error=type(exc).__name__)
