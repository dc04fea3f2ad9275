"""Writing a file the user named: atomically, private, and never over an existing file by
surprise."""

from __future__ import annotations

import errno
import os
import stat
import tempfile
from pathlib import Path

from todochat.errors import TodochatError


class TargetExistsError(TodochatError):
    """The target exists and the user did not ask to replace it."""


def write_atomically(path: str, data: str, replace: bool = False) -> None:
    """Write `data` to a temporary file beside `path`, then move it into place.

    A reader never sees half a file, and a failure leaves any earlier file as it was. Unless
    `replace`, an existing `path` is an error, checked by the final link itself (no window
    in which another file could appear and be overwritten). The file is readable by its
    owner only: an export holds a whole private log.
    """
    target = Path(path)
    if _is_stream(target):  # /dev/stdout, a pipe: written into, never replaced
        _write_into(target, data)
        return
    if not replace and target.exists():
        raise TargetExistsError(f"{path} exists; use --force to replace it")
    if target.exists() and not target.is_symlink() and not target.is_file():
        raise TodochatError(f"cannot write {path}: it is not a regular file")
    try:
        fd, temporary = tempfile.mkstemp(
            dir=target.parent, prefix=f".{target.name}.", suffix=".tmp"
        )
    except OSError as exc:
        raise TodochatError(f"cannot write {path}: {exc.strerror or exc}") from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        _place(temporary, target, replace)
    except OSError as exc:
        raise TodochatError(f"cannot write {path}: {exc.strerror or exc}") from None
    finally:
        Path(temporary).unlink(missing_ok=True)


def _is_stream(target: Path) -> bool:
    """A character device or a named pipe: a destination to write into, not a file we may
    replace (as root, a rename over `/dev/full` would put a plain file where the device was)."""
    try:
        mode = target.stat().st_mode
    except OSError:
        return False
    return stat.S_ISCHR(mode) or stat.S_ISFIFO(mode)


def _write_into(target: Path, data: str) -> None:
    try:
        with open(target, "w", encoding="utf-8") as handle:
            handle.write(data)
    except OSError as exc:
        raise TodochatError(f"cannot write {target}: {exc.strerror or exc}") from None


def _place(temporary: str, target: Path, replace: bool) -> None:
    if replace:
        os.replace(temporary, target)
        return
    try:
        os.link(temporary, target)  # fails if the target appeared meanwhile
    except FileExistsError:
        raise TargetExistsError(f"{target} exists; use --force to replace it") from None
    except OSError as exc:
        if exc.errno not in (errno.EPERM, errno.ENOTSUP, errno.EXDEV):
            raise
        if target.exists():  # a file system without hard links: check, then move
            raise TargetExistsError(f"{target} exists; use --force to replace it") from None
        os.replace(temporary, target)
