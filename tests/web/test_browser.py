"""The main journeys in a real browser, on the demo data (Debian's Chromium, driven by Selenium
through Debian's chromedriver; no browser downloads), walked as the people walk them: through
links, forms and buttons, never the API.

- Del 2: an HF user uploads an incomplete form and the fixed one; the coordinator returns it with
  a reason; the HF reads the reason and sends a new version; the coordinator sends it to the price
  check; the price check records the price; the coordinator puts it on the planned meeting; a
  committee member downloads the meeting packet; the coordinator records the decision; the HF
  reads it and downloads the decision letter.
- Mini-HTA: an HF user uploads skjema 1 and the economics workbook; the coordinator assigns a
  peer reviewer; the reviewer declares no conflict and uploads skjema 2; the HF uploads skjema 3;
  the coordinator publishes; the public search finds it.

Every page visited is checked at 1280 px and at 390 px (a phone): axe-core (npm, `npm ci` at the
repository root) finds no violation of any impact, and at 390 px nothing is wider than the screen.
Full-page screenshots of both widths go to test-artifacts/screens/ for a person to look at.

Without Chromium, chromedriver, selenium or axe-core the test is skipped on a developer machine
and fails in CI (CI=true), where .ci/run installs them."""

from __future__ import annotations

import base64
import io
import json
import os
import shutil
import threading
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from pypdf import PdfReader
from werkzeug.serving import make_server

from forms.catalog import get_form
from forms.templates import build
from processor.domain import STATE_LABELS
from tests.fillers import fill_xlsx, sample_values
from tests.web.conftest import make_app, st
from web import demo
from web.cli import today_oslo

ROOT = Path(__file__).resolve().parents[2]
SCREENS = ROOT / "test-artifacts" / "screens"
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")
WIDE, PHONE = 1280, 390
HEIGHT = 900
PASSWORDS = {spec["username"]: spec["password"] for spec in demo.DEMO_USERS}

try:
    from selenium.webdriver.common.by import By
except ImportError:  # skipped below, or an error in CI
    By = None


def _missing() -> str | None:
    if not (CHROMIUM and CHROMEDRIVER):
        return "Debian's chromium and chromium-driver are not installed"
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium is not installed (pip install -e '.[dev]')"
    if not AXE.is_file():
        return "axe-core is not installed (run `npm ci` at the repository root)"
    return None


MISSING = _missing()
if MISSING and os.environ.get("CI") == "true":
    raise RuntimeError(f"the browser test cannot run in CI: {MISSING}")
pytestmark = pytest.mark.skipif(MISSING is not None, reason=str(MISSING))


@pytest.fixture(scope="module")
def demo_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flask]:
    """A fresh instance after `skjemamottak demo`, as `make run` makes it."""
    instance = tmp_path_factory.mktemp("journey") / "instance"
    app = make_app(instance, TODAY=today_oslo())
    assert demo.create(st(app), out=lambda _line: None) is True
    yield app
    st(app).engine.dispose()


@pytest.fixture(scope="module")
def site(demo_app: Flask) -> Iterator[str]:
    httpd = make_server("127.0.0.1", 0, demo_app, threaded=True)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_port}"
    finally:
        httpd.shutdown()
        thread.join(timeout=10)


@pytest.fixture(scope="module")
def downloads(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("downloads")


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory, downloads: Path) -> Iterator[Any]:
    from selenium import webdriver
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service

    options = Options()
    options.binary_location = str(CHROMIUM)
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--hide-scrollbars",
        f"--window-size={WIDE},{HEIGHT}",
        "--lang=nb-NO",
        f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}",
    ):
        options.add_argument(flag)
    options.add_experimental_option(
        "prefs",
        {
            "download.default_directory": str(downloads),
            "download.prompt_for_download": False,
            "plugins.always_open_pdf_externally": True,  # a PDF link downloads the file
        },
    )
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    driver.implicitly_wait(5)
    driver.execute_cdp_cmd(
        "Browser.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(downloads)}
    )
    yield driver
    driver.quit()


@dataclass
class Walk:
    """The browser on the site; `look` checks the page in view at both widths."""

    driver: Any
    site: str
    downloads: Path
    problems: list[str] = field(default_factory=list)
    pages: list[str] = field(default_factory=list)
    progress_shown: int = 0  # uploads whose progress bar was seen

    def by(self, how: str, what: str) -> Any:
        return self.driver.find_element(getattr(By, how), what)

    def main_text(self) -> str:
        return str(self.by("TAG_NAME", "main").text)

    def follow(self, element: Any) -> None:
        """Click a link or a submit button and wait until the next page has replaced this one: a
        marker set on the old document's window is gone once the new document has loaded."""
        from selenium.webdriver.support.ui import WebDriverWait

        self.driver.execute_script("window.__gammelSide = true;")
        element.click()
        WebDriverWait(self.driver, 30).until(
            lambda d: d.execute_script(
                "return window.__gammelSide === undefined && document.readyState === 'complete'"
            )
        )

    def link(self, text: str) -> None:
        """Follow the link whose text contains `text` (in the page's main part or menu)."""
        self.follow(self.by("PARTIAL_LINK_TEXT", text))

    def menu(self, text: str) -> None:
        nav = self.by("CSS_SELECTOR", "header nav")
        self.follow(nav.find_element(By.LINK_TEXT, text))

    def submit(self, form: Any) -> None:
        self.follow(form.find_element(By.CSS_SELECTOR, "button[type=submit]"))

    def form_of(self, element_id: str) -> Any:
        return self.by("ID", element_id).find_element(By.XPATH, "./ancestor::form")

    def button(self, text: str) -> Any:
        """The submit button whose text is `text`, exactly."""
        return self.by("XPATH", f"//main//button[normalize-space()='{text}']")

    def login(self, username: str) -> None:
        """Log out (if logged in) with the header button, then log in on the login page."""
        if self.driver.find_elements(*_css("form.utlogging button")):
            self.follow(self.by("CSS_SELECTOR", "form.utlogging button"))
        else:
            self.driver.get(f"{self.site}/logg-inn")
        if "logg-inn" not in self.pages:  # the same page every time
            self.look("logg-inn")
        self.by("ID", "brukernavn").send_keys(username)
        self.by("ID", "passord").send_keys(PASSWORDS[username])
        self.submit(self.form_of("brukernavn"))
        assert f"Innlogget som {username}" in self.by("TAG_NAME", "header").text

    def upload(self, path: Path, case_id: str = "") -> str:
        """Upload on the page in view (the upload page or a case page's new-version form).

        With JavaScript the page sends the file itself, shows its progress and puts the server's
        answer in place of its <main> (web/static/opplasting.js): wait until the old <main> is
        gone, or the browser has gone to another page (a redirect)."""
        from selenium.webdriver.support.ui import WebDriverWait

        self.by("ID", "fil").send_keys(str(path))
        if case_id:
            self.by("ID", "sak").send_keys(case_id)
        self.driver.execute_script(
            "window.__gammelSide = true; document.querySelector('main').dataset.gammel = '1';"
            # the progress box the script adds: record that it was shown while the file went
            "var box = document.querySelector('form[data-opplasting] .fremdrift');"
            "window.__fremdrift = box ? 'skjult' : 'mangler';"
            "if (box) new MutationObserver(function () {"
            "  if (!box.hidden) { window.__fremdrift = 'vist'; } }"
            ").observe(box, {attributes: true});"
        )
        self.form_of("fil").find_element(By.CSS_SELECTOR, "button[type=submit]").click()
        WebDriverWait(self.driver, 60).until(
            lambda d: d.execute_script(
                "var m = document.querySelector('main');"
                "return document.readyState === 'complete' && "
                "(window.__gammelSide === undefined || (m !== null && !m.dataset.gammel));"
            )
        )
        progress = self.driver.execute_script("return window.__fremdrift;")
        # an upload form with the script's progress box showed it while the file was sent (None:
        # the browser went to another page; "mangler": a form the script does not enhance)
        assert progress != "skjult", "the upload form never showed its progress"
        self.progress_shown += progress == "vist"
        return self.main_text()

    def download(self, element: Any, suffix: str) -> bytes:
        """Click a download link; the file that arrives in the download folder."""
        from selenium.webdriver.support.ui import WebDriverWait

        before = set(self.downloads.iterdir())

        sizes: dict[Path, int] = {}

        def arrived(_driver: Any) -> Path | None:
            # Chromium reserves the final name with an empty file and writes to a .crdownload
            # beside it, renaming at the end: the file is there when no partial one is left and
            # its size has stayed the same, above zero, between two polls.
            new = [p for p in self.downloads.iterdir() if p not in before]
            if any(p.name.endswith(".crdownload") for p in new):
                return None
            for p in new:
                if p.name.endswith(suffix):
                    size = p.stat().st_size
                    if size > 0 and sizes.get(p) == size:
                        return p
                    sizes[p] = size
            return None

        element.click()
        path: Path = WebDriverWait(self.driver, 30).until(arrived)
        return path.read_bytes()

    # ---- checks on every page -------------------------------------------------------------------

    def look(self, name: str) -> None:
        """axe-core and screenshots at both widths, the phone's width for overflow."""
        n = len(self.pages) + 1
        self.pages.append(name)
        where = f"{n:02d}-{name} ({self.driver.current_url.removeprefix(self.site)})"
        for width in (WIDE, PHONE):
            self._width(width)
            self._shot(f"{n:02d}-{name}-{width}")
            for v in self._axe():
                nodes = "; ".join(" ".join(t) for t in (x["target"] for x in v["nodes"][:3]))
                self.problems.append(
                    f"{where} at {width} px: axe {v['id']} ({v['impact']}): {v['help']} – {nodes}"
                )
            if width == PHONE:
                wide, culprits = self.driver.execute_script(WIDEST)
                if wide > PHONE:
                    self.problems.append(f"{where}: {wide} px wide at {PHONE} px: {culprits}")
        self._width(None)

    def verdict(self) -> None:
        """What the checks found on the pages visited since the last verdict (then forgotten)."""
        problems, self.problems = self.problems, []
        assert problems == [], "\n" + "\n".join(problems)

    def _width(self, width: int | None) -> None:
        if width is None or width == WIDE:
            self.driver.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})
            return
        self.driver.execute_cdp_cmd(
            "Emulation.setDeviceMetricsOverride",
            {"width": width, "height": 844, "deviceScaleFactor": 1, "mobile": True},
        )

    def _shot(self, name: str) -> None:
        SCREENS.mkdir(parents=True, exist_ok=True)
        shot = self.driver.execute_cdp_cmd(
            "Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True}
        )
        (SCREENS / f"{name}.png").write_bytes(base64.b64decode(shot["data"]))

    def _axe(self) -> list[dict[str, Any]]:
        if not self.driver.execute_script("return typeof window.axe === 'object';"):
            self.driver.execute_script(AXE.read_text("utf-8"))
        self.driver.set_script_timeout(60)
        raw = self.driver.execute_async_script(
            "const done = arguments[arguments.length - 1];"
            "axe.run(document, {resultTypes: ['violations']})"
            ".then(r => done(JSON.stringify(r.violations)))"
            ".catch(e => done(JSON.stringify([{id: 'axe-error', impact: 'critical',"
            " help: String(e), nodes: []}])));"
        )
        result: list[dict[str, Any]] = json.loads(raw)
        return result


# the page's width, and the outermost elements that reach beyond the screen (to say what to fix)
WIDEST = r"""
const limit = document.documentElement.clientWidth;
const out = [];
for (const el of document.body.querySelectorAll('*')) {
  if (el.getBoundingClientRect().right <= limit + 0.5) continue;
  if (out.some(o => o.contains(el))) continue;
  out.push(el);
}
const name = el => el.tagName.toLowerCase() + (el.id ? '#' + el.id : '')
  + (typeof el.className === 'string' && el.className.trim()
     ? '.' + el.className.trim().split(/\s+/).join('.') : '');
return [document.documentElement.scrollWidth,
        out.slice(0, 4).map(el => name(el) + ' ' + Math.round(el.getBoundingClientRect().right))
          .join(', ')];
"""


def _css(selector: str) -> tuple[str, str]:
    return By.CSS_SELECTOR, selector


@pytest.fixture(scope="module")
def walk(browser: Any, site: str, downloads: Path) -> Walk:
    return Walk(browser, site, downloads)


def _write(folder: Path, name: str, data: bytes) -> Path:
    path = folder / name
    path.write_bytes(data)
    return path


def _row_link(walk: Walk, case_id: str) -> Any:
    return walk.by("XPATH", f"//main//a[normalize-space()='{case_id}']")


def test_del2_from_upload_to_decision_letter(walk: Walk, demo_app: Flask, tmp_path: Path) -> None:
    today = st(demo_app).today()
    reference = f"{(today - timedelta(days=1)).isoformat()}-OUS-REISE"
    values = sample_values(
        "tilgang-del2",
        **{
            "soknad.helseforetak": "OUS",
            "pasient.opptaksomrade": "OUS",
            "soknad.referansenummer": reference,
            "forankring.dato": (today - timedelta(days=1)).isoformat(),
        },
    )
    medicine = str(values["behandling.legemiddel"])
    incomplete = {k: v for k, v in values.items() if k != "pasient.diagnose"}
    bad = _write(tmp_path, "soknad-ufullstendig.pdf", build("tilgang-del2", "pdf", incomplete))
    good = _write(tmp_path, "soknad.pdf", build("tilgang-del2", "pdf", values))
    values["behandling.evalueringsplan"] = "CT-kontroll hver 8. uke; stopp ved progresjon."
    again = _write(tmp_path, "soknad-v2.docx", build("tilgang-del2", "docx", values))

    # the HF user: an incomplete form, then the complete one
    walk.login("hf-ous")
    walk.look("hf-forside")
    walk.menu("Send inn skjema")
    walk.look("hf-innsending")
    page = walk.upload(bad)
    walk.look("hf-ufullstendig")
    assert "ufullstendig" in page
    assert get_form("tilgang-del2").label("pasient.diagnose") in page  # named by its label
    page = walk.upload(good)
    walk.look("hf-kvittering")
    assert "Kvittering" in page and reference in page

    # the coordinator returns it with a reason
    reason = "Legg ved dokumentasjon av tidligere behandling."
    walk.login("koordinator")
    walk.menu("Innboks")
    walk.look("koordinator-innboks")
    walk.follow(_row_link(walk, reference))
    walk.look("koordinator-sak-mottatt")
    walk.by("ID", "begrunnelse-returnert").send_keys(reason)
    walk.submit(walk.form_of("begrunnelse-returnert"))
    walk.look("koordinator-sak-returnert")
    assert STATE_LABELS["returnert"] in walk.by("CSS_SELECTOR", ".fakta").text

    # the HF user reads the reason and sends a new version from the case page
    walk.login("hf-ous")
    walk.menu("Våre saker")
    walk.look("hf-saker")
    walk.follow(_row_link(walk, reference))
    walk.look("hf-sak-returnert")
    assert reason in walk.main_text()
    page = walk.upload(again)
    walk.look("hf-kvittering-versjon-2")
    assert reference in page and "versjon 2" in page

    # the coordinator sends it to the price check
    walk.login("koordinator")
    walk.menu("Innboks")
    walk.follow(_row_link(walk, reference))
    walk.look("koordinator-sak-versjon-2")
    walk.follow(walk.button("Send til priskontroll"))
    walk.look("koordinator-sak-priskontroll")
    assert STATE_LABELS["priskontroll"] in walk.by("CSS_SELECTOR", ".fakta").text

    # the price check confirms the stated price (the amount field is filled in with it)
    walk.login("priskontroll")
    walk.menu("Priskontroll")
    walk.look("priskontroll-ko")
    walk.follow(_row_link(walk, reference))
    walk.look("priskontroll-sak")
    # a corrected amount without a note is refused at the note, and the amount is kept
    amount = walk.by("ID", "belop")
    stated = amount.get_attribute("value")
    amount.clear()
    amount.send_keys("85 000,50")
    walk.submit(walk.form_of("belop"))
    walk.look("priskontroll-sak-feil")
    assert walk.by("ID", "belop").get_attribute("value") == "85 000,50"
    assert walk.by("ID", "merknad").get_attribute("aria-invalid") == "true"
    assert walk.by("ID", "merknad-feil").text in walk.by("CSS_SELECTOR", ".feiloppsummering").text
    walk.by("ID", "belop").clear()
    walk.by("ID", "belop").send_keys(stated)
    walk.by("ID", "merknad").send_keys("Bekreftet mot avtalepris.")
    walk.submit(walk.form_of("belop"))
    walk.look("priskontroll-registrert")
    assert "Priskontrollen er registrert" in walk.main_text()

    # the coordinator puts the ready case on the planned meeting
    walk.login("koordinator")
    walk.menu("Møter")
    walk.look("koordinator-moter")
    walk.link("Planlegg møtet")
    walk.look("koordinator-mote")
    walk.follow(walk.button("Sett opp klare saker til dette møtet"))
    walk.look("koordinator-mote-planlagt")
    placed = walk.by("ID", "plasserte").find_element(By.XPATH, "./ancestor::section").text
    assert reference in placed

    # a committee member downloads the meeting packet
    walk.login("komite")
    walk.menu("Møter")
    walk.look("komite-moter")
    packet = walk.download(walk.by("PARTIAL_LINK_TEXT", "Last ned møtepakken"), ".zip")
    names = zipfile.ZipFile(io.BytesIO(packet)).namelist()
    assert any(reference in name for name in names), names

    # the coordinator records the decision from the case page
    walk.login("koordinator")
    walk.menu("Alle saker")
    walk.look("koordinator-alle-saker")
    walk.follow(_row_link(walk, reference))
    walk.look("koordinator-sak-satt-opp")
    walk.link("Registrer komitéens vedtak")
    walk.look("koordinator-vedtak")
    walk.by("ID", "utfall-innvilget").click()
    walk.by("ID", "okt_nytte-oppfylt").click()
    walk.by("ID", "okt_nytte-begrunnelse").send_keys("Biomarkøren gir klart større nytte.")
    # without the overall reason the form comes back with everything typed, the error at it
    walk.submit(walk.form_of("begrunnelse"))
    walk.look("koordinator-vedtak-feil")
    assert walk.by("ID", "begrunnelse").get_attribute("aria-invalid") == "true"
    assert walk.by("ID", "utfall-innvilget").is_selected()
    assert walk.by("ID", "okt_nytte-oppfylt").is_selected()
    kept = walk.by("ID", "okt_nytte-begrunnelse").get_attribute("value")
    assert kept == "Biomarkøren gir klart større nytte."
    walk.by("ID", "begrunnelse").send_keys("Komitéen innvilger behandlingen for pasienten.")
    boxes = [
        box
        for box in walk.driver.find_elements(*_css("input[name=deltakere]"))
        if "inhabil" not in (box.get_attribute("aria-describedby") or "")
    ]
    for box in boxes[:4]:
        box.click()
    walk.submit(walk.form_of("begrunnelse"))
    walk.look("koordinator-sak-vedtak")
    assert "Vedtak: Innvilget" in walk.main_text()

    # the HF user reads the decision and downloads the letter
    walk.login("hf-ous")
    walk.menu("Våre saker")
    walk.follow(_row_link(walk, reference))
    walk.look("hf-sak-vedtak")
    assert "Vedtak: Innvilget" in walk.main_text()
    letter = walk.download(walk.by("PARTIAL_LINK_TEXT", "last ned som PDF"), ".pdf")
    text = "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(letter)).pages)
    assert reference in text and medicine.split(" ")[0] in text
    assert walk.progress_shown > 0  # the uploads above showed their progress
    walk.verdict()


def test_minihta_from_intake_to_public_search(walk: Walk, demo_app: Flask, tmp_path: Path) -> None:
    title = "Robotassistert kirurgi ved tykktarmskreft hos eldre"
    values = sample_values(
        "minihta",
        **{"generelt.tittel": title, "generelt.helseforetak": "OUS"},
    )
    skjema1 = _write(tmp_path, "minihta.pdf", build("minihta", "pdf", values))

    # the HF user uploads skjema 1, then the workbook with the case number typed on the page
    walk.login("hf-ous")
    walk.menu("Send inn skjema")
    page = walk.upload(skjema1)
    walk.look("hf-minihta-kvittering")
    case_id = walk.by("XPATH", "//main//a[starts-with(normalize-space(), 'MMV-')]").text
    assert case_id in page
    workbook = fill_xlsx(
        build("minihta-okonomi", "xlsx"),
        sample_values("minihta-okonomi", **{"sak.id": None, "sak.tittel": title}),
    )
    page = walk.upload(_write(tmp_path, "okonomi.xlsx", workbook), case_id)
    walk.look("hf-okonomi-kvittering")
    assert "Kvittering" in page and case_id in page

    # the coordinator picks the rules' choice from the list of reviewers
    walk.login("koordinator")
    walk.menu("Innboks")
    walk.follow(_row_link(walk, case_id))
    walk.look("koordinator-minihta-mottatt")
    walk.link("Tildel fagfelle")
    walk.look("koordinator-tildel-fagfelle")
    choice = walk.by(
        "XPATH",
        "//main//input[@name='fagfelle' and @value!='']"
        "[following-sibling::span[contains(., 'Reglenes valg')]]",
    )
    chosen = choice.get_attribute("value")
    choice.click()
    walk.submit(walk.form_of("fagfelle-regler"))
    walk.look("koordinator-fagfelle-tildelt")
    table = walk.by("XPATH", "//main//table[caption='Tildelinger']")
    reviewer = table.find_element(By.XPATH, ".//tbody/tr[1]/td[1]").text.strip()
    assert reviewer in PASSWORDS and reviewer == chosen, reviewer

    # the reviewer declares no conflict, downloads the packet, uploads skjema 2
    walk.login(reviewer)
    walk.menu("Mine fagfellevurderinger")
    walk.look("fagfelle-oversikt")
    section = walk.by("XPATH", f"//main//section[.//h2[starts-with(., '{case_id}')]]")
    section.find_element(By.XPATH, ".//input[@value='gronn']").click()
    walk.submit(section.find_element(By.XPATH, ".//form"))
    walk.look("fagfelle-habilitet")
    packet = walk.download(walk.by("PARTIAL_LINK_TEXT", "Last ned fagfellepakken"), ".zip")
    assert zipfile.ZipFile(io.BytesIO(packet)).namelist()
    walk.link("Send inn skjema")
    walk.look("fagfelle-innsending")
    spec = next(s for s in demo.DEMO_USERS if s["username"] == reviewer)
    review = sample_values(
        "minihta-fagfelle",
        **{
            "sak.id": case_id,
            "fagfelle.navn": spec["name"],
            "fagfelle.helseforetak": spec["hf"],
            "samlet.anbefaling": "publiseres",
        },
    )
    page = walk.upload(_write(tmp_path, "skjema2.pdf", build("minihta-fagfelle", "pdf", review)))
    walk.look("fagfelle-kvittering")
    assert "Kvittering" in page and case_id in page

    # the HF user uploads the decision (skjema 3)
    walk.login("hf-ous")
    walk.menu("Send inn skjema")
    decision = sample_values("minihta-beslutning", **{"sak.id": case_id})
    page = walk.upload(
        _write(tmp_path, "skjema3.pdf", build("minihta-beslutning", "pdf", decision))
    )
    walk.look("hf-beslutning-kvittering")
    assert "Kvittering" in page and case_id in page

    # the coordinator reads skjema 2 and 3 on the case page, then publishes from the preview
    walk.login("koordinator")
    walk.menu("Alle saker")
    walk.follow(_row_link(walk, case_id))
    walk.look("koordinator-minihta-besluttet")
    assert spec["name"] in walk.main_text()  # the coordinator reads who reviewed
    walk.link("Forhåndsvis og publiser")
    walk.look("koordinator-forhandsvisning")
    preview = walk.by("ID", "offentlig").text
    assert "Fagfellevurdert av en uavhengig fagfelle" in preview and spec["name"] not in preview
    walk.follow(walk.button("Publiser"))
    walk.look("koordinator-publisert-sak")
    assert walk.by("ID", "offentlig").text == preview
    walk.menu("Alle saker")
    walk.look("koordinator-alle-saker-etter-publisering")
    walk.follow(_row_link(walk, case_id))
    walk.look("koordinator-sak-publisert")
    assert STATE_LABELS["publisert"] in walk.by("CSS_SELECTOR", ".fakta").text

    # anyone finds it in the public search
    walk.follow(walk.by("CSS_SELECTOR", "form.utlogging button"))
    walk.look("utlogget")
    walk.menu("Publiserte mini-metodevurderinger")
    walk.look("publisert")
    walk.by("ID", "q").send_keys("tykktarmskreft")
    walk.submit(walk.form_of("q"))
    walk.look("publisert-sok")
    walk.link(title)
    walk.look("publisert-sak")
    assert case_id in walk.main_text()
    assert walk.progress_shown > 0  # the uploads above showed their progress
    walk.verdict()


def test_other_pages_of_the_journeys(walk: Walk) -> None:
    """The coordinator's figures and committee pages and the public figures, which the journeys
    pass by."""
    walk.login("koordinator")
    walk.menu("Statistikk")
    walk.look("koordinator-statistikk")
    walk.menu("Komitéen")
    walk.look("koordinator-komiteen")
    walk.menu("Tall")
    walk.look("tall")
    walk.driver.get(f"{walk.site}/saker/FINNES-IKKE")
    walk.look("fant-ikke-siden")
    assert "Fant ikke siden" in walk.main_text()
    walk.verdict()


# ---- the HF portal (PORTAL.md): a Del 2 filled in online and signed off by three people ---------


def _with_function(function: str) -> dict[str, Any]:
    """The demo user with this HF function (the demo gives each to a different user)."""
    return next(s for s in demo.DEMO_USERS if function in s.get("funksjoner", ()))


def _fill(walk: Walk, field_id: str, value: object) -> None:
    """Type, tick or choose `value` in the draft form's input named `field_id`, as a person does."""
    from selenium.webdriver.support.ui import Select

    element = walk.by("CSS_SELECTOR", f'[name="{field_id}"]')
    kind = element.get_attribute("type")
    if element.tag_name == "select":
        Select(element).select_by_value(str(value))
    elif kind == "radio":
        walk.by("ID", f"{field_id}-{value}").click()
    elif kind == "checkbox":
        if element.is_selected() != bool(value):
            element.click()
    elif element.get_attribute("readonly") is None:
        element.clear()
        element.send_keys(str(value))


def _approve(walk: Walk, username: str, function: str, title: str, reason: str) -> None:
    """An approver opens the inbox from the menu, reads the whole application and approves."""
    walk.login(username)
    walk.menu("Til godkjenning")
    walk.look(f"{function}-innboks")
    walk.link(title)
    walk.look(f"{function}-godkjenning")
    assert "Hele søknaden" in walk.main_text() and "Sjekkliste" in walk.main_text()
    walk.by("ID", "valg-godkjenn").click()
    walk.by("ID", "begrunnelse").send_keys(reason)
    walk.submit(walk.form_of("begrunnelse"))
    walk.look(f"{function}-godkjent")


def test_del2_filled_online_and_signed_off_by_three_people(walk: Walk, demo_app: Flask) -> None:
    lege, leder, direktor = (_with_function(f) for f in ("lege", "linjeleder", "fagdirektor"))
    assert lege["hf"] == leder["hf"] == direktor["hf"]
    hf = lege["hf"]
    form = get_form("tilgang-del2")
    today = st(demo_app).today()
    reference = f"{(today - timedelta(days=1)).isoformat()}-{hf}-PORTAL"
    values = sample_values(
        "tilgang-del2",
        **{
            "soknad.helseforetak": hf,
            "pasient.opptaksomrade": hf,
            "soknad.referansenummer": reference,
        },
    )
    rep = next(r for r in form.repeats() if r.id == "litteratur")
    rows = sorted({int(k.split(".")[1]) for k in values if k.startswith(f"{rep.id}.")})
    assert len(rows) >= 2  # the journey adds a row

    # the lege starts a Del 2 from the menu
    walk.login(lege["username"])
    walk.menu("Utkast")
    walk.look("lege-utkast")
    walk.link("Nytt utkast")
    walk.look("lege-nytt-utkast")
    walk.by("ID", "skjema-tilgang-del2").click()
    walk.submit(walk.form_of("skjema-tilgang-del2"))
    walk.look("lege-utkast-tomt")
    assert "deler ferdige" in walk.main_text()

    # with JavaScript, leaving a field shows its finding beside it (the server's validation)
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.ui import WebDriverWait

    code = walk.by("ID", "pasient.diagnosekode")
    message = walk.by("ID", "pasient.diagnosekode-feil")
    assert message.text.strip() == "" and code.get_attribute("aria-invalid") is None
    code.send_keys("lungekreft")  # not an ICD-10 code
    code.send_keys(Keys.TAB)
    WebDriverWait(walk.driver, 30).until(lambda _d: message.text.strip() != "")
    assert form.field("pasient.diagnosekode").pattern_hint in message.text
    assert code.get_attribute("aria-invalid") == "true"
    assert "pasient.diagnosekode-feil" in (code.get_attribute("aria-describedby") or "")
    walk.look("lege-utkast-funn-ved-feltet")

    # every field the lege fills in, from the catalogue's sample values; a second row added
    for fid, value in values.items():
        hit = form.lookup(fid)
        if hit is None or hit[0].hidden or fid.startswith(("skjema.", "forankring.")):
            continue
        if hit[1] is not None and not fid.startswith(f"{rep.id}.1."):
            continue
        _fill(walk, fid, value)
    walk.follow(walk.button("Legg til rad"))
    walk.look("lege-utkast-ny-rad")
    assert walk.by("ID", "pasient.fodselsar").get_attribute("value") == str(
        values["pasient.fodselsar"]
    )
    assert walk.by("ID", "pasient.diagnosekode-feil").text.strip() == ""  # fixed and saved
    for fid, value in values.items():
        if fid.startswith(f"{rep.id}.") and not fid.startswith(f"{rep.id}.1."):
            _fill(walk, fid, value)
    walk.follow(walk.button("Lagre og gå videre til innsending"))
    walk.look("lege-send")
    walk.follow(walk.button("Send til linjeleder"))
    walk.look("lege-sendt")
    assert "Til godkjenning hos linjeleder" in walk.main_text()

    # the linjeleder approves from the inbox, then the fagdirektør: the case is submitted
    medicine = str(values["behandling.legemiddel"])
    _approve(walk, leder["username"], "linjeleder", medicine, "Avdelingen støtter søknaden.")
    assert "godkjent" in walk.main_text()
    assert str(values["totalvurdering"]) not in walk.main_text()  # back in the inbox
    _approve(walk, direktor["username"], "fagdirektor", medicine, "Faglig godt begrunnet.")
    assert reference in walk.main_text()

    # the lege reads where it went and downloads the receipt
    walk.login(lege["username"])
    walk.menu("Utkast")
    walk.look("lege-utkast-sendt-inn")
    walk.link(str(values["behandling.legemiddel"]))
    walk.look("lege-utkast-kvittering")
    receipt = walk.download(walk.by("PARTIAL_LINK_TEXT", "Last ned kvitteringen"), ".pdf")
    text = "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(receipt)).pages)
    assert reference in text and leder["name"] in text and direktor["name"] in text

    # the coordinator sees the approvals the service verified on the case page
    walk.login("koordinator")
    walk.menu("Innboks")
    walk.follow(_row_link(walk, reference))
    walk.look("koordinator-sak-fra-utkast")
    page = walk.main_text()
    assert leder["name"] in page and direktor["name"] in page
    assert "Faglig godt begrunnet." in page
    walk.verdict()


def test_a_draft_saves_itself_and_never_overwrites_a_newer_version(
    walk: Walk, demo_app: Flask
) -> None:
    """With JavaScript the form saves what was typed now and then; once the draft has been
    changed elsewhere, it says so plainly and saves nothing more (the typed text stays)."""
    from selenium.webdriver.support.ui import WebDriverWait

    from processor.domain import Actor
    from services import drafts

    lege = _with_function("lege")
    actor = Actor(lege["username"], frozenset(lege["roles"]), lege["hf"])
    walk.login(lege["username"])
    walk.menu("Utkast")
    walk.link("Nytt utkast")
    walk.by("ID", "skjema-tilgang-del2").click()
    walk.submit(walk.form_of("skjema-tilgang-del2"))
    draft_id = walk.driver.current_url.split("?")[0].split("#")[0].rsplit("/", 1)[-1]
    status = walk.by("CSS_SELECTOR", "form[data-utkast] .lagring")
    diagnosis = walk.by("ID", "pasient.diagnose")
    diagnosis.send_keys("Lungekreft")
    WebDriverWait(walk.driver, 90).until(lambda _d: "Lagret automatisk" in status.text)
    # said beside the bottom buttons too (read out once, by the top one)
    shown = walk.driver.find_elements(*_css("form[data-utkast] .lagring"))
    assert len(shown) == 2 and all(
        e.get_attribute("textContent") == status.get_attribute("textContent") for e in shown
    )
    assert [e.get_attribute("role") for e in shown] == ["status", None]
    saved = drafts.get(st(demo_app).uow(), actor, draft_id)
    assert saved.verdier["pasient.diagnose"] == "Lungekreft"

    # the same draft saved in another tab: this page's version is stale
    drafts.save(st(demo_app).uow(), actor, draft_id, saved.versjon, {"pasient.diagnosekode": "C34"})
    diagnosis.send_keys(", stadium IV")
    WebDriverWait(walk.driver, 90).until(lambda d: d.find_elements(*_css("form .konflikt")))
    walk.look("lege-utkast-endret-et-annet-sted")
    assert "endret siden du åpnet det" in walk.by("CSS_SELECTOR", "form .konflikt").text
    assert diagnosis.get_attribute("value") == "Lungekreft, stadium IV"  # nothing typed is lost
    after = drafts.get(st(demo_app).uow(), actor, draft_id)
    assert after.verdier["pasient.diagnose"] == "Lungekreft"  # and nothing was overwritten
    assert after.versjon == saved.versjon + 1
    walk.verdict()
