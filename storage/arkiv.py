"""Archive message folders on disk (CONNECTIONS.md section 3).

`write_message(root, message)` puts one `processor.arkiv.ArchiveMessage` under `root` (the folder
`SKJEMAMOTTAK_ARKIV_DIR`, or the `--til` folder of `skjemamottak arkiv eksport`):

1. the files are written into a new folder whose name starts with `.` (integrations skip such
   names), each file fsynced, then the folder fsynced;
2. the folder is renamed to its final name and `root` is fsynced.

A folder that exists under the final name counts as done and is never rewritten: the message is
there exactly once, also when two writers race (the loser's rename finds the winner's folder, which
is never empty, and fails; its temporary folder is removed). A crash leaves at most a `.` folder,
never a half-written message under its final name. Folders are 0700 and files 0600 (the owner's
only, as in the blob store); `root` is created 0700 when missing and left as it is otherwise.
"""

from __future__ import annotations

import errno
import os
import shutil
import tempfile
from collections.abc import Iterable
from pathlib import Path

from processor.arkiv import ArchiveMessage
from storage.blobs import fsync_dir

# rename(2) of a folder onto an existing non-empty folder or a file
_TAKEN = {errno.EEXIST, errno.ENOTEMPTY, errno.ENOTDIR, errno.EISDIR}


def _check_name(name: str) -> str:
    """One plain path component that is not hidden: what a message may name."""
    if (
        not isinstance(name, str)
        or not name
        or name.startswith(".")
        or "/" in name
        or "\\" in name
        or "\x00" in name
    ):
        raise ValueError(f"not a plain file or folder name: {name!r}")
    return name


def _prepare_root(root: Path) -> None:
    if root.is_dir():
        return
    root.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(root, 0o700)
    fsync_dir(root.parent)


def _write_file(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    with os.fdopen(fd, "wb") as f:
        os.fchmod(f.fileno(), 0o600)  # whatever the umask
        f.write(data)
        f.flush()
        os.fsync(f.fileno())


def write_message(root: str | os.PathLike[str], message: ArchiveMessage) -> bool:
    """Write the message's folder under `root`: True when this call put it there, False when a
    folder of that name was there already (then nothing is changed). OSError when the disk
    refuses (no space, no permission): nothing is left under the final name then."""
    folder = _check_name(message.folder)
    names = [_check_name(name) for name in message.files]
    if not names:
        raise ValueError("a message folder holds at least one file")
    base = Path(root)
    _prepare_root(base)
    target = base / folder
    if os.path.lexists(target):
        return False
    tmp = Path(tempfile.mkdtemp(prefix=f".{folder}.", dir=base))  # 0700
    placed = False
    try:
        for name in sorted(names):
            _write_file(tmp / name, message.files[name])
        fsync_dir(tmp)
        try:
            os.rename(tmp, target)
        except OSError as exc:
            if exc.errno in _TAKEN:
                return False  # another writer was first
            raise
        placed = True
    finally:
        if not placed:
            shutil.rmtree(tmp, ignore_errors=True)
    fsync_dir(base)
    return True


def write_messages(
    root: str | os.PathLike[str], messages: Iterable[ArchiveMessage]
) -> list[tuple[str, bool]]:
    """Write each message (`write_message`), in order: (folder, written) for each."""
    return [(m.folder, write_message(root, m)) for m in messages]


def read_message(root: str | os.PathLike[str], folder: str) -> dict[str, bytes]:
    """The files of a message folder under `root` (name → bytes)."""
    path = Path(root) / _check_name(folder)
    return {p.name: p.read_bytes() for p in sorted(path.iterdir())}


__all__ = ["read_message", "write_message", "write_messages"]
