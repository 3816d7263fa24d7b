"""Blobs encrypted at rest (issue 8): the on-disk format, the keyring, key rotation."""

from __future__ import annotations

import base64
import hashlib
import os
from pathlib import Path

import pytest

from storage import crypto
from storage.blobs import BlobCorrupt, BlobNotFound, FileBlobStore
from storage.crypto import (
    MAGIC,
    BlobKeyUnknown,
    EncryptedFileBlobStore,
    KeyFormatError,
    Keyring,
    key_id,
    make_blob_store,
    parse_key,
    read_keyring,
    rotate,
)

KEY_A = bytes(range(32))
KEY_B = bytes(range(100, 132))
KEY_C = bytes(range(200, 232))
DATA = b"%PDF-1.7 synthetic form bytes\n" * 10
SHA = hashlib.sha256(DATA).hexdigest()


def _store(root: Path, current: bytes = KEY_A, *old: bytes) -> EncryptedFileBlobStore:
    return EncryptedFileBlobStore(root, Keyring.of(current, old))


# ---- keys ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        base64.b64encode(KEY_A).decode(),
        base64.urlsafe_b64encode(KEY_A).decode(),
        base64.urlsafe_b64encode(KEY_A).decode().rstrip("="),
        KEY_A.hex(),
        KEY_A.hex().upper(),
        f"  {KEY_A.hex()}\n",
    ],
)
def test_a_key_is_32_bytes_as_base64_or_hex(text: str) -> None:
    assert parse_key(text) == KEY_A


@pytest.mark.parametrize(
    "text",
    [
        "",
        "hemmelig",
        KEY_A.hex()[:-2],
        base64.b64encode(bytes(31)).decode(),
        "é" * 44,
        "a" * 64 + "g",
    ],
)
def test_a_malformed_key_is_refused_in_norwegian_without_showing_it(text: str) -> None:
    with pytest.raises(KeyFormatError) as excinfo:
        parse_key(text)
    message = str(excinfo.value)
    assert "ikke en gyldig nøkkel" in message
    assert crypto.ENV_KEY in message
    if text.strip():
        assert text.strip() not in message


def test_the_key_id_is_the_first_8_bytes_of_its_sha256() -> None:
    assert key_id(KEY_A) == hashlib.sha256(KEY_A).digest()[:8]
    assert KEY_A.hex() not in repr(Keyring.of(KEY_A, [KEY_B]))


def test_read_keyring_reads_the_current_and_the_old_keys() -> None:
    assert read_keyring(None, None) is None and read_keyring("", " ") is None
    ring = read_keyring(
        base64.b64encode(KEY_A).decode(),
        f"{KEY_B.hex()}, {base64.urlsafe_b64encode(KEY_C).decode()}",
    )
    assert ring is not None
    assert ring.current.key == KEY_A
    assert [k.key for k in ring.old] == [KEY_B, KEY_C]


def test_a_malformed_old_key_is_named_by_its_position() -> None:
    with pytest.raises(KeyFormatError, match="Nøkkel nr. 2 i SKJEMAMOTTAK_BLOB_OLD_KEYS"):
        read_keyring(KEY_A.hex(), f"{KEY_B.hex()},feil")
    with pytest.raises(KeyFormatError, match="uten|ikke SKJEMAMOTTAK_BLOB_KEY"):
        read_keyring(None, KEY_B.hex())
    with pytest.raises(KeyFormatError, match="^BLOB_KEY i config.py er ikke en gyldig"):
        read_keyring("feil", current_name="BLOB_KEY i config.py")


def test_make_blob_store_encrypts_only_when_a_key_is_set(tmp_path: Path) -> None:
    plain = make_blob_store(tmp_path, None)
    assert type(plain) is FileBlobStore
    assert plain.root == tmp_path / "blobs"
    enc = make_blob_store(tmp_path, read_keyring(KEY_A.hex()))
    assert isinstance(enc, EncryptedFileBlobStore)
    assert enc.keyring.current.key == KEY_A


# ---- the format ---------------------------------------------------------------------------------


def test_a_blob_is_stored_as_magic_key_id_nonce_and_ciphertext_under_its_plaintext_hash(
    tmp_path: Path,
) -> None:
    store = _store(tmp_path)
    assert store.put(DATA) == SHA
    raw = (tmp_path / SHA[:2] / SHA[2:]).read_bytes()
    assert raw[:4] == MAGIC
    assert raw[4:12] == key_id(KEY_A)
    assert len(raw) == 4 + 8 + 12 + len(DATA) + 16
    assert DATA[:20] not in raw
    assert store.get(SHA) == DATA
    assert store.key_id_of(SHA) == key_id(KEY_A)
    assert list(store.iter_all()) == [SHA]
    assert store.temp_files() == []


def test_the_same_bytes_twice_keep_one_blob_and_fresh_nonces_differ(tmp_path: Path) -> None:
    one = _store(tmp_path / "one")
    two = _store(tmp_path / "two")
    one.put(DATA)
    two.put(DATA)
    raw_one = (tmp_path / "one" / SHA[:2] / SHA[2:]).read_bytes()
    assert raw_one != (tmp_path / "two" / SHA[:2] / SHA[2:]).read_bytes()
    assert one.put(DATA) == SHA
    assert (tmp_path / "one" / SHA[:2] / SHA[2:]).read_bytes() == raw_one


def test_a_flipped_bit_or_a_blob_moved_to_another_name_is_damaged(tmp_path: Path) -> None:
    store = _store(tmp_path)
    store.put(DATA)
    path = store.path_for(SHA)
    raw = bytearray(path.read_bytes())
    raw[-20] ^= 1
    path.write_bytes(bytes(raw))
    with pytest.raises(BlobCorrupt):
        store.get(SHA)
    assert store.verify(SHA) is False

    other = hashlib.sha256(b"other").hexdigest()
    store.put(DATA)  # not verifiable: written again
    store.path_for(other).parent.mkdir(exist_ok=True)
    store.path_for(other).write_bytes(store.path_for(SHA).read_bytes())
    with pytest.raises(BlobCorrupt):  # the name is the associated data
        store.get(other)
    with pytest.raises(BlobNotFound):
        store.get(hashlib.sha256(b"absent").hexdigest())


def test_legacy_unencrypted_blobs_stay_readable(tmp_path: Path) -> None:
    FileBlobStore(tmp_path).put(DATA)
    tricky = MAGIC + key_id(KEY_A) + bytes(40)  # plain content that looks like our header
    tricky_sha = FileBlobStore(tmp_path).put(tricky)
    store = _store(tmp_path)
    assert store.get(SHA) == DATA
    assert store.get(tricky_sha) == tricky
    assert store.key_id_of(SHA) is None
    assert store.put(DATA) == SHA  # already there and whole: left as it is


def test_a_blob_under_an_unknown_key_is_reported_as_such(tmp_path: Path) -> None:
    _store(tmp_path, KEY_B).put(DATA)
    store = _store(tmp_path, KEY_A)
    with pytest.raises(BlobKeyUnknown) as excinfo:
        store.get(SHA)
    assert excinfo.value.key_id == key_id(KEY_B)
    assert KEY_B.hex() not in str(excinfo.value)
    assert _store(tmp_path, KEY_A, KEY_B).get(SHA) == DATA  # as an old key it opens


def test_an_encrypted_write_is_renamed_and_fsynced_with_its_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import stat

    calls: list[str] = []
    real_fsync, real_replace = os.fsync, os.replace

    def fsync(fd: int) -> None:
        calls.append("fsync-dir" if stat.S_ISDIR(os.fstat(fd).st_mode) else "fsync-file")
        real_fsync(fd)

    def replace(src: str, dst: object) -> None:
        calls.append("rename")
        real_replace(src, dst)

    store = _store(tmp_path)
    monkeypatch.setattr(crypto.os, "fsync", fsync)
    monkeypatch.setattr(crypto.os, "replace", replace)
    store.put(DATA)
    # a new blob that no row refers to yet: renamed, then fsynced with its folder (storage.blobs)
    assert calls[-3:] == ["rename", "fsync-file", "fsync-dir"]
    store.path_for(SHA).write_bytes(b"torn")  # a file a row may refer to: fsync before rename
    calls.clear()
    store.put(DATA)
    assert calls == ["fsync-file", "rename", "fsync-dir"] and store.get(SHA) == DATA


# ---- rotation -----------------------------------------------------------------------------------


def test_rotation_rewrites_old_and_legacy_blobs_under_the_new_key(tmp_path: Path) -> None:
    legacy = FileBlobStore(tmp_path).put(b"written before encryption")
    old = _store(tmp_path, KEY_A).put(DATA)
    current = _store(tmp_path, KEY_B).put(b"already under the new key")

    report = rotate(FileBlobStore(tmp_path), KEY_B, [KEY_A])
    assert (report.rewritten, report.already_current, report.failed) == (2, 1, [])
    new_only = _store(tmp_path, KEY_B)  # the old key is no longer needed
    for sha in (legacy, old, current):
        assert new_only.key_id_of(sha) == key_id(KEY_B)
        new_only.get(sha)
    assert new_only.temp_files() == []

    again = rotate(new_only, KEY_B)
    assert (again.rewritten, again.already_current, again.failed) == (0, 3, [])


def test_rotation_leaves_unreadable_blobs_untouched_and_lists_them(tmp_path: Path) -> None:
    unknown = _store(tmp_path, KEY_C).put(b"under a key that is lost")
    store = _store(tmp_path, KEY_A)
    damaged = store.put(DATA)
    path = store.path_for(damaged)
    raw = bytearray(path.read_bytes())
    raw[-1] ^= 1
    path.write_bytes(bytes(raw))
    before = {sha: store.path_for(sha).read_bytes() for sha in (unknown, damaged)}

    report = rotate(store, KEY_B, [KEY_A])
    assert report.failed == sorted([unknown, damaged])
    assert not report.ok
    assert {sha: store.path_for(sha).read_bytes() for sha in before} == before


def test_an_interrupted_rotation_loses_nothing_and_can_be_run_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = _store(tmp_path, KEY_A)
    shas = [store.put(bytes([i]) * 100) for i in range(6)]
    real_replace = os.replace
    done = 0

    def crash_on_fourth(src: str, dst: object) -> None:
        nonlocal done
        if done == 3:
            raise KeyboardInterrupt  # the power goes between fsync and rename
        done += 1
        real_replace(src, dst)

    monkeypatch.setattr(crypto.os, "replace", crash_on_fourth)
    with pytest.raises(KeyboardInterrupt):
        rotate(store, KEY_B, [KEY_A])
    monkeypatch.setattr(crypto.os, "replace", real_replace)

    both = _store(tmp_path, KEY_B, KEY_A)
    assert [both.get(sha) for sha in shas] == [bytes([i]) * 100 for i in range(6)]
    assert both.temp_files() == []  # the failed write cleaned up after itself
    report = rotate(both, KEY_B, [KEY_A])
    assert (report.rewritten, report.already_current, report.failed) == (3, 3, [])
