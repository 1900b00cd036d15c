"""Versioned OPRF master keys in a folder, and the per-kind keys derived from them.

Layout: `<dir>/v<n>.key` holds version n's 32-byte master seed (`seinhuis-oprf-master <hex>`,
mode 0600, folder 0700). The highest version is current; older ones stay so re-key factors can
be computed. The key for kind K under version n is
`DeriveKeyPair(seed_n, b"seinhuis/pseudonym/<k>/v<n>")` with k the lowercase kind, so person
and address pseudonyms of the same string are unrelated.
"""

from __future__ import annotations

import os
import re
import stat
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from pseudonym.model import KeyInfo
from seinhuis import atomic, logs
from seinhuis.crypto import oprf
from seinhuis.crypto.keys import read_key, write_key
from seinhuis.errors import ConfigError, InvalidArgument, NotFound, SeinhuisError
from seinhuis.vocabulary import IdentifierKind

log = logs.get_logger(__name__)

KEY_LABEL = "oprf-master"
SEED_BYTES = 32
_VERSION_FILE = re.compile(r"^v([1-9][0-9]{0,8})\.key$")


def key_label(kind: IdentifierKind, version: int) -> bytes:
    """The DeriveKeyPair info for one kind and version: one key per purpose."""
    return f"seinhuis/pseudonym/{kind.value.lower()}/v{version}".encode()


def _path(directory: Path, version: int) -> Path:
    return directory / f"v{version}.key"


def list_versions(directory: Path) -> tuple[int, ...]:
    """The versions present in a keyring folder, ascending."""
    try:
        names = os.listdir(directory)
    except OSError as exc:
        raise ConfigError(f"{directory}: cannot read keyring ({exc.strerror})") from exc
    return tuple(sorted(int(m[1]) for n in names if (m := _VERSION_FILE.match(n))))


@dataclass(frozen=True)
class Keyring:
    """The loaded keys of every version and kind; key material never appears in repr."""

    directory: Path
    versions: tuple[int, ...]
    _keys: Mapping[tuple[IdentifierKind, int], oprf.OprfKey] = field(repr=False)

    @property
    def current_version(self) -> int:
        return self.versions[-1]

    def info(self) -> KeyInfo:
        return KeyInfo(self.current_version, self.versions)

    def key(self, kind: IdentifierKind, version: int | None = None) -> oprf.OprfKey:
        version = self.current_version if version is None else version
        try:
            return self._keys[kind, version]
        except KeyError:
            raise NotFound(f"key version {version} does not exist") from None

    def rekey_factor(self, kind: IdentifierKind, from_version: int, to_version: int) -> bytes:
        """k_new * k_old^-1 for one kind: multiplies a from_version pseudonym into to_version."""
        for name, version in (("from_version", from_version), ("to_version", to_version)):
            if version < 1:
                raise InvalidArgument("must be a key version (1 or more)", field=name)
        return oprf.rekey_factor(self.key(kind, from_version), self.key(kind, to_version))


def load(directory: Path) -> Keyring:
    """Read and check every version file; refuse files others may read."""
    versions = list_versions(directory)
    if not versions:
        raise ConfigError(
            f"{directory}: the keyring holds no keys; run `seinhuis pseudonym init-keyring`"
        )
    keys: dict[tuple[IdentifierKind, int], oprf.OprfKey] = {}
    for version in versions:
        path = _path(directory, version)
        seed = read_key(path, KEY_LABEL, SEED_BYTES)
        if stat.S_IMODE(path.stat().st_mode) & 0o077:
            raise ConfigError(f"{path}: a master key must be readable by its owner only (0600)")
        for kind in IdentifierKind:
            keys[kind, version] = oprf.derive_key_pair(seed, key_label(kind, version))
    return Keyring(directory, versions, keys)


def _add_version(directory: Path, version: int) -> None:
    """Write v<version>.key atomically and exclusively, and make it durable.

    A half-written or lost master key would orphan every pseudonym made with it, so the seed
    goes to a temporary file that is synced and then hard-linked into place (link fails if the
    name exists, so two rotations at once cannot overwrite each other).
    """
    final = _path(directory, version)
    tmp = directory / f".{final.name}.{os.getpid()}.tmp"
    write_key(tmp, KEY_LABEL, os.urandom(SEED_BYTES), secret=True)
    try:
        atomic.fsync(tmp)
        os.link(tmp, final)
    except FileExistsError:
        raise ConfigError(f"{final}: exists already (another rotation?)") from None
    finally:
        tmp.unlink(missing_ok=True)
    atomic.fsync(directory)


def create(directory: Path) -> Keyring:
    """A new keyring holding version 1; refuses a folder that already holds keys."""
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    if list_versions(directory):
        raise ConfigError(f"{directory}: holds keys already; use `seinhuis pseudonym rotate`")
    directory.chmod(0o700)  # it may have existed with looser rights
    _add_version(directory, 1)
    return load(directory)


def rotate(directory: Path) -> Keyring:
    """Add version n+1, which becomes current; the old versions stay for re-key factors."""
    current = load(directory).current_version
    _add_version(directory, current + 1)
    return load(directory)


class KeyringWatcher:
    """Hands out the loaded keyring and picks up a rotation done on disk while running.

    The folder is listed at most once per `interval_s`, so the cost on the request path is a
    clock read; a keyring that fails to load keeps the previous one in service.
    """

    def __init__(
        self,
        directory: Path,
        *,
        interval_s: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._directory = directory
        self._interval = interval_s
        self._clock = clock
        self._keyring = load(directory)
        self._checked = clock()
        self._lock = threading.Lock()

    def get(self) -> Keyring:
        if self._clock() - self._checked >= self._interval:
            with self._lock:
                # Another thread may have reloaded while this one waited for the lock.
                if self._clock() - self._checked >= self._interval:
                    self._reload()
        return self._keyring

    def refresh(self) -> Keyring:
        """Reload now if the versions on disk differ from the loaded ones."""
        with self._lock:
            self._reload()
        return self._keyring

    def _reload(self) -> None:
        self._checked = self._clock()
        old = self._keyring
        try:
            if list_versions(self._directory) == old.versions:
                return
            self._keyring = new = load(self._directory)
        except SeinhuisError as exc:
            log.error("pseudonym.keyring_reload_failed", error=type(exc).__name__)
            return
        if new.current_version != old.current_version:
            for kind in IdentifierKind:
                log.info(
                    "pseudonym.rotated",
                    kind=kind.value,
                    from_version=old.current_version,
                    to_version=new.current_version,
                )
