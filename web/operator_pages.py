"""The operator's outbox page (`admin`, CONNECTIONS.md section 2): what waits, what failed and
why, and a retry button per failed row (a plain form with CSRF, no JavaScript needed)."""

from __future__ import annotations

from flask import Blueprint, Response, current_app, render_template, url_for

from services import outbox
from web.auth import login_required
from web.context import storage
from web.http import act, page_actor

bp = Blueprint("operator", __name__)

SHOWN = 200  # rows of each status on the page (the CLI lists them all)
STATUS_NB = {"venter": "Venter", "sendt": "Sendt", "feilet": "Feilet"}
KIND_NB = {"epost": "E-post", "arkiv": "Arkiv"}


@bp.get("/drift/utboks")
@login_required("admin")
def outbox_page() -> str:
    uow = storage().uow()
    settings = current_app.extensions["skjemamottak.settings"]
    conn = settings.connections
    return render_template(
        "drift_utboks.html",
        feilet=outbox.list_rows(uow, status="feilet", limit=SHOWN),
        venter=outbox.list_rows(uow, status="venter", limit=SHOWN),
        sendt=outbox.list_rows(uow, status="sendt", limit=20),
        smtp=conn.smtp is not None,
        arkiv=conn.arkiv_dir is not None,
        stoppet=conn.enabled and outbox.worker_stale(storage().uow()),
        status_nb=STATUS_NB,
        art_nb=KIND_NB,
    )


@bp.post("/drift/utboks/<int:row_id>/prov-igjen")
@login_required("admin")
def retry(row_id: int) -> Response:
    def run() -> list[int]:
        return outbox.retry(storage().uow(), [row_id], page_actor())

    back = url_for("operator.outbox_page")
    return act(
        run,
        lambda changed: (
            f"Rad {row_id} prøves igjen." if changed else f"Rad {row_id} var ikke feilet."
        ),
        back,
    )
