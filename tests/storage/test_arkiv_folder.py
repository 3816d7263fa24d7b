"""CONNECTIONS.md section 3: an archive message folder is written atomically and exactly once."""

from __future__ import annotations

import multiprocessing
import os
import stat
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from processor.arkiv import (
    ARKIVMELDING,
    ArchiveMessage,
    mottatt_message,
    recorded_decision_message,
)
from storage import arkiv as folders
from storage.arkiv import read_message, write_message, write_messages
from tests.arkiv_xsd import validate

CASE = "2026-09-14-OUS-KREFT"
HF = "Oslo universitetssykehus HF"
RECEIVED = datetime(2026, 10, 2, 7, 15, tzinfo=UTC)


def message(version: int = 1, pdf: bytes = b"%PDF-1.4 soknad") -> ArchiveMessage:
    return mottatt_message(CASE, version, RECEIVED, HF, pdf)


def entries(root: Path) -> list[str]:
    return sorted(p.name for p in root.iterdir())


def test_a_message_is_written_as_its_folder_with_its_files(tmp_path: Path):
    msg = message()
    assert write_message(tmp_path / "arkiv", msg) is True
    root = tmp_path / "arkiv"
    assert entries(root) == [f"{CASE}.mottatt.1"]  # no temporary folder left behind
    files = read_message(root, msg.folder)
    assert files == dict(msg.files)
    assert sorted(files) == [ARKIVMELDING, "soknad.pdf"]
    validate(files[ARKIVMELDING])


def test_folders_are_the_owners_only_whatever_the_umask(tmp_path: Path):
    old = os.umask(0)
    try:
        write_message(tmp_path / "ny" / "arkiv", message())
    finally:
        os.umask(old)
    root = tmp_path / "ny" / "arkiv"
    assert stat.S_IMODE(root.stat().st_mode) == 0o700
    folder = root / f"{CASE}.mottatt.1"
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    for f in folder.iterdir():
        assert stat.S_IMODE(f.stat().st_mode) == 0o600


def test_an_existing_root_keeps_its_mode(tmp_path: Path):
    root = tmp_path / "arkiv"
    root.mkdir(mode=0o750)
    os.chmod(root, 0o750)  # the operator's folder, shared with the integration's group
    write_message(root, message())
    assert stat.S_IMODE(root.stat().st_mode) == 0o750


def test_an_existing_folder_counts_as_done_and_is_never_rewritten(tmp_path: Path):
    first = message(pdf=b"%PDF-1.4 first")
    second = message(pdf=b"%PDF-1.4 second")
    assert write_message(tmp_path, first) is True
    assert write_message(tmp_path, second) is False
    assert read_message(tmp_path, first.folder) == dict(first.files)
    assert entries(tmp_path) == [first.folder]


def test_an_existing_file_or_empty_folder_under_the_name_also_counts_as_done(tmp_path: Path):
    (tmp_path / f"{CASE}.mottatt.1").write_bytes(b"someone else's")
    (tmp_path / f"{CASE}.mottatt.2").mkdir()
    assert write_message(tmp_path, message(1)) is False
    assert write_message(tmp_path, message(2)) is False
    assert (tmp_path / f"{CASE}.mottatt.1").read_bytes() == b"someone else's"
    assert list((tmp_path / f"{CASE}.mottatt.2").iterdir()) == []


def test_the_files_and_folders_are_fsynced_before_the_rename_and_the_root_after(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    events: list[tuple[str, str]] = []
    real_fsync, real_rename = os.fsync, os.rename

    def fsync(fd: int) -> None:
        events.append(("fsync", os.readlink(f"/proc/self/fd/{fd}")))
        real_fsync(fd)

    def rename(src, dst) -> None:  # noqa: ANN001
        events.append(("rename", str(dst)))
        real_rename(src, dst)

    monkeypatch.setattr(folders.os, "fsync", fsync)
    monkeypatch.setattr(folders.os, "rename", rename)
    msg = message()
    write_message(tmp_path, msg)
    monkeypatch.undo()
    target = str(tmp_path / msg.folder)
    kinds = [kind for kind, _ in events]
    assert kinds == ["fsync", "fsync", "fsync", "rename", "fsync"]
    files, tmp_dir = events[:2], events[2][1]
    assert sorted(Path(p).name for _, p in files) == sorted(msg.files)
    assert all(Path(p).parent == Path(tmp_dir) for _, p in files)
    assert Path(tmp_dir).name.startswith(".") and Path(tmp_dir).parent == tmp_path
    assert events[3] == ("rename", target)
    assert events[4] == ("fsync", str(tmp_path))


def test_a_failed_write_leaves_nothing_under_the_final_name_and_no_temporary(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    calls = []

    def failing_fsync(fd: int) -> None:
        calls.append(fd)
        if len(calls) == 2:
            raise OSError(28, "No space left on device")

    monkeypatch.setattr(folders.os, "fsync", failing_fsync)
    with pytest.raises(OSError):
        write_message(tmp_path, message())
    monkeypatch.undo()
    assert entries(tmp_path) == []
    assert write_message(tmp_path, message()) is True  # the next try writes it


def test_losing_the_race_at_the_rename_keeps_the_winners_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    """The other writer renames its folder between this writer's check and its rename."""
    mine, theirs = message(pdf=b"%PDF-1.4 mine"), message(pdf=b"%PDF-1.4 theirs")
    real_rename = os.rename

    def rename_after_the_other(src, dst) -> None:  # noqa: ANN001
        other = tmp_path / ".other"
        other.mkdir()
        for name, data in theirs.files.items():
            (other / name).write_bytes(data)
        real_rename(other, dst)
        real_rename(src, dst)

    monkeypatch.setattr(folders.os, "rename", rename_after_the_other)
    assert write_message(tmp_path, mine) is False
    monkeypatch.undo()
    assert entries(tmp_path) == [mine.folder]
    assert read_message(tmp_path, mine.folder) == dict(theirs.files)


ROUNDS = 40


def _race(root: str, writer: int, barrier, results) -> None:  # noqa: ANN001
    """One racing writer: in each round both wait at the barrier, then write the same folder with
    content of their own."""
    won = []
    for i in range(ROUNDS):
        msg = mottatt_message(CASE, i + 1, RECEIVED, HF, f"%PDF-1.4 writer {writer}".encode())
        barrier.wait()
        if write_message(root, msg):
            won.append(i + 1)
    results.put((writer, won))


def _check_race(root: Path, wins: dict[int, list[int]]) -> None:
    everyone = sorted(v for won in wins.values() for v in won)
    assert everyone == list(range(1, ROUNDS + 1))  # each folder won by exactly one writer
    assert entries(root) == sorted(f"{CASE}.mottatt.{i}" for i in range(1, ROUNDS + 1))
    for writer, won in wins.items():
        for version in won:
            expected = mottatt_message(
                CASE, version, RECEIVED, HF, f"%PDF-1.4 writer {writer}".encode()
            )
            assert read_message(root, expected.folder) == dict(expected.files)


def test_two_processes_racing_write_each_folder_once_with_one_writers_content(tmp_path: Path):
    ctx = multiprocessing.get_context("spawn")
    barrier, results = ctx.Barrier(2), ctx.Queue()
    procs = [ctx.Process(target=_race, args=(str(tmp_path), w, barrier, results)) for w in (1, 2)]
    for p in procs:
        p.start()
    wins = dict(results.get(timeout=120) for _ in procs)
    for p in procs:
        p.join(timeout=60)
        assert p.exitcode == 0
    _check_race(tmp_path, wins)


def test_four_threads_racing_write_each_folder_once(tmp_path: Path):
    import queue

    barrier, results = threading.Barrier(4), queue.Queue()
    with ThreadPoolExecutor(4) as pool:
        for f in [pool.submit(_race, str(tmp_path), w, barrier, results) for w in range(4)]:
            f.result()
    _check_race(tmp_path, dict(results.get() for _ in range(4)))


def test_write_messages_writes_each_in_order_and_reports_what_was_new(tmp_path: Path):
    decided = recorded_decision_message(CASE, date(2026, 12, 7), RECEIVED, HF, b"%PDF-1.4 vedtak")
    write_message(tmp_path, message(1))
    assert write_messages(tmp_path, [message(1), message(2), decided]) == [
        (f"{CASE}.mottatt.1", False),
        (f"{CASE}.mottatt.2", True),
        (f"{CASE}.vedtak", True),
    ]
    assert read_message(tmp_path, f"{CASE}.vedtak") == dict(decided.files)


@pytest.mark.parametrize(
    ("folder", "files"),
    [
        ("../ut", {"a.pdf": b"x"}),
        (".skjult", {"a.pdf": b"x"}),
        ("a/b", {"a.pdf": b"x"}),
        ("", {"a.pdf": b"x"}),
        ("ok", {"../a.pdf": b"x"}),
        ("ok", {".a.pdf": b"x"}),
        ("ok", {}),
    ],
)
def test_a_message_that_names_anything_but_plain_names_is_refused(
    tmp_path: Path, folder: str, files: dict[str, bytes]
):
    root = tmp_path / "arkiv"
    with pytest.raises(ValueError):
        write_message(root, ArchiveMessage("arkiv_mottatt", folder, files))
    assert not root.exists() or entries(root) == []
    assert entries(tmp_path) in ([], ["arkiv"])


def test_an_export_written_twice_adds_nothing_and_holds_the_messages_bytes(tmp_path: Path):
    """What `arkiv eksport` will do: every due message into a folder (created if missing); a
    second export finds every folder there and changes nothing."""
    from processor.arkiv import AcceptedVersion, RecordedDecision, due_messages
    from tests.test_arkiv import DECIDED, RECORDED, case_data, letter

    versions = [AcceptedVersion(n, RECEIVED, case_data()) for n in (1, 2)]
    due = due_messages(CASE, HF, versions, RecordedDecision(DECIDED, RECORDED, letter()))
    target = tmp_path / "eksport" / "ny"
    assert [written for _, written in write_messages(target, due)] == [True, True, True]
    again = due_messages(CASE, HF, versions, RecordedDecision(DECIDED, RECORDED, letter()))
    assert [written for _, written in write_messages(target, again)] == [False, False, False]
    assert entries(target) == [m.folder for m in due]
    for m in due:
        files = read_message(target, m.folder)
        assert files == dict(m.files)
        validate(files[ARKIVMELDING])
