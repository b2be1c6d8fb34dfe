"""Where ``karmo-roles discover`` writes, and how: only inside the target it is given.

A file name made from an organization id keeps only characters that are safe in a name
(the rest replaced, and a digest of the id added so that names stay distinct); a file is
created in its directory by name, never through a symbolic link; an existing file is
replaced only with ``--force``, and then by renaming a new file over it, so nothing that
the old name pointed at (a link's target, another hard link) is written to.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import secrets
import stat
from collections.abc import Sequence
from pathlib import Path

from .errors import ConfigurationError

_SAFE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")
_UNSAFE_CHARACTER = re.compile(r"[^A-Za-z0-9._-]")


def file_name(organization_id: str, extension: str) -> str:
    """The file a group whose first organization is ``organization_id`` is written to:
    ``org_123.yaml``, or for an id with other characters (or a leading dot) those replaced
    by ``_`` and a digest of the id added (``org_a_b-1f2e3d4c.yaml``)."""
    if _SAFE_NAME.fullmatch(organization_id):
        return f"{organization_id}.{extension}"
    digest = hashlib.sha256(organization_id.encode("utf-8", "surrogatepass")).hexdigest()[:8]
    stem = _UNSAFE_CHARACTER.sub("_", organization_id)[:80].lstrip(".") or "organization"
    return f"{stem}-{digest}.{extension}"


def shown(path: Path) -> str:
    """A path as a message shows it: control characters escaped (a directory given on the
    command line may hold any)."""
    text = str(path)
    return text if text.isprintable() else repr(text)[1:-1]


def check_writable(paths: Sequence[Path], *, force: bool) -> None:
    """Refuse before anything is written: a target that is a symbolic link or not a
    regular file, or that exists without ``force``.

    :raises ConfigurationError: naming the first such path.
    """
    for path in paths:
        try:
            mode = path.lstat().st_mode
        except FileNotFoundError:
            continue
        _refuse_existing(path, mode, force=force)


def _refuse_existing(path: Path, mode: int, *, force: bool) -> None:
    if stat.S_ISLNK(mode):
        raise ConfigurationError(
            f"{shown(path)} is a symbolic link: discovery never writes through one "
            "(remove it, or choose another --output)"
        )
    if not stat.S_ISREG(mode):
        raise ConfigurationError(f"{shown(path)} exists and is not a regular file")
    if not force:
        raise ConfigurationError(f"{shown(path)} exists: pass --force to replace it")


def write_new(path: Path, text: str, *, force: bool) -> None:
    """Write ``text`` to ``path`` as a new file, created by name in its directory (a
    symbolic link there is never followed). An existing file is an error, or with
    ``force`` is replaced whole by renaming a new file over it.

    :raises ConfigurationError: the path is a symbolic link, not a regular file, or
        exists without ``force``.
    :raises OSError: the file cannot be written.
    """
    data = text.encode("utf-8")
    directory = os.open(path.parent, os.O_RDONLY | os.O_DIRECTORY)
    try:
        if not force:
            _create(path.name, data, directory, path)
            return
        with contextlib.suppress(FileNotFoundError):  # a new file needs no check
            _refuse_existing(path, os.lstat(path.name, dir_fd=directory).st_mode, force=True)
        temporary = f".{path.name}.{secrets.token_hex(6)}.tmp"  # a name no one chose first
        _create(temporary, data, directory, path.parent / temporary)
        try:
            os.replace(temporary, path.name, src_dir_fd=directory, dst_dir_fd=directory)
        except BaseException:
            os.unlink(temporary, dir_fd=directory)
            raise
    finally:
        os.close(directory)


def _create(name: str, data: bytes, directory: int, path: Path) -> None:
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0)
    try:
        descriptor = os.open(name, flags, 0o644, dir_fd=directory)
    except FileExistsError:  # O_EXCL: also for a symbolic link, dangling or not
        mode = os.lstat(name, dir_fd=directory).st_mode
        _refuse_existing(path, mode, force=False)
        raise
    try:
        with os.fdopen(descriptor, "wb") as stream:
            stream.write(data)
    except BaseException:
        os.unlink(name, dir_fd=directory)
        raise
