"""The pages: login, CSRF, role and object checks, and each page's content."""

from __future__ import annotations

import io

from flask.testing import FlaskClient

from tests.fillers import fill_json
from tests.web.conftest import REFERENCE, Users, csrf_token, del2, login, upload


def test_pages_need_login(client: FlaskClient, users: Users) -> None:
    resp = client.get("/innboks")
    assert resp.status_code == 302
    assert "/logg-inn" in resp.location


def test_login_page_is_accessible_norwegian(client: FlaskClient) -> None:
    html = client.get("/logg-inn").get_data(as_text=True)
    assert '<html lang="nb">' in html
    assert html.count("<h1") == 1
    assert 'href="#innhold"' in html
    assert '<label for="brukernavn">' in html and '<label for="passord">' in html


def test_wrong_password_is_refused(client: FlaskClient, users: Users) -> None:
    token = csrf_token(client.get("/logg-inn").get_data(as_text=True))
    resp = client.post(
        "/logg-inn", data={"brukernavn": "koordinator", "passord": "feil", "csrf_token": token}
    )
    assert resp.status_code == 401
    assert "Feil brukernavn eller passord." in resp.get_data(as_text=True)


def test_post_without_csrf_token_is_refused(client: FlaskClient, users: Users) -> None:
    resp = client.post("/logg-inn", data={"brukernavn": "koordinator", "passord": "x"})
    assert resp.status_code == 400
    assert "sikkerhetsnøkkel" in resp.get_data(as_text=True)
    login(client, "koordinator")
    upload(client, users.auth("hf-ous"), del2())
    resp = client.post(
        f"/saker/{REFERENCE}/overgang", data={"fra": "mottatt", "til": "priskontroll"}
    )
    assert resp.status_code == 400
    detail = client.get(f"/api/v1/saker/{REFERENCE}", headers=users.auth("koordinator")).json
    assert detail["status"] == "mottatt"


def test_session_cookie_is_httponly_and_samesite_lax(client: FlaskClient, users: Users) -> None:
    token = csrf_token(client.get("/logg-inn").get_data(as_text=True))
    resp = client.post(
        "/logg-inn",
        data={"brukernavn": "koordinator", "passord": "riktig-hest-batteri", "csrf_token": token},
    )
    cookie = resp.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_login_does_not_follow_foreign_next(client: FlaskClient, users: Users) -> None:
    token = csrf_token(client.get("/logg-inn").get_data(as_text=True))
    resp = client.post(
        "/logg-inn",
        data={
            "brukernavn": "koordinator",
            "passord": "riktig-hest-batteri",
            "csrf_token": token,
            "neste": "https://example.org/",
        },
    )
    assert resp.status_code == 303 and resp.location == "/"


def test_hf_uploads_and_sees_findings_with_labels(client: FlaskClient, users: Users) -> None:
    login(client, "hf-ous")
    page = client.get("/innsending").get_data(as_text=True)
    resp = client.post(
        "/innsending",
        data={
            "csrf_token": csrf_token(page),
            "fil": (io.BytesIO(del2(**{"pasient.diagnose": None})), "soknad.json"),
        },
        content_type="multipart/form-data",
    )
    assert resp.status_code == 422
    html = resp.get_data(as_text=True)
    assert "Skjemaet er ufullstendig" in html
    assert "<strong>Diagnose det søkes behandling for</strong>" in html
    resp = client.post(
        "/innsending",
        data={"csrf_token": csrf_token(page), "fil": (io.BytesIO(del2()), "soknad.json")},
        content_type="multipart/form-data",
    )
    assert resp.status_code == 201
    assert f'Saksnummer: <a href="/saker/{REFERENCE}">' in resp.get_data(as_text=True)
    cases = client.get("/saker").get_data(as_text=True)
    assert REFERENCE in cases and "Mottatt" in cases


def test_hf_cannot_see_another_hfs_case_page(client: FlaskClient, users: Users) -> None:
    upload(client, users.auth("hf-ous"), del2())
    login(client, "hf-ahus")
    assert client.get(f"/saker/{REFERENCE}").status_code == 404
    assert REFERENCE not in client.get("/saker").get_data(as_text=True)
    page = client.get("/innsending").get_data(as_text=True)
    resp = client.post(
        f"/saker/{REFERENCE}/overgang",
        data={"csrf_token": csrf_token(page), "fra": "mottatt", "til": "trukket"},
    )
    assert resp.status_code == 404
    assert client.get("/innboks").status_code == 403


def test_price_checker_sees_only_cases_in_price_check(client: FlaskClient, users: Users) -> None:
    upload(client, users.auth("hf-ous"), del2())
    login(client, "priskontroll")
    assert client.get(f"/saker/{REFERENCE}").status_code == 404
    assert client.get("/innboks").status_code == 403


def test_coordinator_returns_with_reason_and_hf_sees_it(client: FlaskClient, users: Users) -> None:
    upload(client, users.auth("hf-ous"), del2())
    login(client, "koordinator")
    inbox = client.get("/innboks").get_data(as_text=True)
    assert "Mottatt (1)" in inbox and REFERENCE in inbox
    page = client.get(f"/saker/{REFERENCE}").get_data(as_text=True)
    assert "Sjekkliste" in page and "Returner til helseforetaket" in page
    token = csrf_token(page)
    resp = client.post(
        f"/saker/{REFERENCE}/overgang",
        data={"csrf_token": token, "fra": "mottatt", "til": "returnert", "begrunnelse": ""},
    )
    assert resp.status_code == 303
    assert "minst én begrunnelse" in client.get(f"/saker/{REFERENCE}").get_data(as_text=True)
    client.post(
        f"/saker/{REFERENCE}/overgang",
        data={
            "csrf_token": token,
            "fra": "mottatt",
            "til": "returnert",
            "begrunnelse": "Beskriv funksjonsnivået nærmere.",
        },
    )
    client.post("/logg-ut", data={"csrf_token": token})
    login(client, "hf-ous")
    page = client.get(f"/saker/{REFERENCE}").get_data(as_text=True)
    assert "Returnert for supplering" in page
    assert "Beskriv funksjonsnivået nærmere." in page
    assert "Send inn ny versjon" in page and "Kvittering" in page


def test_price_check_page_flow(client: FlaskClient, users: Users) -> None:
    upload(client, users.auth("hf-ous"), del2())
    client.post(
        f"/api/v1/saker/{REFERENCE}/overgang",
        json={"fra": "mottatt", "til": "priskontroll"},
        headers=users.auth("koordinator"),
    )
    login(client, "priskontroll")
    queue = client.get("/priskontroll").get_data(as_text=True)
    assert REFERENCE in queue
    page = client.get(f"/saker/{REFERENCE}").get_data(as_text=True)
    assert "Registrer priskontroll" in page
    resp = client.post(
        f"/saker/{REFERENCE}/priskontroll",
        data={"csrf_token": csrf_token(page), "legemiddel_per_maned": "62 500", "merknad": ""},
    )
    assert resp.status_code == 303 and resp.headers["Location"].endswith("/priskontroll")
    queue = client.get("/priskontroll").get_data(as_text=True)
    assert "Priskontrollen er registrert" in queue and REFERENCE not in queue.split("</h1>")[1]
    # the checked case has left the price check's view (WORKFLOW.md section 1)
    assert client.get(f"/saker/{REFERENCE}").status_code == 404
    client.post("/logg-ut", data={"csrf_token": csrf_token(queue)})
    login(client, "koordinator")
    after = client.get(f"/saker/{REFERENCE}").get_data(as_text=True)
    assert "Klar for vurdering" in after and "Bekreftet: 62\u00a0500 kr per måned" in after


def test_error_pages_are_norwegian_html(client: FlaskClient) -> None:
    resp = client.get("/finnes-ikke")
    assert resp.status_code == 404
    html = resp.get_data(as_text=True)
    assert "Fant ikke siden" in html and "Traceback" not in html
    resp = client.post("/saker")
    assert resp.status_code in (400, 405)


def test_the_economics_workbook_is_attached_on_the_page_by_its_case_number(
    client: FlaskClient, users: Users
) -> None:
    """A workbook without `sak.id` in it finds its case from the form's case-number field, as
    `?sak=` does in the API; a refused upload keeps what was typed."""
    from forms.templates import build
    from tests.fillers import fill_xlsx, sample_values

    status = upload(client, users.auth("hf-ous"), fill_json("minihta", sample_values("minihta")))
    sak = status.get_json()["sak"]
    login(client, "hf-ous")
    page = client.get(f"/innsending?sak={sak}").get_data(as_text=True)
    assert f'name="sak" type="text" value="{sak}"' in page
    values = sample_values("minihta-okonomi")
    values.pop("sak.id", None)
    workbook = fill_xlsx(build("minihta-okonomi", "xlsx"), values)
    wrong = client.post(
        "/innsending",
        data={
            "csrf_token": csrf_token(page),
            "sak": "MMV-2026-999",
            "fil": (io.BytesIO(workbook), "o.xlsx"),
        },
        content_type="multipart/form-data",
    )
    assert wrong.status_code in (404, 422)
    assert 'value="MMV-2026-999"' in wrong.get_data(as_text=True)
    resp = client.post(
        "/innsending",
        data={"csrf_token": csrf_token(page), "sak": sak, "fil": (io.BytesIO(workbook), "o.xlsx")},
        content_type="multipart/form-data",
    )
    assert resp.status_code == 201, resp.get_data(as_text=True)
    assert sak in resp.get_data(as_text=True)


def test_case_list_filters_keep_their_values_across_pages(app, users: Users) -> None:
    import re

    app.config["PER_PAGE"] = 2
    client = app.test_client()
    for dept in ("KREFT", "LUNGE", "HUD", "OYE"):
        assert upload(client, users.auth("hf-ous"), del2(department=dept)).status_code == 201
    upload(client, users.auth("hf-ahus"), del2("AHUS"))
    login(client, "koordinator")
    page = client.get("/saker").get_data(as_text=True)
    # a GET form (works without JavaScript) with the API's parameter names
    assert re.search(r'<form method="get" action="/saker"', page)
    for name in ("status", "type", "hf", "sok"):
        assert f'name="{name}"' in page
    html = client.get("/saker?hf=ous&type=tilgang-del2&status=mottatt&sok=-OUS-").get_data(
        as_text=True
    )
    assert "4 som passer filtrene" in html and "AHUS-KREFT" not in html
    assert '<option value="mottatt" selected>' in html
    assert '<option value="tilgang-del2" selected>' in html
    assert 'name="hf" value="ous"' in html and 'name="sok" type="search" value="-OUS-"' in html
    nxt = re.search(r'<a href="([^"]+)">Neste side</a>', html).group(1).replace("&amp;", "&")
    assert all(p in nxt for p in ("side=2", "hf=ous", "type=tilgang-del2", "status=mottatt"))
    second = client.get(nxt).get_data(as_text=True)
    assert "Side 2 av 2" in second and "AHUS-KREFT" not in second
    shown = set(re.findall(r"2026-09-14-OUS-[A-Z]+", html + second))
    assert len(shown) == 4
    assert "Ingen saker passer filtrene" in client.get("/saker?sok=finnes-ikke").get_data(
        as_text=True
    )


def test_upload_progress_script_is_served_under_the_csp_and_the_form_posts_without_it(
    client: FlaskClient, users: Users
) -> None:
    import re

    login(client, "hf-ous")
    resp = client.get("/innsending")
    page = resp.get_data(as_text=True)
    # the page: no inline script or handler (CSP), the script loaded from our own origin
    csp = dict(
        (part.split()[0], part.split()[1:])
        for part in resp.headers["Content-Security-Policy"].split(";")
        if part.strip()
    )
    sources = csp.get("script-src", csp["default-src"])
    assert (
        "'self'" in sources and "'unsafe-inline'" not in sources and "'unsafe-eval'" not in sources
    )
    connect = csp.get("connect-src", csp["default-src"])
    assert "'self'" in connect  # the script posts the file to the same origin
    scripts = re.findall(r"<script([^>]*)>", page)
    assert scripts and all('src="/static/' in s for s in scripts)
    assert not re.search(r"\son[a-z]+=", page)
    src = re.search(r'<script src="(/static/opplasting\.js)" defer>', page).group(1)
    js = client.get(src)
    assert js.status_code == 200 and "javascript" in js.mimetype
    assert js.headers["X-Content-Type-Options"] == "nosniff"
    code = js.get_data(as_text=True)
    assert 'createElement("progress")' in code
    assert 'setAttribute("aria-live", "polite")' in code
    assert "eval(" not in code and "new Function" not in code and "innerHTML" not in code
    # without the script: the form is an ordinary multipart POST to /innsending
    form = re.search(r"<form ([^>]*data-opplasting[^>]*)>(.*?)</form>", page, re.S)
    assert form is not None
    attrs, body = form.groups()
    assert 'method="post"' in attrs and 'action="/innsending"' in attrs
    assert 'enctype="multipart/form-data"' in attrs
    names = re.findall(r'name="([^"]+)"', body)
    assert names == ["csrf_token", "fil", "sak"]
    # the body as a browser sends this form: every field in order, the empty `sak` included
    # (werkzeug's test encoder writes an empty field without its CRLF, which is not what
    # browsers send, so the body is built here)
    boundary = "----SkjemaGrense7MA4YWxkTrZu0gW"
    values = {"csrf_token": csrf_token(page).encode(), "fil": del2(), "sak": b""}
    raw = b""
    for name in names:
        disposition = f'form-data; name="{name}"'
        if name == "fil":
            disposition += '; filename="soknad.json"\r\nContent-Type: application/json'
        raw += f"--{boundary}\r\nContent-Disposition: {disposition}\r\n\r\n".encode()
        raw += values[name] + b"\r\n"
    raw += f"--{boundary}--\r\n".encode()
    resp = client.post(
        "/innsending", data=raw, content_type=f"multipart/form-data; boundary={boundary}"
    )
    assert resp.status_code == 201
    assert resp.mimetype == "text/html"
    answer = resp.get_data(as_text=True)
    # the answer page is what the script puts in place of <main>: it has one, with the receipt
    assert re.search(r'<main id="innhold"[^>]*>.*id="resultat-tittel".*</main>', answer, re.S)
    assert REFERENCE in answer
