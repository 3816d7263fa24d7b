"""Content-addressed blob store: a file is named by the SHA-256 of its bytes.

`FileBlobStore` keeps blobs in a folder (`instance/blobs/ab/cdef…`). A write goes to a temporary
file in the target folder, is fsynced, renamed into place atomically and the folder is fsynced, so
after `put` returns the blob survives a crash, and a crash during `put` leaves at most a temporary
file (never a truncated blob under its final name). Reads verify the hash.

`BlobStore` is the interface an S3-compatible store (or an encrypting wrapper) implements.
`MemoryBlobStore` is for fast tests.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import tempfile
from abc import ABC, abstractmethod
from collections.abc import Iterator
from pathlib import Path

_SHA = re.compile(r"^[0-9a-f]{64}$")


class BlobError(Exception):
    """Base class of blob store errors."""


class BlobNotFound(BlobError, KeyError):
    def __init__(self, sha256: str) -> None:
        super().__init__(sha256)
        self.sha256 = sha256

    def __str__(self) -> str:
        return f"blob {self.sha256} not found"


class BlobCorrupt(BlobError):
    """The stored bytes no longer hash to the blob's name."""

    def __init__(self, sha256: str) -> None:
        super().__init__(f"blob {sha256} is damaged: its content does not match its hash")
        self.sha256 = sha256


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def check_sha(sha256: str) -> str:
    if not isinstance(sha256, str) or not _SHA.match(sha256):
        raise ValueError("not a lowercase hex SHA-256")
    return sha256


def checked(sha256: str, data: bytes) -> bytes:
    """The bytes of blob `sha256`, when they hash to its name; `BlobCorrupt` when they do not."""
    if sha256_hex(data) != sha256:
        raise BlobCorrupt(sha256)
    return data


class BlobStore(ABC):
    """Where the files the service makes itself live (decision letters; never an uploaded file,
    FORMS.md section 6, rule 3). Blobs are immutable and named by their SHA-256."""

    @abstractmethod
    def put(self, data: bytes) -> str:
        """Store the bytes durably and return their SHA-256 (hex). Idempotent."""

    @abstractmethod
    def get(self, sha256: str) -> bytes:
        """The bytes; `BlobNotFound` when absent, `BlobCorrupt` when they fail the hash."""

    @abstractmethod
    def exists(self, sha256: str) -> bool: ...

    @abstractmethod
    def delete(self, sha256: str) -> bool:
        """Remove the blob; True when it was there."""

    @abstractmethod
    def iter_all(self) -> Iterator[str]:
        """The SHA-256 of every stored blob, in sorted order."""

    def verify(self, sha256: str) -> bool:
        """True when the blob exists and its bytes match its name."""
        try:
            self.get(sha256)
        except BlobError:
            return False
        return True


def fsync_dir(path: Path) -> None:
    if os.name != "posix":  # directories cannot be opened for fsync on Windows
        return
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def atomic_write(
    target: Path, payload: bytes, *, root: Path | None = None, unreferenced: bool = False
) -> None:
    """Write `payload` to `target`: a `.tmp-` file in the target folder, renamed over the target,
    the file and the folder fsynced. `root` is fsynced too when the folder had to be created.

    By default the file is fsynced before the rename, so a crash leaves the old file or the new
    one, never a mix. `unreferenced=True` is for a new content-addressed blob that nothing refers
    to until the caller commits a row (after this returns): there the rename goes first and the
    two fsyncs follow, which the file system can serve with one journal commit instead of two (an
    upload waited for three: file, folder, database). A crash before the fsyncs can leave a torn
    file under the final name, which no row points at: every read checks the hash, `put` writes
    it again, and fsck removes it as an orphan.
    """
    folder = target.parent
    created = not folder.exists()
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    if created:
        os.chmod(folder, 0o700)  # the owner's only, whatever the umask (mkstemp files are 0600)
    if created and root is not None:
        fsync_dir(root)
    fd, tmp_name = tempfile.mkstemp(prefix=".tmp-", dir=folder)
    try:
        with os.fdopen(fd, "wb") as tmp:
            tmp.write(payload)
            tmp.flush()
            if unreferenced:
                os.replace(tmp_name, target)
            os.fsync(tmp.fileno())
        if not unreferenced:
            os.replace(tmp_name, target)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise
    fsync_dir(folder)


class FileBlobStore(BlobStore):
    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)
        self.root.mkdir(mode=0o700, parents=True, exist_ok=True)
        os.chmod(self.root, 0o700)  # uploaded forms: the owner's only

    def path_for(self, sha256: str) -> Path:
        check_sha(sha256)
        return self.root / sha256[:2] / sha256[2:]

    def encode(self, sha256: str, data: bytes) -> bytes:
        """What the file of blob `sha256` holds: the bytes themselves (`EncryptedFileBlobStore`
        seals them)."""
        return data

    def decode(self, sha256: str, raw: bytes) -> bytes:
        """The blob from what its file holds, checked against its name (`BlobCorrupt`)."""
        return checked(sha256, raw)

    def read_file(self, sha256: str) -> bytes:
        """What the file of blob `sha256` holds, undecoded; `BlobNotFound` when there is none."""
        try:
            return self.path_for(sha256).read_bytes()
        except FileNotFoundError:
            raise BlobNotFound(sha256) from None

    def put(self, data: bytes) -> str:
        data = bytes(data)
        sha = sha256_hex(data)
        target = self.path_for(sha)
        exists = target.exists()
        if exists and self.verify(sha):
            # fresh again: fsck's grace period must cover a re-upload of a blob that a crash had
            # left without a row
            with contextlib.suppress(OSError):
                os.utime(target)
            return sha
        # a corrupt file in the way may be a row's only copy: then the careful order
        atomic_write(target, self.encode(sha, data), root=self.root, unreferenced=not exists)
        return sha

    def get(self, sha256: str) -> bytes:
        return self.decode(sha256, self.read_file(sha256))

    def exists(self, sha256: str) -> bool:
        return self.path_for(sha256).is_file()

    def delete(self, sha256: str) -> bool:
        path = self.path_for(sha256)
        try:
            path.unlink()
        except FileNotFoundError:
            return False
        fsync_dir(path.parent)
        return True

    def iter_all(self) -> Iterator[str]:
        for folder in sorted(p for p in self.root.iterdir() if p.is_dir()):
            if len(folder.name) != 2:
                continue
            for f in sorted(folder.iterdir()):
                name = folder.name + f.name
                if f.is_file() and _SHA.match(name):
                    yield name

    def temp_files(self) -> list[Path]:
        """Temporary files left by a crash during `put` (for fsck)."""
        return sorted(self.root.glob("*/.tmp-*"))


class MemoryBlobStore(BlobStore):
    """In-memory blobs, for service tests."""

    def __init__(self) -> None:
        self.blobs: dict[str, bytes] = {}

    def put(self, data: bytes) -> str:
        sha = sha256_hex(data)
        self.blobs[sha] = bytes(data)
        return sha

    def get(self, sha256: str) -> bytes:
        try:
            data = self.blobs[check_sha(sha256)]
        except KeyError:
            raise BlobNotFound(sha256) from None
        return checked(sha256, data)

    def exists(self, sha256: str) -> bool:
        return check_sha(sha256) in self.blobs

    def delete(self, sha256: str) -> bool:
        return self.blobs.pop(check_sha(sha256), None) is not None

    def iter_all(self) -> Iterator[str]:
        yield from sorted(self.blobs)
