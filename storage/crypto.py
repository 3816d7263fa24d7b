"""Blobs encrypted at rest with AES-256-GCM, when `SKJEMAMOTTAK_BLOB_KEY` is set.

A key is 32 random bytes, written as base64 (standard or URL-safe, padding optional) or as 64 hex
characters; make one with `python3 -c "import secrets; print(secrets.token_urlsafe(32))"`. Its key
id is the first 8 bytes of SHA-256(key), so a blob names the key that opens it without revealing
it. The keyring holds the current key (used for every write) and old keys (used for reads only),
from `SKJEMAMOTTAK_BLOB_KEY` and `SKJEMAMOTTAK_BLOB_OLD_KEYS` (comma-separated).

On disk an encrypted blob is

    b"SKJ1" | key id (8 bytes) | nonce (12 random bytes) | AES-GCM ciphertext and 16-byte tag

with the blob's name (the SHA-256 hex of the plaintext, as ASCII) as associated data, so a file
moved to another name does not decrypt. Blobs stay named by the SHA-256 of the *plaintext*,
because rows reference that hash and uploads are deduplicated by it: the names reveal which
blobs are equal (and the file sizes reveal the approximate size of each upload), never their
content. Reads also accept legacy unencrypted blobs (written before a key was set), and every
read checks the plaintext against its name.

Key rotation: give the service the new key as `SKJEMAMOTTAK_BLOB_KEY` and the old one in
`SKJEMAMOTTAK_BLOB_OLD_KEYS`, restart it, then run `rotate`: it rewrites every blob not yet under
the current key (each write atomic, so an interrupted rotation leaves every blob readable with the
keyring and can simply be run again). When it reports no failures, the old key may be dropped.

Messages for people are Norwegian and never contain a key.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from storage.blobs import (
    BlobCorrupt,
    BlobError,
    BlobNotFound,
    FileBlobStore,
    atomic_write,
    sha256_hex,
)
from storage.db import blob_path

MAGIC = b"SKJ1"
KEY_LEN = 32
KEY_ID_LEN = 8
NONCE_LEN = 12
TAG_LEN = 16
HEADER_LEN = len(MAGIC) + KEY_ID_LEN + NONCE_LEN

ENV_KEY = "SKJEMAMOTTAK_BLOB_KEY"
ENV_OLD_KEYS = "SKJEMAMOTTAK_BLOB_OLD_KEYS"

_HEX = re.compile(r"^[0-9a-fA-F]{64}$")
_B64 = re.compile(r"^[A-Za-z0-9+/\-_]+={0,2}$")


class KeyFormatError(ValueError):
    """A configured key is malformed. The message is Norwegian and never holds the key."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class BlobKeyUnknown(BlobError):
    """The blob is encrypted with a key that is not in the keyring."""

    def __init__(self, sha256: str, key_id: bytes) -> None:
        super().__init__(
            f"blob {sha256} is encrypted with key id {key_id.hex()}, which is not configured"
        )
        self.sha256 = sha256
        self.key_id = key_id


def key_id(key: bytes) -> bytes:
    """The first 8 bytes of SHA-256(key)."""
    return hashlib.sha256(key).digest()[:KEY_ID_LEN]


def parse_key(text: str, *, source: str = ENV_KEY) -> bytes:
    """32 key bytes from base64 (standard or URL-safe) or 64 hex characters.

    `source` names where the key came from, for the error message (which never shows the key).
    """
    s = text.strip()
    raw: bytes | None = None
    if _HEX.match(s):
        raw = bytes.fromhex(s)
    elif _B64.match(s):
        std = s.rstrip("=").replace("-", "+").replace("_", "/")
        try:
            raw = base64.b64decode(std + "=" * (-len(std) % 4), validate=True)
        except (binascii.Error, ValueError):
            raw = None
    if raw is None or len(raw) != KEY_LEN:
        raise KeyFormatError(
            f"{source} er ikke en gyldig nøkkel. Nøkkelen må være 32 tilfeldige byte, skrevet som "
            "base64 (43 eller 44 tegn) eller heksadesimalt (64 tegn). Lag en ny med: "
            'python3 -c "import secrets; print(secrets.token_urlsafe(32))"'
        )
    return raw


@dataclass(frozen=True)
class BlobKey:
    key: bytes = field(repr=False)

    def __post_init__(self) -> None:
        if len(self.key) != KEY_LEN:
            raise KeyFormatError("En nøkkel for filkryptering må være nøyaktig 32 byte.")

    @property
    def id(self) -> bytes:
        return key_id(self.key)

    def __repr__(self) -> str:
        return f"BlobKey(id={self.id.hex()})"


@dataclass(frozen=True)
class Keyring:
    """The current key (writes and reads) and old keys (reads only)."""

    current: BlobKey
    old: tuple[BlobKey, ...] = ()

    @classmethod
    def of(cls, current: bytes, old: Iterable[bytes] = ()) -> Keyring:
        return cls(BlobKey(current), tuple(BlobKey(k) for k in old))

    def find(self, kid: bytes) -> BlobKey | None:
        for k in (self.current, *self.old):
            if k.id == kid:
                return k
        return None


def read_keyring(
    current: str | None,
    old: str | None = None,
    *,
    current_name: str = ENV_KEY,
    old_name: str = ENV_OLD_KEYS,
) -> Keyring | None:
    """The keyring from the text of the current key and the comma-separated old keys (as
    `web.settings` reads them from `SKJEMAMOTTAK_BLOB_KEY` and `SKJEMAMOTTAK_BLOB_OLD_KEYS`,
    the names the messages use); None when no key is set. Raises `KeyFormatError` for a
    malformed key."""
    current = (current or "").strip()
    old_text = (old or "").strip()
    if not current:
        if old_text:
            raise KeyFormatError(
                f"{old_name} er satt, men ikke {current_name}. Gamle nøkler brukes bare sammen "
                "med en gjeldende nøkkel."
            )
        return None
    old_keys = [
        parse_key(part, source=f"Nøkkel nr. {n} i {old_name}")
        for n, part in enumerate((p for p in old_text.split(",") if p.strip()), start=1)
    ]
    return Keyring.of(parse_key(current, source=current_name), old_keys)


# ---- the format ---------------------------------------------------------------------------------


def encrypt(key: BlobKey, sha256: str, plaintext: bytes) -> bytes:
    nonce = os.urandom(NONCE_LEN)
    sealed = AESGCM(key.key).encrypt(nonce, plaintext, sha256.encode("ascii"))
    return MAGIC + key.id + nonce + sealed


def stored_key_id(raw: bytes) -> bytes | None:
    """The key id in the header of stored bytes, or None when they are not in our format."""
    if len(raw) < HEADER_LEN + TAG_LEN or not raw.startswith(MAGIC):
        return None
    return raw[len(MAGIC) : len(MAGIC) + KEY_ID_LEN]


def decrypt(keyring: Keyring, sha256: str, raw: bytes) -> bytes:
    """The plaintext of stored bytes (encrypted or legacy plain), checked against its name.

    Raises `BlobCorrupt` when the bytes are damaged, `BlobKeyUnknown` when the key is missing.
    """
    kid = stored_key_id(raw)
    if kid is not None:
        key = keyring.find(kid)
        if key is not None:
            nonce = raw[len(MAGIC) + KEY_ID_LEN : HEADER_LEN]
            try:
                plain = AESGCM(key.key).decrypt(nonce, raw[HEADER_LEN:], sha256.encode("ascii"))
            except InvalidTag:
                plain = None
            if plain is not None and sha256_hex(plain) == sha256:
                return plain
    # a legacy unencrypted blob (whose content may even begin with the magic by chance)
    if sha256_hex(raw) == sha256:
        return raw
    if kid is not None and keyring.find(kid) is None:
        raise BlobKeyUnknown(sha256, kid)
    raise BlobCorrupt(sha256)


# ---- the store ----------------------------------------------------------------------------------


class EncryptedFileBlobStore(FileBlobStore):
    """`FileBlobStore` whose files are encrypted with the keyring's current key.

    Same layout, names, atomic writes and temporary files as `FileBlobStore` (so fsck and
    `temp_files()` work unchanged): only what a file holds differs (`encode`, `decode`). Reads
    accept blobs under any key of the keyring and legacy unencrypted blobs.
    """

    def __init__(self, root: str | os.PathLike[str], keyring: Keyring) -> None:
        super().__init__(root)
        self.keyring = keyring

    def __repr__(self) -> str:
        return f"EncryptedFileBlobStore({str(self.root)!r}, key={self.keyring.current.id.hex()})"

    def encode(self, sha256: str, data: bytes) -> bytes:
        return encrypt(self.keyring.current, sha256, data)

    def decode(self, sha256: str, raw: bytes) -> bytes:
        return decrypt(self.keyring, sha256, raw)

    def key_id_of(self, sha256: str) -> bytes | None:
        """The key id a stored blob names, or None for a legacy unencrypted blob."""
        path = self.path_for(sha256)
        try:
            with path.open("rb") as f:
                head = f.read(HEADER_LEN + TAG_LEN)
        except FileNotFoundError:
            raise BlobNotFound(sha256) from None
        return stored_key_id(head)


def make_blob_store(instance: str | os.PathLike[str], keyring: Keyring | None) -> FileBlobStore:
    """The instance's blob store: encrypted with the keyring when there is one, else plain."""
    root = blob_path(instance)
    if keyring is None:
        return FileBlobStore(root)
    return EncryptedFileBlobStore(root, keyring)


# ---- rotation -----------------------------------------------------------------------------------


@dataclass
class RotationReport:
    rewritten: int = 0
    already_current: int = 0
    failed: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failed


def rotate(
    store: FileBlobStore, new_key: bytes | BlobKey, old_keys: Sequence[bytes | BlobKey] = ()
) -> RotationReport:
    """Re-encrypt every blob of the store's folder under `new_key`.

    A blob already under `new_key` is only checked; a blob under an old key, or unencrypted, is
    decrypted, checked against its name and written again atomically under the new key (the old
    file is replaced by rename, so an interruption leaves either the old or the new file, both
    readable with the keyring). Blobs that cannot be read (damaged, or under a key not given) are
    left untouched and listed in `failed`. Running it again is harmless.
    """
    current = new_key if isinstance(new_key, BlobKey) else BlobKey(new_key)
    old = tuple(k if isinstance(k, BlobKey) else BlobKey(k) for k in old_keys)
    keyring = Keyring(current, old)
    report = RotationReport()
    for sha in store.iter_all():
        try:
            raw = store.read_file(sha)
        except BlobNotFound:  # removed meanwhile (fsck): nothing to rotate
            continue
        try:
            plain = decrypt(keyring, sha, raw)
        except BlobError:
            report.failed.append(sha)
            continue
        # `plain is raw` only for a legacy plain blob whose content happens to start like ours
        if stored_key_id(raw) == current.id and plain is not raw:
            report.already_current += 1
            continue
        atomic_write(store.path_for(sha), encrypt(current, sha, plain), root=store.root)
        report.rewritten += 1
    return report
