"""Backup and restore: one consistent, portable snapshot file (`skjemamottak backup`).

The archive is a ZIP file holding

- `db/<table>.jsonl`: every table's rows as JSON lines (one object per row, in primary key order),
  tables in `storage.tables.metadata.sorted_tables` order, all read inside ONE transaction
  (REPEATABLE READ and READ ONLY on PostgreSQL; an explicit read transaction on SQLite, a snapshot
  in WAL mode);
  datetimes as ISO 8601 with offset, decimals as strings, bytes as base64, JSON as JSON;
- `blobs/<sha256>`: the *plaintext* of every blob the snapshot's rows point at. Blobs are
  immutable and written before their rows, so copying them after the snapshot is consistent.
  They are stored decrypted so that a backup can be restored under another key (or none): the
  archive is as sensitive as the database and the blob folder together, and must be protected
  (encrypted, access-controlled) like them;
- `manifest.json`: format, time, source dialect, the Alembic revision, the tables with their row
  counts and columns, and the SHA-256 and size of every other member.

The database is portable: a SQLite backup restores into PostgreSQL and the other way round.
`restore` checks every member against the manifest before it writes anything, refuses a database
that already holds data, migrates to the recorded revision, writes the blobs (checking each hash),
inserts the rows in dependency order in one transaction, resets PostgreSQL's sequences, rebuilds
the mini-HTA search index (derived data, not in the archive), and commits only when the audit
chain verifies.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import re
import tempfile
import uuid
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from typing import IO, Any

from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection, Engine, Integer, column, func, inspect, select, table, text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session
from sqlalchemy.types import TypeDecorator, TypeEngine

from storage import audit, db
from storage.blobs import BlobError, BlobStore, check_sha, fsync_dir, sha256_hex
from storage.fsck import referenced_blobs
from storage.models_minihta import SEARCH_COLUMN, SEARCH_TABLE
from storage.repository_minihta import reindex_sqlite
from storage.tables import metadata

FORMAT = "skjemamottak-sikkerhetskopi"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
BATCH = 1000

_TABLE_MEMBER = re.compile(r"^db/[a-z_][a-z0-9_]{0,62}\.jsonl$")
_BLOB_MEMBER = re.compile(r"^blobs/[0-9a-f]{64}$")


class BackupError(Exception):
    """Backup or restore refused; `message` is Norwegian, for the operator."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class RestoreError(BackupError):
    pass


@dataclass
class BackupReport:
    path: Path
    revision: str | None
    tables: dict[str, int]
    blobs: int
    size: int
    sha256: str
    missing_blobs: list[str] = field(default_factory=list)


@dataclass
class RestoreReport:
    revision: str | None
    tables: dict[str, int]
    blobs: int
    audit_ok: bool
    missing_blobs: list[str] = field(default_factory=list)


# ---- values -------------------------------------------------------------------------------------


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, bytes | bytearray | memoryview):
        return base64.b64encode(bytes(value)).decode("ascii")
    if isinstance(value, timedelta):
        return value.total_seconds()
    if isinstance(value, uuid.UUID):
        return str(value)
    raise TypeError(f"cannot write a {type(value).__name__} to a backup")


_SURROGATE = re.compile("[\ud800-\udfff]")


def _escape_surrogate(match: re.Match[str]) -> str:
    return f"\\u{ord(match.group()):04x}"


def _dumps(row: dict[str, Any]) -> str:
    """One row as a JSON line. A lone surrogate in a stored string (a mended or legacy row) is
    written as its JSON escape (`\\ud800`): the line stays UTF-8 and a restore gives the row
    back as it was (issue 11). Raw surrogates in the text can only stand inside JSON strings."""
    text = json.dumps(row, ensure_ascii=False, separators=(",", ":"), default=_json_default)
    return _SURROGATE.sub(_escape_surrogate, text)


def _decoder(type_: TypeEngine[Any]) -> Callable[[Any], Any]:
    """How to turn a JSON value back into the column's Python value."""
    while isinstance(type_, TypeDecorator):
        type_ = type_.impl_instance
    try:
        python_type = type_.python_type
    except NotImplementedError:
        return lambda v: v

    def when_set(fn: Callable[[Any], Any]) -> Callable[[Any], Any]:
        return lambda v: None if v is None else fn(v)

    if python_type is datetime:

        def to_datetime(v: str) -> datetime:
            parsed = datetime.fromisoformat(v)
            return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)

        return when_set(to_datetime)
    if python_type is date:
        return when_set(date.fromisoformat)
    if python_type is time:
        return when_set(time.fromisoformat)
    if python_type is Decimal:
        return when_set(Decimal)
    if python_type is bytes:
        return when_set(base64.b64decode)
    if python_type is timedelta:
        return when_set(lambda v: timedelta(seconds=v))
    if python_type is uuid.UUID:
        return when_set(uuid.UUID)
    return lambda v: v


# ---- backup -------------------------------------------------------------------------------------


class _HashingWriter:
    def __init__(self, raw: IO[bytes]) -> None:
        self.raw = raw
        self.hash = hashlib.sha256()
        self.size = 0

    def write(self, data: bytes) -> None:
        self.raw.write(data)
        self.hash.update(data)
        self.size += len(data)


def _snapshot_connection(engine: Engine) -> Connection:
    """A connection whose next statements all read one snapshot (see `_begin_snapshot`)."""
    if engine.dialect.name == "sqlite":
        # pysqlite opens no transaction for SELECTs: take over and BEGIN explicitly
        return engine.connect().execution_options(isolation_level="AUTOCOMMIT")
    if engine.dialect.name == "postgresql":
        return engine.connect().execution_options(isolation_level="REPEATABLE READ")
    return engine.connect()


def _begin_snapshot(conn: Connection) -> None:
    name = conn.dialect.name
    if name == "sqlite":
        conn.exec_driver_sql("BEGIN")
    elif name == "postgresql":
        conn.exec_driver_sql("SET TRANSACTION READ ONLY")


def _end_snapshot(conn: Connection) -> None:
    if conn.dialect.name == "sqlite":
        conn.exec_driver_sql("ROLLBACK")
    else:
        conn.rollback()


def _revision(conn: Connection) -> str | None:
    heads = MigrationContext.configure(conn).get_current_heads()
    return "+".join(sorted(heads)) if heads else None


def _zipinfo(name: str, when: datetime) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, date_time=when.timetuple()[:6])
    info.compress_type = zipfile.ZIP_DEFLATED
    info.external_attr = 0o600 << 16
    return info


def backup(
    engine: Engine,
    blobs: BlobStore,
    out: str | os.PathLike[str],
    *,
    allow_missing: bool = False,
    now: datetime | None = None,
) -> BackupReport:
    """Write one consistent snapshot of the database and its blobs to `out` (a new ZIP file).

    The file appears under its name only when complete (written to a temporary file, fsynced,
    renamed). Refuses to overwrite an existing file. When a blob that a row points at is missing
    or damaged the backup is refused, unless `allow_missing` (then the manifest lists them).
    Blobs are stored as plaintext: protect the file like the database itself.
    """
    out = Path(out)
    if out.exists():
        raise BackupError(f"Filen {out} finnes fra før. Velg et nytt filnavn for sikkerhetskopien.")
    when = (now or datetime.now(UTC)).astimezone(UTC)
    if not out.parent.exists():
        out.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        os.chmod(out.parent, 0o700)
    # mkstemp creates the file 0600: a backup holds everything the instance holds
    fd, tmp_name = tempfile.mkstemp(prefix=f".{out.name}.tmp-", dir=out.parent)
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "w+b") as f:
            report = _write_archive(engine, blobs, f, when, allow_missing)
            f.flush()
            os.fsync(f.fileno())
            f.seek(0)
            digest = hashlib.sha256()
            for chunk in iter(lambda: f.read(1 << 20), b""):
                digest.update(chunk)
            report.size = f.tell()
            report.sha256 = digest.hexdigest()
        if out.exists():
            raise BackupError(f"Filen {out} ble laget mens sikkerhetskopien ble skrevet.")
        os.replace(tmp, out)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    fsync_dir(out.parent)
    report.path = out
    return report


def _write_archive(
    engine: Engine, blobs: BlobStore, f: IO[bytes], when: datetime, allow_missing: bool
) -> BackupReport:
    members: dict[str, dict[str, Any]] = {}
    tables: list[dict[str, Any]] = []
    with zipfile.ZipFile(f, "w", allowZip64=True) as zf:
        conn = _snapshot_connection(engine)
        try:
            _begin_snapshot(conn)
            revision = _revision(conn)
            for tbl in metadata.sorted_tables:
                name = f"db/{tbl.name}.jsonl"
                count = 0
                stmt = select(tbl).order_by(*tbl.primary_key.columns)
                with zf.open(_zipinfo(name, when), "w", force_zip64=True) as raw:
                    w = _HashingWriter(raw)
                    result = conn.execution_options(yield_per=BATCH).execute(stmt)
                    for row in result.mappings():
                        w.write((_dumps(dict(row)) + "\n").encode("utf-8"))
                        count += 1
                members[name] = {"sha256": w.hash.hexdigest(), "size": w.size}
                tables.append(
                    {"name": tbl.name, "member": name, "rows": count, "columns": list(tbl.c.keys())}
                )
            shas = sorted(referenced_blobs(conn))
            _end_snapshot(conn)
        finally:
            conn.close()

        missing: list[str] = []
        for sha in shas:
            try:
                data = blobs.get(sha)
            except (BlobError, ValueError):
                missing.append(sha)
                continue
            name = f"blobs/{sha}"
            zf.writestr(_zipinfo(name, when), data)
            members[name] = {"sha256": sha256_hex(data), "size": len(data)}
        if missing and not allow_missing:
            raise BackupError(
                f"Sikkerhetskopien ble ikke laget: {len(missing)} filer som databasen peker på, "
                "mangler eller er skadet. Kjør `skjemamottak fsck` for å se hvilke."
            )
        manifest = {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "created_at": when.isoformat(),
            "source_dialect": engine.dialect.name,
            "alembic_revision": revision,
            "tables": tables,
            "blobs": {
                "count": len(shas) - len(missing),
                "encoding": "plaintext",
                "missing": missing,
            },
            "members": members,
        }
        zf.writestr(
            _zipinfo(MANIFEST, when),
            json.dumps(manifest, ensure_ascii=False, indent=1, sort_keys=True).encode("utf-8"),
        )
    return BackupReport(
        path=Path(),
        revision=revision,
        tables={t["name"]: t["rows"] for t in tables},
        blobs=len(shas) - len(missing),
        size=0,
        sha256="",
        missing_blobs=missing,
    )


# ---- restore ------------------------------------------------------------------------------------


def _damaged(what: str) -> RestoreError:
    return RestoreError(
        f"Sikkerhetskopien er skadet eller ikke gyldig: {what}. Ingenting er endret."
    )


def _invalid(what: str) -> RestoreError:
    # found while the rows are read, after the member hashes matched: a hand-made archive
    return RestoreError(f"Sikkerhetskopien er ikke gyldig: {what}. Ingen rader er gjenopprettet.")


def read_manifest(zf: zipfile.ZipFile) -> dict[str, Any]:
    """The manifest, checked for shape (not yet the members' hashes)."""
    try:
        manifest = json.loads(zf.read(MANIFEST).decode("utf-8"))
    except KeyError:
        raise _damaged("manifest.json mangler") from None
    except (UnicodeDecodeError, json.JSONDecodeError, zipfile.BadZipFile):
        raise _damaged("manifest.json kan ikke leses") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise _damaged("filen er ikke en sikkerhetskopi fra skjemamottak")
    if manifest.get("format_version") != FORMAT_VERSION:
        raise RestoreError(
            f"Sikkerhetskopien har formatversjon {manifest.get('format_version')}, men denne "
            f"versjonen av skjemamottak kan bare lese versjon {FORMAT_VERSION}."
        )
    members = manifest.get("members")
    tables = manifest.get("tables")
    if not isinstance(members, dict) or not isinstance(tables, list):
        raise _damaged("manifestet mangler deler")
    for name, entry in members.items():
        if not (_TABLE_MEMBER.match(name) or _BLOB_MEMBER.match(name)):
            raise _damaged(f"ukjent del {name!r}")
        if not isinstance(entry, dict) or not isinstance(entry.get("size"), int):
            raise _damaged(f"manifestet beskriver ikke {name}")
    for t in tables:
        if not isinstance(t, dict) or t.get("member") not in members:
            raise _damaged("manifestet beskriver ikke alle tabellene")
    return manifest


def verify_archive(zf: zipfile.ZipFile, manifest: dict[str, Any]) -> None:
    """Every member is listed in the manifest and matches its SHA-256 and size; nothing else."""
    names = set(zf.namelist())
    listed = set(manifest["members"])
    if names - listed - {MANIFEST}:
        raise _damaged(f"delen {sorted(names - listed - {MANIFEST})[0]} står ikke i manifestet")
    if listed - names:
        raise _damaged(f"delen {sorted(listed - names)[0]} mangler")
    for name, entry in sorted(manifest["members"].items()):
        if zf.getinfo(name).file_size != entry["size"]:
            raise _damaged(f"størrelsen på {name} stemmer ikke med manifestet")
        digest = hashlib.sha256()
        try:
            with zf.open(name) as member:
                for chunk in iter(lambda m=member: m.read(1 << 20), b""):
                    digest.update(chunk)
        except (zipfile.BadZipFile, OSError, EOFError):
            raise _damaged(f"{name} kan ikke leses") from None
        if digest.hexdigest() != entry.get("sha256"):
            raise _damaged(f"innholdet i {name} stemmer ikke med manifestet")
        if name.startswith("blobs/") and entry["sha256"] != name.removeprefix("blobs/"):
            raise _damaged(f"innholdet i {name} stemmer ikke med navnet")


def _data_tables(conn: Connection) -> list[str]:
    return [n for n in inspect(conn).get_table_names() if n != "alembic_version"]


def _non_empty_tables(conn: Connection) -> list[str]:
    """The models' tables that hold rows. The single start row of `audit_head` that the migration
    writes (no events yet) does not count, nor do tables outside the models (the backend's search
    index and its shadow tables, derived from the models' rows)."""
    busy: list[str] = []
    prep = conn.dialect.identifier_preparer
    for name in sorted(set(_data_tables(conn)) & set(metadata.tables)):
        t = table(name)
        if name == "audit_head":
            rows = conn.execute(text(f"SELECT last_seq FROM {prep.quote(name)}")).all()
            if rows and rows != [(0,)]:
                busy.append(name)
            continue
        if conn.execute(select(func.count()).select_from(t)).scalar():
            busy.append(name)
    return busy


def _refuse_non_empty(busy: list[str]) -> None:
    if busy:
        raise RestoreError(
            "Databasen er ikke tom (tabellene "
            + ", ".join(busy)
            + " har rader). En sikkerhetskopi kan bare gjenopprettes i en tom database."
        )


def _migrate_to(engine: Engine, revision: str | None) -> None:
    current = db.current_revision(engine)
    if revision is None:
        if current is None:
            db.upgrade(revision="heads", engine=engine)
        return
    if current != revision:
        try:
            for head in revision.split("+"):
                db.upgrade(revision=head, engine=engine)
        except Exception as exc:  # alembic: unknown revision, or not an upgrade from here
            raise RestoreError(
                f"Databasen kan ikke migreres til revisjon {revision}, som sikkerhetskopien ble "
                f"laget med ({type(exc).__name__}). Bruk samme eller nyere versjon av "
                "skjemamottak, og en tom database uten tabeller."
            ) from None
    current = db.current_revision(engine)
    if current != revision:
        raise RestoreError(
            f"Databasen er migrert til revisjon {current}, men sikkerhetskopien er fra revisjon "
            f"{revision}. Gjenopprett til en tom database uten tabeller, og kjør `db upgrade` "
            "etterpå."
        )


def _rows(zf: zipfile.ZipFile, member: str) -> Iterator[dict[str, Any]]:
    with zf.open(member) as raw, io.TextIOWrapper(raw, encoding="utf-8") as lines:
        for line in lines:
            if line.strip():
                try:
                    row = json.loads(line)
                except json.JSONDecodeError:
                    raise _invalid(f"en linje i {member} er ikke JSON") from None
                if not isinstance(row, dict):
                    raise _invalid(f"en rad i {member} er ikke et objekt")
                yield row


def _reset_sequences(conn: Connection, names: list[str]) -> None:
    """After explicit ids were inserted, move each serial/identity sequence past the largest."""
    prep = conn.dialect.identifier_preparer
    insp = inspect(conn)
    for name in names:
        pk = insp.get_pk_constraint(name).get("constrained_columns") or []
        cols = {c["name"]: c for c in insp.get_columns(name)}
        for col in pk:
            if not isinstance(cols[col]["type"], Integer):
                continue
            seq = conn.execute(
                text("SELECT pg_get_serial_sequence(:t, :c)"),
                {"t": prep.quote(name), "c": col},
            ).scalar()
            if seq is None:
                continue
            conn.execute(
                text(
                    f"SELECT setval(:s, COALESCE(MAX({prep.quote(col)}), 0) + 1, false) "
                    f"FROM {prep.quote(name)}"
                ),
                {"s": seq},
            )


def rebuild_search_index(conn: Connection) -> None:
    """Fill the backend's mini-HTA search index (not part of the models, and not in a backup)
    from `minihta_publications.search_text`, as `services.minihta.publish` does for one row:
    the FTS5 table on SQLite, the `tsvector` column on PostgreSQL."""
    insp = inspect(conn)
    tables = set(insp.get_table_names())
    if "minihta_publications" not in tables:
        return
    if conn.dialect.name == "sqlite" and SEARCH_TABLE in tables:
        reindex_sqlite(conn)  # stemmed, as the repository indexes one row
    elif conn.dialect.name == "postgresql" and SEARCH_COLUMN in {
        c["name"] for c in insp.get_columns("minihta_publications")
    }:
        conn.execute(
            text(
                f"UPDATE minihta_publications SET {SEARCH_COLUMN} = "
                "to_tsvector('norwegian', search_text)"
            )
        )


def _insert_rows(conn: Connection, zf: zipfile.ZipFile, manifest: dict[str, Any]) -> dict[str, int]:
    """Insert every table's rows in the manifest's (dependency) order, typed by the models."""
    counts: dict[str, int] = {}
    for entry in manifest["tables"]:
        name = entry["name"]
        model = metadata.tables.get(name)
        columns = [str(c) for c in entry.get("columns") or []]
        typed = [
            column(c, model.c[c].type) if model is not None and c in model.c else column(c)
            for c in columns
        ]
        target = table(name, *typed)
        decode = {c.name: _decoder(c.type) for c in typed}
        if name == "audit_head" and entry.get("rows"):
            conn.execute(target.delete())  # the migration's start row
        n = 0
        batch: list[dict[str, Any]] = []
        for row in _rows(zf, entry["member"]):
            if set(row) - set(columns):
                raise _invalid(f"en rad i {entry['member']} har ukjente kolonner")
            batch.append({k: decode[k](v) for k, v in row.items()})
            if len(batch) >= BATCH:
                conn.execute(target.insert(), batch)
                n += len(batch)
                batch = []
        if batch:
            conn.execute(target.insert(), batch)
            n += len(batch)
        if n != entry.get("rows"):
            raise _invalid(f"{entry['member']} har {n} rader, manifestet sier {entry['rows']}")
        counts[name] = n
    return counts


def restore(
    archive: str | os.PathLike[str],
    engine: Engine,
    blobs: BlobStore,
    *,
    require_audit: bool = True,
) -> RestoreReport:
    """Restore a backup into an EMPTY database (no tables, or migrated without data) and a blob
    store (which may use another key than the source). Refuses, with a Norwegian `RestoreError`,
    a damaged archive (checked completely before anything is written) and a database with data.
    The rows are committed only when the audit chain verifies (unless `require_audit=False`);
    blobs written before a refusal are left as orphans for fsck."""
    try:
        zf = zipfile.ZipFile(archive)
    except (zipfile.BadZipFile, OSError):
        raise _damaged("filen er ikke en ZIP-fil som kan leses") from None
    with zf:
        manifest = read_manifest(zf)
        verify_archive(zf, manifest)
        revision = manifest.get("alembic_revision")

        with engine.connect() as conn:
            _refuse_non_empty(_non_empty_tables(conn))
        _migrate_to(engine, revision)

        # blobs before the rows that point at them
        count = 0
        for name in sorted(manifest["members"]):
            if not name.startswith("blobs/"):
                continue
            sha = check_sha(name.removeprefix("blobs/"))
            if blobs.put(zf.read(name)) != sha:
                raise _invalid(f"{name} har feil innhold")
            count += 1

        with engine.begin() as conn:
            _refuse_non_empty(_non_empty_tables(conn))
            present = set(_data_tables(conn))
            for entry in manifest["tables"]:
                name = entry["name"]
                if name not in present:
                    raise RestoreError(
                        f"Tabellen {name} fra sikkerhetskopien finnes ikke i databasen etter "
                        f"migrering til revisjon {revision}."
                    )
            try:
                counts = _insert_rows(conn, zf, manifest)
            except (SQLAlchemyError, ValueError, TypeError) as exc:
                raise _invalid(
                    f"radene passer ikke i databasen ({type(getattr(exc, 'orig', exc)).__name__})"
                ) from None
            if conn.dialect.name == "postgresql":
                _reset_sequences(conn, list(counts))
            rebuild_search_index(conn)
            with Session(bind=conn) as session:
                audit_ok, first_bad = audit.verify(session)
            if require_audit and not audit_ok:
                raise RestoreError(
                    f"Revisjonsloggen i sikkerhetskopien henger ikke sammen (første brudd ved "
                    f"hendelse {first_bad}). Ingen rader er gjenopprettet."
                )
    return RestoreReport(
        revision=revision,
        tables=counts,
        blobs=count,
        audit_ok=audit_ok,
        missing_blobs=list(manifest.get("blobs", {}).get("missing") or []),
    )
