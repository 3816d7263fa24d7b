"""The `skjemamottak` command: the operator's and the tests' front door.

Processor commands (`check`, `link`, `templates`) need no server and no database; they import
nothing of Flask or SQLAlchemy. The others (`serve`, `db`, `user`, `token`, `audit`, `demo`) import
the storage and web layers inside the command.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import sys
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from processor.domain import CASE_FORM_TYPES
from processor.errors import DomainError
from processor.timefmt import OSLO

if TYPE_CHECKING:
    from web.runtime import Storage
    from web.settings import Settings

STATUS_NB = {"accepted": "godkjent", "incomplete": "ufullstendig", "rejected": "avvist"}


def today_oslo() -> date:
    return datetime.now(OSLO).date()


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # usage errors exit 2, in Norwegian
        self.print_usage(sys.stderr)
        translated = (
            message.replace("the following arguments are required", "disse argumentene mangler")
            .replace("unrecognized arguments", "ukjente argumenter")
            .replace("invalid choice", "ugyldig valg")
            .replace("(choose from", "(velg blant")
            .replace("invalid int value", "ugyldig heltall")
            .replace("expected one argument", "forventet én verdi")
        )
        print(f"{self.prog}: feil: {translated}", file=sys.stderr)
        sys.exit(2)


def _subcommands(parser: argparse.ArgumentParser, dest: str) -> argparse._SubParsersAction:
    """The parser's sub-commands, one of them required; theirs use `_Parser` too."""
    return parser.add_subparsers(dest=dest, metavar="KOMMANDO", parser_class=_Parser, required=True)


def _command_group(
    sub: argparse._SubParsersAction, name: str, help: str
) -> argparse._SubParsersAction:
    """`skjemamottak NAME KOMMANDO ...`: a command made of sub-commands (`blobs rotate-key`)."""
    return _subcommands(sub.add_parser(name, help=help), f"{name}_command")


# ---- check --------------------------------------------------------------------------------------


def _check_one(args: tuple[str, int, str]) -> dict:
    path, max_bytes, today_iso = args
    from processor.findings import Limits, Result, finding
    from processor.ingest import ingest

    limits = Limits(max_file_bytes=max_bytes)
    p = Path(path)
    size = p.stat().st_size
    if size > max_bytes:  # refuse before reading the whole file
        mb = max_bytes // (1024 * 1024)
        msg = f"Filen er større enn {mb} MB."
        return Result(path, "rejected", errors=[finding("FILE_TOO_LARGE", None, msg)]).to_dict()
    result = ingest(p.name, p.read_bytes(), limits=limits, today=date.fromisoformat(today_iso))
    result.file = path
    return result.to_dict()


def _report(results: list[dict]) -> str:
    from forms.catalog import catalogue

    forms = catalogue()
    lines = []
    for r in results:
        head = f"{r['file']}: {STATUS_NB[r['status']]}"
        form = forms.get(r["form_type"] or "")
        extra = []
        if form:
            extra.append(form.short_name)
        if r.get("reference") and r["status"] != "rejected":
            extra.append(f"referanse {r['reference']}")
        if extra:
            head += f" ({', '.join(extra)})"
        lines.append(head)
        for kind, items in (("feil", r["errors"]), ("merknad", r["warnings"])):
            for f in items:
                where = ""
                if f["field"]:
                    label = form.label(f["field"]) if form else f["field"]
                    where = (
                        f"{label} ({f['field']}): " if label != f["field"] else f"{f['field']}: "
                    )
                lines.append(f"  - {kind}: {where}{f['message']} [{f['code']}]")
    counts = {s: sum(r["status"] == s for r in results) for s in STATUS_NB}
    lines.append(
        f"\n{len(results)} filer: {counts['accepted']} godkjent, {counts['incomplete']} ufullstendig, "
        f"{counts['rejected']} avvist."
    )
    return "\n".join(lines)


def cmd_check(ns: argparse.Namespace) -> int:
    missing = [f for f in ns.files if not Path(f).is_file()]
    if missing:
        for f in missing:
            print(f"skjemamottak check: finner ikke filen {f}", file=sys.stderr)
        return 2
    max_bytes = int(ns.max_mb * 1024 * 1024)
    today = (ns.today or today_oslo()).isoformat()
    work = [(f, max_bytes, today) for f in ns.files]
    jobs = max(1, min(ns.jobs or os.cpu_count() or 1, len(work)))
    progress = sys.stderr.isatty() and len(work) > 1
    results: list[dict] = []
    if jobs == 1:
        for i, item in enumerate(work, 1):
            results.append(_check_one(item))
            if progress:
                print(f"\rKontrollert {i} av {len(work)} filer", end="", file=sys.stderr)
    else:
        with ProcessPoolExecutor(max_workers=jobs) as pool:
            chunk = max(1, min(64, len(work) // (jobs * 8)))
            for i, r in enumerate(pool.map(_check_one, work, chunksize=chunk), 1):
                results.append(r)
                if progress and (i % 10 == 0 or i == len(work)):
                    print(f"\rKontrollert {i} av {len(work)} filer", end="", file=sys.stderr)
    if progress:
        print(file=sys.stderr)
    # a file name that is no UTF-8 (or a text from the file) may hold lone surrogates: written
    # as U+FFFD, so the output is always whole, valid UTF-8 (and JSON) (issue 11)
    from forms.text import encodable

    if ns.json:
        sys.stdout.write(encodable(json.dumps({"results": results}, ensure_ascii=False, indent=2)))
        sys.stdout.write("\n")
    else:
        print(encodable(_report(results)))
    return 0 if all(r["status"] == "accepted" for r in results) else 1


# ---- link ---------------------------------------------------------------------------------------


def cmd_link(ns: argparse.Namespace) -> int:
    from processor.findings import Refusal
    from processor.linkcheck import NoChecksumField, check_link, read_form, write_checksum

    for f in (ns.del1, ns.del2, *([ns.key] if ns.key else [])):
        if not Path(f).is_file():
            print(f"skjemamottak link: finner ikke filen {f}", file=sys.stderr)
            return 2
    try:
        del1 = read_form(ns.del1, Path(ns.del1).read_bytes())
        del2_bytes = Path(ns.del2).read_bytes()
        del2 = read_form(ns.del2, del2_bytes)
    except Refusal as r:
        print(f"Kan ikke lese filene: {r.finding.message}")
        return 1
    key = Path(ns.key).read_bytes() if ns.key else None
    report = check_link(del1, del2, ns.today or today_oslo(), key)
    for c in report.checks:
        print(f"{'OK  ' if c.ok else 'FEIL'} {c.message}")
    if not report.ok:
        print("Koblingen holder ikke.")
        return 1
    if report.checksum:
        try:
            updated = write_checksum(ns.del2, del2_bytes, report.checksum)
        except NoChecksumField:
            print(
                "Del 2 er laget fra en eldre mal uten feltet «Kontrollsum for del 1». "
                "Filen er ikke endret. Bruk den nyeste malen for del 2."
            )
            return 1
        _replace(Path(ns.del2), updated)
        print("Kontrollsummen for del 1 er skrevet inn i del 2.")
    print("Koblingen holder.")
    return 0


def _replace(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    with open(tmp, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


# ---- templates ----------------------------------------------------------------------------------


def cmd_templates(ns: argparse.Namespace) -> int:
    from forms.templates import write_templates

    out = Path(ns.outdir)
    out.mkdir(parents=True, exist_ok=True)
    written = write_templates(out)
    for p in written:
        print(p)
    return 0


# ---- server, database, users (these import the storage and web layers) -------------------------


def _storage(ns: argparse.Namespace, migrate: bool = True) -> Storage:
    from web.runtime import open_storage

    return open_storage(ns.settings, migrate=migrate)


def _domain_error(e: Exception) -> int:
    """A refusal (a DomainError, a backup or restore error) on stderr: exit status 1."""
    print(f"skjemamottak: {getattr(e, 'message', e)}", file=sys.stderr)
    return 1


def default_workers() -> int:
    """One process per core and one more (2 to 8), unless `SKJEMAMOTTAK_WORKERS` says otherwise.

    Measured with 16 clients uploading Del 2 PDFs on 2 cores (benchmarks/upload_load.py): the
    work is CPU-bound Python, so processes with one thread each share the cores fairly, and
    threads in one process queue for its interpreter lock. p95: 3 x 1 186 ms (100 uploads/s),
    5 x 1 225 ms, 8 x 1 315 ms, 2 x 4 344 ms, 5 x 4 526 ms. Slow clients are the reverse
    proxy's to buffer (README, Drift)."""
    return max(2, min((os.cpu_count() or 1) + 1, 8))


def worker_app(factory: Callable[[], Any]) -> Any:
    """The app of one gunicorn worker, built by `factory` after the fork; everything alive then
    (modules, compiled validators, the app) is frozen out of the garbage collector's sight.

    It lives as long as the worker, and a full collection walked all of it: a pause of about
    100 ms every ~1,000 uploads, in p99 (measured with benchmarks/upload_load.py)."""
    app = factory()
    gc.collect()
    gc.freeze()
    return app


def cmd_serve(ns: argparse.Namespace) -> int:
    """Serve with gunicorn: migrate once in the master, then fork workers that each build the app
    (an engine and a blob store per process) from the same settings."""
    from dataclasses import replace

    from gunicorn.app.base import BaseApplication

    from web.app import create_app

    settings: Settings = ns.settings
    if settings.base_url is None:  # links on the address served here
        host = "127.0.0.1" if ns.host in ("0.0.0.0", "::", "") else ns.host
        host = f"[{host}]" if ":" in host else host
        settings = replace(settings, base_url=f"http://{host}:{ns.port}")
    _purged(_storage(ns, migrate=False).upgrade())
    from processor.ingest import warm

    warm()  # compiled once here; the forked workers inherit the validators

    class _Gunicorn(BaseApplication):
        def load_config(self) -> None:
            self.cfg.set("bind", f"{ns.host}:{ns.port}")
            self.cfg.set("workers", settings.workers or default_workers())
            self.cfg.set("threads", ns.threads)
            self.cfg.set("timeout", 120)
            self.cfg.set("graceful_timeout", 30)
            self.cfg.set("worker_tmp_dir", "/dev/shm" if os.path.isdir("/dev/shm") else None)
            self.cfg.set("forwarded_allow_ips", settings.forwarded_allow_ips)
            self.cfg.set("proc_name", "skjemamottak")

        def load(self):
            return worker_app(lambda: create_app(settings=settings))

    print(f"Skjemamottak kjører på http://{ns.host}:{ns.port}/ (avslutt med Ctrl+C)", flush=True)
    _Gunicorn().run()
    return 0


def cmd_fsck(ns: argparse.Namespace) -> int:
    from storage.fsck import fsck, purge_deleted_blobs

    st = _storage(ns, migrate=False)
    if not ns.dry_run:  # files of uploads stored by earlier versions, listed by migration 0008
        _purged(purge_deleted_blobs(st.engine, st.blobs))
    report = fsck(st.engine, st.blobs, repair=not ns.dry_run, grace_seconds=ns.grace)
    for line in report.lines():
        print(line)
    return report.exit_code


def cmd_backup(ns: argparse.Namespace) -> int:
    from storage.backup import BackupError, backup

    st = _storage(ns, migrate=False)
    try:
        report = backup(st.engine, st.blobs, Path(ns.out))
    except BackupError as e:
        return _domain_error(e)
    print(
        f"Sikkerhetskopi skrevet til {report.path}: {sum(report.tables.values())} rader, "
        f"{report.blobs} filer, revisjon {report.revision}, SHA-256 {report.sha256}."
    )
    return 0


def cmd_restore(ns: argparse.Namespace) -> int:
    from storage.backup import RestoreError, restore

    st = _storage(ns, migrate=False)
    try:
        report = restore(Path(ns.archive), st.engine, st.blobs)
    except RestoreError as e:
        return _domain_error(e)
    print(
        f"Gjenopprettet {sum(report.tables.values())} rader og {report.blobs} filer "
        f"(revisjon {report.revision}); revisjonsloggen er {'hel' if report.audit_ok else 'BRUTT'}."
    )
    return 0 if report.audit_ok else 1


def cmd_blobs_rotate(ns: argparse.Namespace) -> int:
    from storage.crypto import rotate

    keyring = ns.settings.keyring
    if keyring is None:
        print(
            "skjemamottak: sett SKJEMAMOTTAK_BLOB_KEY til den nye nøkkelen og "
            "SKJEMAMOTTAK_BLOB_OLD_KEYS til de gamle før rotering.",
            file=sys.stderr,
        )
        return 2
    st = _storage(ns, migrate=False)
    report = rotate(st.blobs, keyring.current, keyring.old)
    print(
        f"{report.rewritten} filer kryptert på nytt, {report.already_current} hadde allerede "
        f"gjeldende nøkkel, {len(report.failed)} kunne ikke leses."
    )
    return 0 if report.ok else 1


def _purged(report: Any) -> None:
    if report.files_removed:
        print(
            f"Slettet {report.files_removed} opplastede filer som tidligere versjoner lagret "
            "(tjenesten beholder bare kanonisk JSON og SHA-256 av filen).",
            flush=True,
        )


def cmd_db_upgrade(ns: argparse.Namespace) -> int:
    st = _storage(ns, migrate=False)
    _purged(st.upgrade())
    print("Databasen er oppdatert.")
    return 0


def cmd_user_add(ns: argparse.Namespace) -> int:
    from services.users import add_user

    password = None
    if ns.password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
        if not password:
            print("skjemamottak user add: passordet er tomt", file=sys.stderr)
            return 2
    add_user(
        _storage(ns).uow(),
        ns.name,
        roles=ns.role,
        hf=ns.hf,
        beslutningstaker=ns.beslutningstaker,
        fagomrader=ns.fagomrade or (),
        password=password,
        epost=ns.epost,
        oidc_sub=ns.oidc_sub,
        display_name=ns.navn or "",
        funksjoner=ns.funksjon or (),
        actor="cli",
    )
    print(f"Brukeren {ns.name} er opprettet.")
    return 0


def cmd_user_set(ns: argparse.Namespace) -> int:
    from services import users

    values = {k: v for k, v in (("epost", ns.epost), ("oidc_sub", ns.oidc_sub)) if v is not None}
    if not values and ns.funksjon is None and ns.navn is None:
        print(
            "skjemamottak user set: oppgi --epost, --oidc-sub, --funksjon og/eller --navn",
            file=sys.stderr,
        )
        return 2
    changed: list[str] = []
    if ns.funksjon is not None or ns.navn is not None:
        st = _storage(ns)
        changed += users.set_functions(
            st.uow(), ns.name, funksjoner=ns.funksjon, navn=ns.navn, actor="cli"
        )
    if values:
        changed += users.set_contact(_storage(ns).uow(), ns.name, actor="cli", **values)
    labels = {
        "epost": "e-postadressen",
        "oidc_sub": "OIDC-sub-en",
        "funksjoner": "funksjonene",
        "navn": "navnet",
    }
    if changed:
        print(f"Endret for {ns.name}: {', '.join(labels[c] for c in changed)}.")
    else:
        print(f"Ingen endring for {ns.name}.")
    return 0


def cmd_user_password(ns: argparse.Namespace) -> int:
    from services.users import set_password

    password = sys.stdin.readline().rstrip("\r\n")
    if not password:
        print("skjemamottak user password: passordet er tomt", file=sys.stderr)
        return 2
    set_password(_storage(ns).uow(), ns.name, password, actor="cli")
    print(f"Passordet til {ns.name} er endret, og alle øktene til brukeren er avsluttet.")
    return 0


def cmd_user_deactivate(ns: argparse.Namespace) -> int:
    from services.users import deactivate_user

    deactivate_user(_storage(ns).uow(), ns.name, actor="cli")
    print(f"Brukeren {ns.name} er deaktivert; øktene og tilgangsnøklene virker ikke lenger.")
    return 0


def cmd_token_create(ns: argparse.Namespace) -> int:
    from services.users import create_token

    token = create_token(_storage(ns).uow(), ns.name, actor="cli")
    print(token)
    return 0


def cmd_audit_verify(ns: argparse.Namespace) -> int:
    uow = _storage(ns).uow()
    with uow:
        ok, seq = uow.audit.verify()
    if ok:
        print("Revisjonsloggen er hel.")
        return 0
    print(f"Revisjonsloggen er brutt ved hendelse {seq}.")
    return 1


def cmd_demo(ns: argparse.Namespace) -> int:
    from web import demo

    st = _storage(ns)
    if not demo.create(st):
        print("Demodata finnes allerede; ingenting er endret.")
    demo.print_logins()
    return 0


# ---- committee (issue 5) ------------------------------------------------------------------------

CLI_ACTOR = ("cli", frozenset({"admin", "koordinator"}))


def _cli_actor() -> object:
    from processor.domain import Actor

    return Actor(CLI_ACTOR[0], CLI_ACTOR[1])


def _member_args(ns: argparse.Namespace) -> dict:
    out: dict = {}
    if ns.fagdirektor is not None:
        out["fagdirektor"] = ns.fagdirektor
    if getattr(ns, "beslutningstaker_flag", None) is not None:
        out["beslutningstaker"] = ns.beslutningstaker_flag
    if ns.vara_for is not None:
        out["vara_for"] = ns.vara_for
    if ns.fra is not None:
        out["active_from"] = ns.fra or None
    if ns.til is not None:
        out["active_to"] = ns.til or None
    return out


def _optional_date(text: str) -> date | str:
    return date.fromisoformat(text) if text else ""


def cmd_committee_add(ns: argparse.Namespace) -> int:
    from services import committee
    from services.users import add_user

    st = _storage(ns)
    add_user(
        st.uow(),
        ns.name,
        roles=["komite"],
        hf=ns.hf,
        display_name=ns.navn or "",
        beslutningstaker=bool(ns.beslutningstaker_flag),
        actor="cli",
    )
    ns.beslutningstaker_flag = None
    committee.set_member(_cli_actor(), st.uow(), ns.name, **_member_args(ns))  # type: ignore[arg-type]
    print(f"Komitémedlemmet {ns.name} er opprettet.")
    return 0


def cmd_committee_set(ns: argparse.Namespace) -> int:
    from services import committee

    committee.set_member(_cli_actor(), _storage(ns).uow(), ns.name, **_member_args(ns))  # type: ignore[arg-type]
    print(f"Komitémedlemmet {ns.name} er oppdatert.")
    return 0


def cmd_committee_list(ns: argparse.Namespace) -> int:
    from services import committee

    st = _storage(ns)
    members = committee.list_members(_cli_actor(), st.uow(), st.today())  # type: ignore[arg-type]
    if ns.json:
        json.dump([m.to_dict() for m in members], sys.stdout, ensure_ascii=False, indent=2)
        sys.stdout.write("\n")
        return 0
    for m in members:
        period = (
            f" {m.active_from or '…'}–{m.active_to or '…'}" if m.active_from or m.active_to else ""
        )
        state = "aktiv" if m.active else "ikke aktiv"
        print(f"{m.username}\t{m.name}\t{m.hf}\t{m.role_nb}\t{state}{period}")
    return 0


def cmd_packet(ns: argparse.Namespace) -> int:
    from services import committee

    st = _storage(ns)
    user = committee.member_of(st.uow(), ns.member)
    if user is None:
        print(f"skjemamottak packet: {ns.member} er ikke et komitémedlem", file=sys.stderr)
        return 1
    data, _ = committee.meeting_packet(user, st.uow(), ns.meeting, st.today())
    _replace(Path(ns.out), data)
    print(f"Møtepakken er skrevet til {ns.out}.")
    return 0


def _add_contact_flags(q: argparse.ArgumentParser) -> None:
    q.add_argument("--epost", metavar="ADRESSE", help="e-postadresse for varsler ('' fjerner)")
    q.add_argument(
        "--oidc-sub",
        metavar="SUB",
        help="brukerens sub hos innloggingstjenesten (HelseID) ('' fjerner)",
    )


def _add_function_flags(q: argparse.ArgumentParser) -> None:
    q.add_argument(
        "--funksjon",
        action="append",
        metavar="F",
        help="funksjon ved helseforetaket: lege, linjeleder eller fagdirektor (kan gjentas; "
        "bare rollen hf; '' fjerner alle)",
    )
    q.add_argument(
        "--navn", metavar="TEKST", help="navnet som vises i godkjenninger og kvitteringer"
    )


def _add_member_flags(q: argparse.ArgumentParser) -> None:
    q.add_argument(
        "--fagdirektor",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="fagdirektør (--no-fagdirektor fjerner)",
    )
    q.add_argument("--vara-for", metavar="BRUKER", help="vara for et annet medlem ('' fjerner)")
    q.add_argument("--fra", type=_optional_date, metavar="ÅÅÅÅ-MM-DD", help="aktiv fra")
    q.add_argument("--til", type=_optional_date, metavar="ÅÅÅÅ-MM-DD", help="aktiv til")


def _add_committee_commands(sub: argparse._SubParsersAction) -> None:
    ksub = _command_group(sub, "komite", help="vurderingskomitéens medlemmer")
    q = ksub.add_parser("add", help="opprett et komitémedlem (bruker med rollen komite)")
    q.add_argument("name", metavar="NAVN")
    q.add_argument("--hf", required=True, metavar="KODE", help="medlemmets helseforetak")
    q.add_argument("--navn", metavar="TEKST", help="visningsnavn")
    q.add_argument(
        "--beslutningstaker",
        dest="beslutningstaker_flag",
        action="store_true",
        default=False,
        help="med beslutningsrett",
    )
    _add_member_flags(q)
    q.set_defaults(func=cmd_committee_add)
    q = ksub.add_parser("set", help="endre et komitémedlem")
    q.add_argument("name", metavar="NAVN")
    q.add_argument(
        "--beslutningstaker",
        dest="beslutningstaker_flag",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="beslutningsrett (--no-beslutningstaker fjerner)",
    )
    _add_member_flags(q)
    q.set_defaults(func=cmd_committee_set)
    q = ksub.add_parser("list", help="vis komitémedlemmene")
    q.add_argument("--json", action="store_true", help="skriv som JSON")
    q.set_defaults(func=cmd_committee_list)

    p = sub.add_parser("packet", help="skriv et medlems møtepakke (ZIP) til en fil")
    p.add_argument("meeting", type=int, metavar="MØTE")
    p.add_argument("member", metavar="MEDLEM")
    p.add_argument("out", metavar="UT")
    p.set_defaults(func=cmd_packet)


def _stats_summary(stats: dict) -> str:
    from processor.charts import number
    from processor.statistics import OUTCOME_LABELS, STATE_LABELS

    def counts(table: dict, labels: dict) -> str:
        parts = [f"{labels.get(k, k)} {number(v)}" for k, v in table.items() if k != "skjult"]
        return ", ".join(parts) or "ingen"

    total = stats["behandlingstid"]["total"]
    cal, work = total["kalenderdager"], total["arbeidsdager"]
    returns = stats["returer"]
    lines = [
        f"Saker totalt: {number(stats['saker_totalt'])}",
        f"Per status: {counts(stats['per_status'], STATE_LABELS)}",
        f"Per skjematype: {counts(stats['per_type'], {})}",
        f"Utfall: {counts(stats['utfall'], OUTCOME_LABELS)}",
        f"Behandlingstid (mottatt til avgjort, {number(cal['antall'])} saker): median "
        f"{number(cal['median'])} kalenderdager ({number(work['median'])} arbeidsdager), "
        f"90-persentil {number(cal['p90'])} kalenderdager ({number(work['p90'])} arbeidsdager)",
        f"Returer: {number(returns['totalt'])} i alt, {number(returns['saker_med_retur'])} saker "
        "med minst én retur",
    ]
    for state, block in stats["behandlingstid"]["per_steg"].items():
        c, w = block["kalenderdager"], block["arbeidsdager"]
        lines.append(
            f"  {STATE_LABELS.get(state, state)}: median {number(c['median'])} kalenderdager "
            f"({number(w['median'])} arbeidsdager), {number(c['antall'])} saker"
        )
    return "\n".join(lines)


def cmd_stats(ns: argparse.Namespace) -> int:
    import json

    from processor.statistics import Filters, to_xlsx
    from services import figures

    uow = _storage(ns).uow()
    if ns.refresh or ns.recount:
        done = figures.refresh(uow)
        print(f"Oppdaterte tallene for {done.refreshed} saker.", file=sys.stderr)
    if ns.recount:
        counted = figures.recount_all(uow)
        print(f"Telte opp tallene for alle {counted} saker på nytt.", file=sys.stderr)
    filters = Filters(
        hf=ns.hf.upper() if ns.hf else None,
        region=ns.region.upper() if ns.region else None,
        year=ns.ar,
        fagomrade=ns.fagomrade,
        form_type=ns.type,
    )
    stats = figures.figures(uow, filters, cache=False).stats
    if ns.xlsx:
        _replace(Path(ns.xlsx), to_xlsx(stats, created=datetime.now(UTC)))
        print(f"Regnearket er skrevet til {ns.xlsx}.", file=sys.stderr)
    from forms.text import encodable

    if ns.json:
        print(encodable(json.dumps(stats, ensure_ascii=False, indent=2)))
    else:
        print(encodable(_stats_summary(stats)))
    return 0


# ---- outbox, worker, archive (issue 24) ---------------------------------------------------------


def cmd_worker(ns: argparse.Namespace) -> int:
    import logging

    from web.worker import Worker, install_signals

    settings: Settings = ns.settings
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    conn = settings.connections
    st = _storage(ns)
    kw: dict[str, Any] = {}
    if ns.lease:
        from datetime import timedelta

        kw["lease"] = timedelta(seconds=ns.lease)
    worker = Worker(st, settings, **kw)
    install_signals(worker)
    if not ns.once:
        kinds = [
            *(["e-post"] if conn.smtp is not None else []),
            *(["arkiv"] if conn.arkiv_dir is not None else []),
        ]
        what = " og ".join(kinds) if kinds else "ingenting (verken SMTP eller arkivmappe er satt)"
        print(f"Arbeideren leverer {what}; avslutt med Ctrl+C.", flush=True)
    return worker.run(once=ns.once)


def _outbox_line(row: dict) -> str:
    when = row["sendt"] or row["opprettet"]
    to = row["mottaker"]
    what = row["sak"] or (f"møte {row['mote']}" if row["mote"] else "")
    return (
        f"{row['id']}\t{row['art']}\t{row['hendelse']}\t{what}\t{to}\t{row['status']}"
        f"\t{row['forsok']}\t{when}"
    )


def cmd_outbox_list(ns: argparse.Namespace) -> int:
    from services import outbox

    found = outbox.list_rows(_storage(ns).uow(), status=ns.status)
    if ns.json:
        out = [{k: r[k] for k in outbox.ROW_KEYS} for r in found]
        json.dump(out, sys.stdout, ensure_ascii=False, indent=2)
        sys.stdout.write("\n")
        return 0
    for row in found:
        print(_outbox_line(row))
        if row["status"] != "sendt" and row["siste_feil"]:
            print(f"\tsiste feil: {row['siste_feil']}")
    if not found:
        print("Utboksen er tom." if ns.status is None else f"Ingen rader med status {ns.status}.")
    return 0


def cmd_outbox_retry(ns: argparse.Namespace) -> int:
    from services import outbox

    changed = outbox.retry(_storage(ns).uow(), ns.ids)
    left = [i for i in ns.ids if i not in changed]
    if changed:
        print(f"Prøves igjen: {', '.join(map(str, changed))}.")
    if left:
        print(f"Ikke feilet, uendret: {', '.join(map(str, left))}.")
    return 0


def cmd_archive_export(ns: argparse.Namespace) -> int:
    from services import outbox
    from storage.arkiv import write_message

    messages = outbox.export(_storage(ns).uow(), ns.case)
    target = Path(ns.til)
    try:
        for message in messages:
            written = write_message(target, message)
            state = "skrevet" if written else "fantes fra før, uendret"
            print(f"{target / message.folder}: {state}")
    except OSError as e:
        print(
            f"skjemamottak arkiv eksport: kan ikke skrive i {target} ({e.strerror}).",
            file=sys.stderr,
        )
        return 1
    if not messages:
        print(f"Sak {ns.case} har ingen arkivmeldinger.")
    return 0


def _add_outbox_commands(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("worker", help="lever utboksen: e-post og arkivmeldinger")
    p.add_argument("--once", action="store_true", help="lever det som venter nå, og avslutt")
    p.add_argument("--lease", type=int, default=0, help=argparse.SUPPRESS)  # tests: seconds
    p.set_defaults(func=cmd_worker)

    osub = _command_group(sub, "outbox", help="utboksen: e-post og arkivmeldinger")
    q = osub.add_parser("list", help="vis radene i utboksen, nyeste først")
    q.add_argument("--json", action="store_true", help="skriv som JSON")
    q.add_argument("--status", choices=["venter", "sendt", "feilet"], help="bare denne statusen")
    q.set_defaults(func=cmd_outbox_list)
    q = osub.add_parser("retry", help="prøv feilede rader igjen (feilet → venter)")
    q.add_argument("ids", nargs="+", type=int, metavar="ID")
    q.set_defaults(func=cmd_outbox_retry)

    asub = _command_group(sub, "arkiv", help="arkivmeldinger (Fiks Arkiv)")
    q = asub.add_parser("eksport", help="skriv alle arkivmeldingene for en sak til en mappe")
    q.add_argument("case", metavar="ID")
    q.add_argument("--til", required=True, metavar="MAPPE", help="mappen (lages om den mangler)")
    q.set_defaults(func=cmd_archive_export)


# ---- main ---------------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="skjemamottak", description="Skjemamottak for Nye metoder.")
    sub = _subcommands(parser, "command")

    p = sub.add_parser("check", help="kontroller skjemafiler uten server og database")
    p.add_argument("files", nargs="+", metavar="FIL")
    p.add_argument("--json", action="store_true", help="skriv resultatet som JSON")
    p.add_argument("--jobs", "-j", type=int, default=0, help="antall parallelle prosesser")
    p.add_argument("--max-mb", type=float, default=20, help="største tillatte filstørrelse (MB)")
    p.add_argument("--today", type=date.fromisoformat, help=argparse.SUPPRESS)
    p.set_defaults(func=cmd_check)

    p = sub.add_parser("link", help="kontroller koblingen mellom del 1 og del 2 lokalt")
    p.add_argument("del1", metavar="DEL1")
    p.add_argument("del2", metavar="DEL2")
    p.add_argument("--key", metavar="FIL", help="nøkkelfil: skriv kontrollsum for del 1 i del 2")
    p.add_argument("--today", type=date.fromisoformat, help=argparse.SUPPRESS)
    p.set_defaults(func=cmd_link)

    p = sub.add_parser("templates", help="skriv blanke maler (PDF, DOCX, XLSX, JSON Schema, FHIR)")
    p.add_argument("outdir", metavar="MAPPE")
    p.set_defaults(func=cmd_templates)

    p = sub.add_parser("serve", help="kjør webtjenesten (gunicorn)")
    p.add_argument("--host", default="127.0.0.1", help="adresse å lytte på (127.0.0.1)")
    p.add_argument("--port", type=int, default=5000, help="port (5000)")
    p.add_argument(
        "--workers",
        type=int,
        default=0,
        help="antall arbeidsprosesser (SKJEMAMOTTAK_WORKERS, ellers kjerner + 1, 2 til 8)",
    )
    p.add_argument("--threads", type=int, default=1, help="tråder per arbeidsprosess (1)")
    p.add_argument(
        "--meeting-weekday",
        metavar="UKEDAG",
        help="ukedagen møtene foreslås på, mandag til søndag eller 0 til 6 "
        "(SKJEMAMOTTAK_MEETING_WEEKDAY, ellers torsdag)",
    )
    p.add_argument(
        "--meeting-time",
        metavar="TT:MM",
        help="klokkeslettet nye møter får (SKJEMAMOTTAK_MEETING_TIME, ellers 09:00)",
    )
    p.set_defaults(func=cmd_serve)

    p = sub.add_parser("fsck", help="sammenlign rader og filer; fjern foreldreløse filer")
    p.add_argument("--dry-run", action="store_true", help="bare rapporter, ikke rydd")
    p.add_argument(
        "--grace", type=int, default=600, help="rør ikke filer nyere enn så mange sekunder (600)"
    )
    p.set_defaults(func=cmd_fsck)

    p = sub.add_parser("backup", help="skriv en konsistent sikkerhetskopi (database og filer)")
    p.add_argument("out", metavar="FIL")
    p.set_defaults(func=cmd_backup)

    p = sub.add_parser("restore", help="gjenopprett en sikkerhetskopi i en tom database")
    p.add_argument("archive", metavar="FIL")
    p.set_defaults(func=cmd_restore)

    bsub = _command_group(sub, "blobs", help="filene (blobs)")
    q = bsub.add_parser("rotate-key", help="krypter alle filer på nytt med gjeldende nøkkel")
    q.set_defaults(func=cmd_blobs_rotate)

    dbsub = _command_group(sub, "db", help="databasen")
    q = dbsub.add_parser("upgrade", help="opprett eller oppgrader databaseskjemaet")
    q.set_defaults(func=cmd_db_upgrade)

    usub = _command_group(sub, "user", help="brukere")
    q = usub.add_parser("add", help="opprett en bruker")
    q.add_argument("name", metavar="NAVN")
    q.add_argument(
        "--role", action="append", required=True, metavar="ROLLE", help="rolle (kan gjentas)"
    )
    q.add_argument("--hf", metavar="KODE", help="helseforetaket brukeren hører til")
    q.add_argument(
        "--beslutningstaker", action="store_true", help="komitémedlem med beslutningsrett"
    )
    q.add_argument("--fagomrade", action="append", metavar="TEKST", help="fagområde (kan gjentas)")
    q.add_argument("--password-stdin", action="store_true", help="les passordet fra standard inn")
    _add_contact_flags(q)
    _add_function_flags(q)
    q.set_defaults(func=cmd_user_add)
    q = usub.add_parser(
        "set", help="endre e-postadressen, OIDC-sub-en, funksjonene eller navnet til en bruker"
    )
    q.add_argument("name", metavar="NAVN")
    _add_contact_flags(q)
    _add_function_flags(q)
    q.set_defaults(func=cmd_user_set)
    q = usub.add_parser(
        "password", help="sett nytt passord (fra standard inn); avslutter brukerens økter"
    )
    q.add_argument("name", metavar="NAVN")
    q.set_defaults(func=cmd_user_password)
    q = usub.add_parser(
        "deactivate", help="deaktiver en bruker: økter og tilgangsnøkler slutter å virke"
    )
    q.add_argument("name", metavar="NAVN")
    q.set_defaults(func=cmd_user_deactivate)

    tsub = _command_group(sub, "token", help="tilgangsnøkler for API-et")
    q = tsub.add_parser("create", help="lag en ny tilgangsnøkkel og skriv den ut")
    q.add_argument("name", metavar="NAVN")
    q.set_defaults(func=cmd_token_create)

    asub = _command_group(sub, "audit", help="revisjonsloggen")
    q = asub.add_parser("verify", help="kontroller hashkjeden (0 = hel, 1 = brutt)")
    q.set_defaults(func=cmd_audit_verify)

    p = sub.add_parser("stats", help="tallene for behandlingstid, returer og utfall (WORKFLOW §7)")
    p.add_argument("--json", action="store_true", help="skriv alle tallene som JSON")
    p.add_argument("--xlsx", metavar="FIL", help="skriv tallene til et regneark")
    p.add_argument("--refresh", action="store_true", help="oppdater tallene for endrede saker")
    p.add_argument(
        "--recount",
        action="store_true",
        help="tell opp tallene for alle saker på nytt (etter gjenoppretting, eller ved tvil)",
    )
    p.add_argument("--hf", metavar="KODE", help="bare saker fra dette helseforetaket")
    p.add_argument("--region", metavar="KODE", help="bare saker fra denne regionen")
    p.add_argument("--ar", type=int, metavar="ÅR", help="bare saker mottatt dette året")
    p.add_argument("--fagomrade", metavar="TEKST", help="bare saker fra dette fagområdet")
    p.add_argument(
        "--type", choices=[str(t) for t in CASE_FORM_TYPES], help="bare saker av denne skjematypen"
    )
    p.set_defaults(func=cmd_stats)

    p = sub.add_parser("demo", help="lag demobrukere og demosaker (gjør ingenting om de finnes)")
    p.set_defaults(func=cmd_demo)

    _add_committee_commands(sub)
    _add_outbox_commands(sub)
    return parser


# commands of the processor layer: no settings, no storage, no Flask
PROCESSOR_COMMANDS = (cmd_check, cmd_link, cmd_templates)
# `serve` options that override a setting (web.settings.NAMES)
SETTING_OPTIONS = {
    "workers": "WORKERS",
    "meeting_weekday": "MEETING_WEEKDAY",
    "meeting_time": "MEETING_TIME",
}


def load_settings(ns: argparse.Namespace) -> Settings:
    """The settings, built once per command from the environment, the instance's config.py and
    the command's options. Raises `web.settings.SettingsError`."""
    from web.settings import Given, Settings

    overrides = {}
    for option, name in SETTING_OPTIONS.items():
        value = getattr(ns, option, None)
        if value:  # 0 workers: not given
            overrides[name] = Given(value, "--" + option.replace("_", "-"))
    return Settings.from_environment(overrides=overrides)


def main(argv: list[str] | None = None) -> int:
    ns = build_parser().parse_args(argv)
    if ns.func not in PROCESSOR_COMMANDS:
        from web.settings import SettingsError

        try:
            ns.settings = load_settings(ns)
        except SettingsError as e:
            print(f"skjemamottak: {e.message}", file=sys.stderr)
            return 2
    try:
        return ns.func(ns)
    except DomainError as e:  # a service refused: its Norwegian message, exit status 1
        return _domain_error(e)


if __name__ == "__main__":
    sys.exit(main())
