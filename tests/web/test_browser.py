"""The main journey in a real browser (Debian's Chromium, driven by Selenium through Debian's
chromedriver; no browser downloads). An HF user uploads an incomplete form, sees the findings,
uploads the fixed one; a coordinator returns it with a reason; the HF sees the reason.
Screenshots are saved in test-artifacts/browser/ for a person to look at."""

from __future__ import annotations

import shutil
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from forms.catalog import get_form
from forms.templates import build
from tests.fillers import sample_values
from tests.web.conftest import PASSWORD, add_users, make_app, st

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "browser"
REFERENCE = "2026-10-05-OUS-KREFT"

webdriver = pytest.importorskip("selenium.webdriver")
pytestmark = pytest.mark.skipif(
    not (CHROMIUM and CHROMEDRIVER),
    reason="Debian's chromium and chromium-driver are not installed",
)


@pytest.fixture
def site(tmp_path: Path) -> Iterator[str]:
    app = make_app(tmp_path / "instance")
    add_users(
        app,
        {
            "hf-ous": {"roles": ["hf"], "hf": "OUS", "password": PASSWORD},
            "koordinator": {"roles": ["koordinator"], "password": PASSWORD},
        },
    )
    httpd = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_port}"
    finally:
        httpd.shutdown()
        thread.join(timeout=10)
        st(app).engine.dispose()


@pytest.fixture
def browser(tmp_path: Path):
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service

    options = Options()
    options.binary_location = CHROMIUM
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
        "--window-size=1200,1600",
        "--lang=nb-NO",
        f"--user-data-dir={tmp_path / 'chromium-profile'}",
    ):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.implicitly_wait(5)
    yield driver
    driver.quit()


def _shot(driver, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    driver.save_screenshot(str(ARTIFACTS / f"{name}.png"))


def _submit(driver, button) -> None:
    """Click a submit button and wait until the next page has replaced this one: a marker set on
    the old document's window is gone once the new document has loaded."""
    from selenium.webdriver.support.ui import WebDriverWait

    driver.execute_script("window.__gammelSide = true;")
    button.click()
    WebDriverWait(driver, 20).until(
        lambda d: d.execute_script(
            "return window.__gammelSide === undefined && document.readyState === 'complete'"
        )
    )


def _login(driver, site: str, username: str) -> None:
    from selenium.webdriver.common.by import By

    driver.delete_all_cookies()
    driver.get(f"{site}/logg-inn")
    driver.find_element(By.ID, "brukernavn").send_keys(username)
    driver.find_element(By.ID, "passord").send_keys(PASSWORD)
    _submit(driver, driver.find_element(By.CSS_SELECTOR, "form button[type=submit]"))


def _upload(driver, site: str, path: Path) -> None:
    from selenium.webdriver.common.by import By

    driver.get(f"{site}/innsending")
    driver.find_element(By.ID, "fil").send_keys(str(path))
    _submit(driver, driver.find_element(By.CSS_SELECTOR, "form.opplasting button[type=submit]"))


def test_hf_fixes_a_form_and_reads_the_coordinators_return_reason(site, browser, tmp_path):
    from selenium.webdriver.common.by import By

    values = sample_values(
        "tilgang-del2",
        **{"soknad.helseforetak": "OUS", "soknad.referansenummer": REFERENCE},
    )
    incomplete = dict(values)
    incomplete.pop("pasient.diagnose")
    bad = tmp_path / "soknad-ufullstendig.pdf"
    bad.write_bytes(build("tilgang-del2", "pdf", incomplete))
    good = tmp_path / "soknad.pdf"
    good.write_bytes(build("tilgang-del2", "pdf", values))
    label = get_form("tilgang-del2").label("pasient.diagnose")

    _login(browser, site, "hf-ous")
    _upload(browser, site, bad)
    page = browser.find_element(By.TAG_NAME, "main").text
    _shot(browser, "1-hf-ufullstendig")
    assert "ufullstendig" in page
    assert label in page  # the finding names the field by its Norwegian label

    _upload(browser, site, good)
    page = browser.find_element(By.TAG_NAME, "main").text
    _shot(browser, "2-hf-kvittering")
    assert "Kvittering" in page and REFERENCE in page

    reason = "Legg ved dokumentasjon av tidligere behandling."
    _login(browser, site, "koordinator")
    browser.get(f"{site}/saker/{REFERENCE}")
    browser.find_element(By.ID, "begrunnelse-returnert").send_keys(reason)
    _shot(browser, "3-koordinator-sak")
    form = browser.find_element(By.ID, "begrunnelse-returnert").find_element(
        By.XPATH, "./ancestor::form"
    )
    _submit(browser, form.find_element(By.CSS_SELECTOR, "button[type=submit]"))
    assert "Returnert" in browser.find_element(By.TAG_NAME, "main").text

    _login(browser, site, "hf-ous")
    browser.get(f"{site}/saker/{REFERENCE}")
    page = browser.find_element(By.TAG_NAME, "main").text
    _shot(browser, "4-hf-returnert")
    assert reason in page
    assert browser.find_element(By.TAG_NAME, "html").get_attribute("lang") == "nb"
