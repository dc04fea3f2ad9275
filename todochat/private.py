"""Directories and files that hold a user's data: owner-only whatever the umask.

Under `umask 000` a plain `mkdir` makes a directory every local user may write into, so
another user could swap in a database of theirs. What we create is made 0700 (directories)
or 0600 (files) explicitly, after creation, so the umask cannot widen (or narrow) it.
Existing directories are left as they are: they may be shared on purpose (`/tmp`, `$HOME`).
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

DIR_MODE = 0o700
FILE_MODE = 0o600


def make_dirs(path: str | os.PathLike[str]) -> None:
    """Create `path` and any missing parents, each owner-only; existing ones are kept."""
    target = Path(path)
    missing = []
    while not target.exists() and target != target.parent:
        missing.append(target)
        target = target.parent
    for directory in reversed(missing):
        try:
            directory.mkdir(mode=DIR_MODE)
        except FileExistsError:
            continue  # another process made it a moment ago
        os.chmod(directory, DIR_MODE)


def create_file(path: str | os.PathLike[str]) -> bool:
    """Create an empty owner-only file (and its directories); False if it already exists.

    `O_EXCL` never opens what is there, a symlink included, so nothing is created through one.
    """
    make_dirs(Path(path).parent)
    try:
        fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, FILE_MODE)
    except FileExistsError:
        return False
    try:
        os.fchmod(fd, FILE_MODE)
    finally:
        os.close(fd)
    return True


def open_file(path: str | os.PathLike[str], flags: int) -> int:
    """A descriptor on `path` opened with `flags`, created owner-only if absent; never
    through a symlink (`ELOOP`)."""
    make_dirs(Path(path).parent)
    try:
        fd = os.open(path, flags | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, FILE_MODE)
    except FileExistsError:
        return os.open(path, flags | os.O_NOFOLLOW)
    os.fchmod(fd, FILE_MODE)
    return fd


def not_ours(found: os.stat_result) -> str | None:
    """Why a file (from `lstat`/`fstat`) is not ours to write or delete; None when it is."""
    if stat.S_ISLNK(found.st_mode):
        return "a symlink"
    if not stat.S_ISREG(found.st_mode):
        return "not a regular file"
    if found.st_uid != os.getuid():
        return f"owned by another account (uid {found.st_uid})"
    return None


def remove_if_ours(path: str | os.PathLike[str]) -> str | None:
    """Delete `path` if it is our own regular file; None when done (or there was none),
    else why it was left."""
    try:
        why = not_ours(os.lstat(path))
    except FileNotFoundError:
        return None
    if why is None:
        Path(path).unlink(missing_ok=True)
    return why
