"""`skjemamottak worker [--once]`: delivers the outbox (CONNECTIONS.md sections 2 and 3).

The loop claims one due row at a time (`services.outbox.handle_one`: claim committed, delivery
outside any transaction, outcome recorded), and when nothing is due waits `poll` seconds (1 s: a
row is handled within a few seconds of its commit). Mail rows are handled when
`SKJEMAMOTTAK_SMTP_URL` is set, archive rows when `SKJEMAMOTTAK_ARKIV_DIR` is; the other kind
waits. SIGTERM (and Ctrl-C) let the row in hand finish, then the worker exits 0. `--once`:
handle what is due now, then exit 0. Every loop records the worker's run (`worker_beats`) at
most every `BEAT` seconds, which `/healthz` reads. While idle it also refreshes the figures
(`services.figures.refresh`) every `FIGURES_EVERY` seconds when the cases changed.
"""

from __future__ import annotations

import logging
import signal
import socket
import threading
import time
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from services import figures, outbox
from storage.arkiv import write_message
from web.mailer import mail_sender
from web.runtime import Storage
from web.settings import Settings

log = logging.getLogger(__name__)

POLL = 1.0  # seconds between looks while nothing is due
BEAT = 30.0  # seconds between records of the worker's run
LEASE = timedelta(minutes=5)  # a claim's lease: far above the SMTP timeout
FIGURES_EVERY = 2.0  # seconds between looks at the figures while idle


@dataclass
class Worker:
    storage: Storage
    settings: Settings
    lease: timedelta = LEASE
    poll: float = POLL
    name: str = field(default_factory=socket.gethostname)
    stop: threading.Event = field(default_factory=threading.Event)
    handled: int = 0
    refresh_figures: bool = True

    def _figures(self) -> None:
        """Bring the figures rows and counts up to date when the cases changed (a cheap check
        when they did not), so the first page after a change need not: background work runs in
        the worker (issue 24). The pages still refresh themselves when no worker runs."""
        if not self.refresh_figures:
            return
        try:
            done = figures.refresh(self.storage.uow())
        except Exception as e:  # figures are derived data: the next look tries again
            log.error("Tallene kunne ikke oppdateres (%s).", type(e).__name__)
            return
        if done.refreshed:
            log.info("Tallene er oppdatert for %d saker.", done.refreshed)

    def _send_mail(self) -> Any:
        conn = self.settings.connections
        if conn.smtp is None or conn.mail_from is None:
            return None
        return mail_sender(conn.smtp, conn.mail_from, self.settings.link_url)

    def _write_archive(self) -> Any:
        folder = self.settings.connections.arkiv_dir
        if folder is None:
            return None

        def write(message: Any) -> None:
            try:
                write_message(folder, message)  # an existing folder counts as written
            except OSError as e:
                raise outbox.DeliveryError(
                    f"Kunne ikke skrive arkivmappen ({e.strerror or 'ukjent feil'})."
                ) from None

        return write

    def run(self, *, once: bool = False) -> int:
        send_mail, write_archive = self._send_mail(), self._write_archive()
        domain = self.settings.connections.mail_domain
        claimant = f"{self.name}:{threading.get_native_id()}:{id(self)}"
        last_beat = last_figures = -BEAT
        while not self.stop.is_set():
            now = time.monotonic()
            if now - last_beat >= BEAT:
                outbox.worker_beat(self.storage.uow(), self.name)
                last_beat = now
            try:
                row = outbox.handle_one(
                    self.storage.uow(),
                    claimant,
                    send_mail=send_mail,
                    write_archive=write_archive,
                    lease=self.lease,
                    mail_domain=domain,
                )
            except Exception as e:  # the database went away, a bug: log, wait, go on
                log.error("Arbeideren fikk en uventet feil (%s); prøver igjen.", type(e).__name__)
                if once:
                    return 1
                self.stop.wait(self.poll * 5)
                continue
            if row is not None:
                self.handled += 1
                continue
            if once or time.monotonic() - last_figures >= FIGURES_EVERY:
                self._figures()
                last_figures = time.monotonic()
            if once:
                break
            self.stop.wait(self.poll)
        outbox.worker_beat(self.storage.uow(), self.name)
        return 0


def install_signals(worker: Worker) -> None:
    """SIGTERM and SIGINT: finish the row in hand, then stop."""

    def stop(signum: int, _frame: object) -> None:
        log.info("Arbeideren stopper (signal %d) etter raden den holder på med.", signum)
        worker.stop.set()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
