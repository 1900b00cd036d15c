"""Atomic file writes for the operator commands: a temp file in the target's folder, then rename.

A reader (a service starting, a backup script) sees the old file or the new one, never half a
file, and a crash leaves at most a stray `.NAME.*.tmp` beside it. Without `replace` an existing
target is never overwritten, also not by a file that appears while we write (a hard link fails
when the name exists).
"""

from __future__ import annotations

import contextlib
import errno
import os
import tempfile
from pathlib import Path

from seinhuis.errors import ConfigError


def folder_of(target: Path) -> Path:
    """The target's folder, which must exist (a typo must not create a new tree of folders)."""
    folder = target.parent
    if not folder.is_dir():
        raise ConfigError(f"{target}: the folder {folder} does not exist")
    return folder


def temp_beside(target: Path) -> Path:
    """A new empty file (mode 0600) in the target's folder, named after it."""
    fd, name = tempfile.mkstemp(dir=folder_of(target), prefix=f".{target.name}.", suffix=".tmp")
    os.close(fd)
    return Path(name)


def refuse_existing(targets: list[Path], *, force: bool) -> None:
    """Stop before writing anything when a target exists and --force was not given."""
    if force:
        return
    for target in targets:
        if target.exists() or target.is_symlink():
            raise ConfigError(f"{target}: exists already; pass --force to replace it")


def publish(temp: Path, target: Path, *, replace: bool) -> None:
    """Move a finished temp file to its name (flushed to disk first); the temp file is gone after,
    also when this fails."""
    try:
        fsync(temp)
        if replace:
            os.replace(temp, target)
        else:
            _link_new(temp, target)
        _fsync_folder(target.parent)
    finally:
        with contextlib.suppress(FileNotFoundError):
            temp.unlink()


def write_text(target: Path, text: str, *, replace: bool, mode: int | None = None) -> None:
    """Write a text file atomically; `mode` defaults to the replaced file's (else 0600)."""
    if mode is None and target.exists():
        mode = target.stat().st_mode & 0o777
    temp = temp_beside(target)
    try:
        temp.write_text(text, encoding="utf-8")
        if mode is not None:
            temp.chmod(mode)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    publish(temp, target, replace=replace)


def _link_new(temp: Path, target: Path) -> None:
    try:
        os.link(temp, target)
    except FileExistsError:
        raise ConfigError(f"{target}: exists already; pass --force to replace it") from None
    except OSError as exc:
        # Some file systems have no hard links; there a check just before the rename has to do.
        if exc.errno not in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EXDEV):
            raise
        refuse_existing([target], force=False)
        os.replace(temp, target)


def fsync(path: Path) -> None:
    """A file's (or a folder's) content on disk before this returns."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_folder(folder: Path) -> None:
    # The rename itself must reach the disk too; not every platform can fsync a folder.
    with contextlib.suppress(OSError):
        fsync(folder)


def write_port_file(path: Path, port: int) -> None:
    """A service's bound port, for scripts and tests to read; never seen half-written."""
    path.parent.mkdir(parents=True, exist_ok=True)
    write_text(path, f"{port}\n", replace=True, mode=0o644)
