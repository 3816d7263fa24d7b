"""The HF portal's pages (PORTAL.md section 6) over HTTP, without JavaScript: the list and the
approvers' inbox, a new draft, the form generated from the catalogue (save, add and remove a row,
an identity refusal that keeps the other values), sending, approving and returning with a
reason, the receipt, the conflict page, deleting with confirmation, another HF's draft, and the
JSON routes of the page's script."""

from __future__ import annotations

import html as htmllib
import io
import re
import shutil
from collections.abc import Iterator
from datetime import timedelta
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient
from pypdf import PdfReader

from forms.catalog import get_form
from processor.domain import Actor, DraftState, FormType, HfFunction
from services import drafts
from services.users import add_user
from tests.fillers import fill_json, sample_values, synthetic_fodselsnummer
from tests.web.conftest import (
    PASSWORD,
    PG_MARKER,
    PG_TEMPLATE_MARKER,
    Users,
    csrf_token,
    login,
    make_app,
    st,
)

DEL2 = get_form(FormType.TILGANG_DEL2)
# the sign-off at OUS: three people with one function each, and one with none
PEOPLE = {
    "lege-ous": ([HfFunction.LEGE], "Lena Lege"),
    "leder-ous": ([HfFunction.LINJELEDER], "Lars Leder"),
    "direktor-ous": ([HfFunction.FAGDIREKTOR], "Dina Direktør"),
    "lege-leder-ous": ([HfFunction.LEGE, HfFunction.LINJELEDER], "Lise Legeleder"),
}


@pytest.fixture(scope="session")
def portal_seed(
    tmp_path_factory: pytest.TempPathFactory, seeded: tuple[Path, Users]
) -> tuple[Path, Users]:
    """The seeded instance with the OUS sign-off users added (made once: argon2 is slow)."""
    folder = tmp_path_factory.mktemp("portal") / "instance"
    shutil.copytree(seeded[0], folder)
    if (folder / PG_MARKER).exists():
        (folder / PG_MARKER).rename(folder / PG_TEMPLATE_MARKER)
    application = make_app(folder)
    for username, (functions, name) in PEOPLE.items():
        add_user(
            st(application).uow(),
            username,
            roles=["hf"],
            hf="OUS",
            display_name=name,
            funksjoner=list(functions),
            password=PASSWORD,
        )
    st(application).engine.dispose()
    return folder, seeded[1]


@pytest.fixture
def app(tmp_path: Path, portal_seed: tuple[Path, Users]) -> Iterator[Flask]:
    instance = tmp_path / "instance"
    shutil.copytree(portal_seed[0], instance)
    if (instance / PG_MARKER).exists():
        (instance / PG_MARKER).rename(instance / PG_TEMPLATE_MARKER)
    application = make_app(instance)
    yield application
    st(application).engine.dispose()


# ---- helpers ------------------------------------------------------------------------------------


def page(client: FlaskClient, path: str, status: int = 200) -> str:
    resp = client.get(path)
    assert resp.status_code == status, (path, resp.status_code)
    return resp.get_data(as_text=True)


def text_of(html: str) -> str:
    return htmllib.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)))


def new_draft(client: FlaskClient, form_id: str = FormType.TILGANG_DEL2) -> str:
    token = csrf_token(page(client, "/utkast/ny"))
    resp = client.post("/utkast/ny", data={"skjema": str(form_id), "csrf_token": token})
    assert resp.status_code == 303, resp.get_data(as_text=True)
    match = re.fullmatch(r"/utkast/([^/?#]+)", urlsplit(resp.headers["Location"]).path)
    assert match, resp.headers["Location"]
    return match.group(1)


def hidden(html: str, name: str) -> str:
    match = re.search(rf'<input type="hidden" name="{re.escape(name)}" value="([^"]*)"', html)
    assert match, name
    return match.group(1)


def input_value(html: str, name: str) -> str | None:
    """The value of the text input, the text of the textarea, or the checked radio, named so."""
    n = re.escape(name)
    tag = re.search(rf'<input[^>]*\bname="{n}"[^>]*type="(?:text|email|url)"[^>]*>', html)
    if tag:
        value = re.search(r'\bvalue="([^"]*)"', tag.group(0))
        return htmllib.unescape(value.group(1)) if value else ""
    area = re.search(rf'<textarea[^>]*\bname="{n}"[^>]*>(.*?)</textarea>', html, re.S)
    if area:
        return htmllib.unescape(area.group(1))
    radio = re.search(rf'<input type="radio"[^>]*name="{n}" value="([^"]*)" checked', html)
    if radio:
        return radio.group(1)
    return None


def form_fields(values: dict[str, Any]) -> dict[str, str]:
    """Values as the browser posts the form: a ticked box is "ja", an unticked one absent; the
    fields the service or the sign-off fill are not in the form."""
    out = {}
    for fid, value in values.items():
        if fid.startswith(("skjema.", "forankring.")) or value is None or value is False:
            continue
        out[fid] = "ja" if value is True else str(value)
    return out


class FormReader(HTMLParser):
    """What a browser posts for the draft form of a page: every input's value, a textarea's
    text, the checked radios and boxes, the selected options (submit buttons left out)."""

    def __init__(self) -> None:
        super().__init__()
        self.values: dict[str, str] = {}
        self.inside = False
        self.area: str | None = None
        self.select: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form" and "data-utkast" in a:
            self.inside = True
        if not self.inside or not a.get("name"):
            if tag == "option" and self.select and "selected" in a:
                self.values[self.select] = a.get("value", "")
            return
        name = a["name"]
        if tag == "input" and a.get("type") in ("radio", "checkbox"):
            if "checked" in a:
                self.values[name] = a.get("value", "")
        elif tag == "input" and a.get("type") != "submit":
            self.values[name] = a.get("value", "")
        elif tag == "textarea":
            self.area, self.values[name] = name, ""
        elif tag == "select":
            self.select = name

    def handle_data(self, data: str) -> None:
        if self.area:
            self.values[self.area] += data

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self.inside = False
        elif tag == "textarea":
            self.area = None
        elif tag == "select":
            self.select = None


def posted(html: str) -> dict[str, str]:
    reader = FormReader()
    reader.feed(html)
    return reader.values


def save(
    client: FlaskClient, draft_id: str, values: dict[str, Any], **extra: str
) -> tuple[int, str, str]:
    """Post the form as the page shows it now, with `values` typed over it."""
    html = page(client, f"/utkast/{draft_id}")
    data = posted(html)
    for fid, value in values.items():
        if value is False:
            data.pop(fid, None)
    data.update(form_fields(values))
    data.update(extra)
    resp = client.post(f"/utkast/{draft_id}", data=data)
    return resp.status_code, resp.headers.get("Location", ""), resp.get_data(as_text=True)


def complete_values(today_iso: str) -> dict[str, Any]:
    reference = f"{today_iso}-OUS-KREFT"
    return sample_values(
        FormType.TILGANG_DEL2,
        **{"soknad.referansenummer": reference, "soknad.helseforetak": "OUS"},
    )


def send(client: FlaskClient, draft_id: str) -> Any:
    html = page(client, f"/utkast/{draft_id}/send")
    return client.post(
        f"/utkast/{draft_id}/send",
        data={"csrf_token": csrf_token(html), "versjon": hidden(html, "versjon")},
    )


def decide(client: FlaskClient, draft_id: str, choice: str, reason: str) -> Any:
    html = page(client, f"/utkast/{draft_id}/godkjenning")
    return client.post(
        f"/utkast/{draft_id}/godkjenning",
        data={
            "csrf_token": csrf_token(html),
            "versjon": hidden(html, "versjon"),
            "funksjon": hidden(html, "funksjon"),
            "valg": choice,
            "begrunnelse": reason,
        },
    )


def today_iso(app: Flask) -> str:
    return (st(app).today() - timedelta(days=1)).isoformat()


def sent_draft(app: Flask, client: FlaskClient) -> str:
    """A complete Del 2 filled in and sent by the lege: waiting for the linjeleder."""
    login(client, "lege-ous")
    draft_id = new_draft(client)
    status, _, body = save(client, draft_id, complete_values(today_iso(app)))
    assert status == 303, text_of(body)
    resp = send(client, draft_id)
    assert resp.status_code == 303, text_of(resp.get_data(as_text=True))
    return draft_id


# ---- the menu, the list, a new draft ------------------------------------------------------------


def test_the_menu_links_drafts_and_the_approvers_inbox(client: FlaskClient) -> None:
    login(client, "hf-ous")
    nav = page(client, "/utkast").split("</nav>")[0]
    assert 'href="/utkast"' in nav and "Til godkjenning" not in nav
    login(client, "leder-ous")
    nav = page(client, "/utkast").split("</nav>")[0]
    assert f'href="/utkast?status={DraftState.TIL_LINJELEDER}"' in nav
    login(client, "direktor-ous")
    nav = page(client, "/utkast").split("</nav>")[0]
    assert f'href="/utkast?status={DraftState.TIL_FAGDIREKTOR}"' in nav


def test_only_hf_users_open_the_portal(client: FlaskClient) -> None:
    login(client, "koordinator")
    for path in ("/utkast", "/utkast/ny", "/utkast/finnes-ikke", "/utkast/finnes-ikke/send"):
        assert client.get(path).status_code == 403, path
    assert 'href="/utkast"' not in page(client, "/saker")


def test_a_new_draft_shows_the_form_from_the_catalogue(client: FlaskClient) -> None:
    login(client, "hf-ous")
    html = page(client, "/utkast/ny")
    for form_id in (FormType.TILGANG_DEL2, FormType.MINIHTA):
        assert get_form(form_id).name in htmllib.unescape(html)
    draft_id = new_draft(client)
    html = page(client, f"/utkast/{draft_id}")
    names = re.findall(r'<(?:input|textarea|select)[^>]*\bname="([^"]+)"', html)
    fields = [n for n in names if DEL2.lookup(n) is not None]
    # one input per field (radios: one per choice), the header and sign-off fields none
    expected = [
        fid
        for fid, (f, rep) in DEL2.entries()
        if not f.hidden
        and not fid.startswith("forankring.")
        and (rep is None or fid.startswith(f"{rep.id}.1."))
    ]
    assert list(dict.fromkeys(fields)) == expected
    assert hidden(html, "versjon") == "1"
    text = text_of(html)
    assert "ÅÅÅÅ-MM-DD-HF-AVDELING" in text  # the reference format, from the catalogue's help
    assert re.search(r"\b\d+ av \d+ deler ferdige", text)
    for section in DEL2.sections[1:]:
        assert section.title in text
    # the sign-off's part is shown read-only
    assert DEL2.label("forankring.fagdirektor_navn") in text
    assert 'name="forankring.' not in html


def test_the_list_shows_the_hfs_drafts_and_filters_by_status(client: FlaskClient) -> None:
    login(client, "hf-ous")
    draft_id = new_draft(client)
    assert f'href="/utkast/{draft_id}"' in page(client, "/utkast")
    filtered = page(client, f"/utkast?status={DraftState.TIL_LINJELEDER}")
    assert f"/utkast/{draft_id}" not in filtered
    login(client, "lege-ous")  # the same HF: the same drafts
    assert f'href="/utkast/{draft_id}"' in page(client, "/utkast")
    login(client, "hf-ahus")  # another HF: it does not exist
    assert f"/utkast/{draft_id}" not in page(client, "/utkast")
    page(client, f"/utkast/{draft_id}", 404)
    page(client, f"/utkast/{draft_id}/send", 404)
    page(client, f"/utkast/{draft_id}/godkjenning", 404)
    page(client, f"/utkast/{draft_id}/slett", 404)
    token = csrf_token(page(client, "/utkast"))
    resp = client.post(
        f"/utkast/{draft_id}",
        data={"csrf_token": token, "skjema": str(FormType.TILGANG_DEL2), "versjon": "1"},
    )
    assert resp.status_code == 404


# ---- saving without JavaScript ------------------------------------------------------------------


def test_save_keeps_what_was_typed_and_counts_the_version(client: FlaskClient) -> None:
    login(client, "hf-ous")
    draft_id = new_draft(client)
    status, location, _ = save(
        client,
        draft_id,
        {
            "soknad.soker_navn": "Lena Lege, overlege",
            "pasient.juridisk_kjonn": "kvinne",
            "pasient.fodselsar": "18",  # kept as typed, though wrong
            "kriterier.okt_nytte.oppfylt": True,
        },
    )
    assert status == 303 and urlsplit(location).path == f"/utkast/{draft_id}"
    html = page(client, location)
    assert "Utkastet er lagret." in html
    assert input_value(html, "soknad.soker_navn") == "Lena Lege, overlege"
    assert input_value(html, "pasient.juridisk_kjonn") == "kvinne"
    assert input_value(html, "pasient.fodselsar") == "18"
    assert re.search(r'name="kriterier.okt_nytte.oppfylt" value="ja" checked', html)
    assert hidden(html, "versjon") == "2"
    # the findings of what is saved are beside their fields: the wrong year is an error ...
    tag = re.search(r'<input[^>]*name="pasient.fodselsar"[^>]*>', html)
    assert tag and 'aria-invalid="true"' in tag.group(0)
    assert re.search(
        r'id="pasient.fodselsar-feil" class="feltfunn"><span class="feilmelding">', html
    )
    summary = html.split('class="feiloppsummering"')[1].split("</div>")[0]
    assert 'href="#pasient.fodselsar"' in summary
    # ... and the reason a ticked criterion needs is missing, beside it and in the list
    tag = re.search(r'<textarea[^>]*name="kriterier.okt_nytte.begrunnelse"[^>]*>', html)
    assert tag and "aria-invalid" not in tag.group(0)
    assert "kriterier.okt_nytte.begrunnelse-feil" in tag.group(0)  # described by its note
    note = html.split('id="kriterier.okt_nytte.begrunnelse-feil"')[1].split("</div>")[0]
    assert 'class="manglermelding"' in note
    missing = html.split('class="mangler-liste"')[1].split("</details>")[0]
    assert 'href="#kriterier.okt_nytte.begrunnelse"' in missing
    # a required field left empty: its label says "(må fylles ut)", no note repeats it beside
    # the field, and the list of what is missing links to it
    assert '<div id="pasient.diagnose-feil" class="feltfunn"></div>' in html
    assert 'href="#pasient.diagnose"' in missing
    assert 'href="#pasient.fodselsar"' not in missing


def test_add_and_remove_a_row_save_first(client: FlaskClient) -> None:
    rep = next(r for r in DEL2.repeats() if r.id == "litteratur")
    title, link = rep.fields
    login(client, "hf-ous")
    draft_id = new_draft(client)
    first = {rep.field_id(1, title): "Første studie", rep.field_id(1, link): "https://a.no"}
    status, location, _ = save(client, draft_id, first, handling="legg-til:litteratur")
    assert status == 303
    assert parse_qs(urlsplit(location).query) == {"rader-litteratur": ["2"]}
    assert urlsplit(location).fragment == rep.field_id(2, title)
    html = page(client, location)
    assert input_value(html, rep.field_id(1, title)) == "Første studie"  # saved
    assert f'name="{rep.field_id(2, title)}"' in html  # and one more row
    assert f'name="{rep.field_id(3, title)}"' not in html
    # fill the second row, then remove the first: the second moves up
    status, location, _ = save(
        client,
        draft_id,
        {rep.field_id(2, title): "Andre studie", rep.field_id(2, link): "https://b.no"},
        handling="fjern:litteratur.1",
    )
    assert status == 303
    html = page(client, location)
    assert input_value(html, rep.field_id(1, title)) == "Andre studie"
    assert input_value(html, rep.field_id(1, link)) == "https://b.no"
    assert f'name="{rep.field_id(2, title)}"' not in html


def test_an_identity_number_is_refused_and_the_other_values_are_kept(
    client: FlaskClient,
) -> None:
    number = synthetic_fodselsnummer()
    login(client, "hf-ous")
    draft_id = new_draft(client)
    typed = {
        "soknad.soker_navn": "Lena Lege",
        "pasient.diagnose": "Lungekreft",
        "pasient.sykehistorie": f"Pasienten ({number}) har hatt progresjon.",
    }
    status, _, html = save(client, draft_id, typed)
    assert status == 422
    assert number not in html
    assert input_value(html, "soknad.soker_navn") == "Lena Lege"
    assert input_value(html, "pasient.diagnose") == "Lungekreft"
    assert input_value(html, "pasient.sykehistorie") == ""  # the refused field: as saved
    tag = re.search(r'<textarea[^>]*name="pasient.sykehistorie"[^>]*>', html)
    assert tag and 'aria-invalid="true"' in tag.group(0)
    assert 'href="#pasient.sykehistorie"' in html  # the summary links to it
    assert "ble ikke lagret" in html
    # nothing of the refused save was kept
    after = page(client, f"/utkast/{draft_id}")
    assert hidden(after, "versjon") == "1"
    assert input_value(after, "soknad.soker_navn") == ""
    assert number not in after


def test_a_stale_version_is_the_conflict_page(client: FlaskClient) -> None:
    login(client, "hf-ous")
    draft_id = new_draft(client)
    html = page(client, f"/utkast/{draft_id}")
    old = {"csrf_token": csrf_token(html), "skjema": hidden(html, "skjema"), "versjon": "1"}
    assert save(client, draft_id, {"pasient.diagnose": "Første"})[0] == 303
    resp = client.post(f"/utkast/{draft_id}", data={**old, "pasient.diagnose": "Andre"})
    assert resp.status_code == 409
    body = resp.get_data(as_text=True)
    assert "Utkastet er endret siden du åpnet det" in body
    assert f'href="/utkast/{draft_id}"' in body  # reload
    assert "Andre" in text_of(body)  # what was typed, to copy
    assert input_value(page(client, f"/utkast/{draft_id}"), "pasient.diagnose") == "Første"


# ---- sending and the sign-off -------------------------------------------------------------------


def test_an_incomplete_draft_is_not_sent_and_the_errors_link_to_the_form(
    client: FlaskClient,
) -> None:
    login(client, "lege-ous")
    draft_id = new_draft(client)
    html = page(client, f"/utkast/{draft_id}/send")
    assert DEL2.label("pasient.diagnose") in htmllib.unescape(html)
    assert f'href="/utkast/{draft_id}#pasient.diagnose"' in html
    # posted anyway (an old page): refused with the blocking errors, nothing changes
    resp = client.post(
        f"/utkast/{draft_id}/send", data={"csrf_token": csrf_token(html), "versjon": "1"}
    )
    assert resp.status_code == 422
    assert f'href="/utkast/{draft_id}#pasient.diagnose"' in resp.get_data(as_text=True)
    assert hidden(page(client, f"/utkast/{draft_id}"), "versjon") == "1"


def test_a_user_without_the_lege_function_cannot_send(app: Flask, client: FlaskClient) -> None:
    login(client, "hf-ous")
    draft_id = new_draft(client)
    assert save(client, draft_id, complete_values(today_iso(app)))[0] == 303
    html = page(client, f"/utkast/{draft_id}/send")
    assert "Bare en lege" in html and 'action="/utkast/' + draft_id + '/send"' not in html


def test_sign_off_return_with_reason_then_approve_twice_and_the_receipt(
    app: Flask, client: FlaskClient
) -> None:
    draft_id = sent_draft(app, client)
    html = page(client, f"/utkast/{draft_id}")
    assert DraftState.TIL_LINJELEDER.label in html
    assert 'name="versjon"' not in html  # no form while it waits

    # the linjeleder's inbox lists it and opens the whole application read-only
    login(client, "leder-ous")
    inbox = page(client, f"/utkast?status={DraftState.TIL_LINJELEDER}")
    assert "Til godkjenning" in inbox and f'href="/utkast/{draft_id}/godkjenning"' in inbox
    # every row waits for the same step: no status filter and no status column in the inbox
    assert 'id="filter-status"' not in inbox and '<th scope="col">Status</th>' not in inbox
    assert '<th scope="col">Status</th>' in page(client, "/utkast")
    review = htmllib.unescape(page(client, f"/utkast/{draft_id}/godkjenning"))
    values = complete_values(today_iso(app))
    assert str(values["behandling.legemiddel"]) in review
    assert DEL2.label("totalvurdering") in review and "Sjekkliste" in review
    # what the linjeleder confirms, and a way past the long application to the decision
    assert "Som linjeleder godkjenner du" in review and 'href="#beslutning"' in review

    # a return needs a reason: the error is at the field, the choice kept
    resp = decide(client, draft_id, "returner", "  ")
    assert resp.status_code == 422
    body = resp.get_data(as_text=True)
    assert "Beslutningen er ikke registrert ennå" in body  # the summary says what did not happen
    assert re.search(r'<textarea[^>]*id="begrunnelse"[^>]*aria-invalid="true"', body)
    assert re.search(r'id="valg-returner"[^>]*checked', body)
    reason = "Beskriv tidligere behandling nærmere."
    resp = decide(client, draft_id, "returner", reason)
    assert resp.status_code == 303

    # the author reads why it came back, in the list and on the draft, fixes it and sends it
    login(client, "lege-ous")
    listed = text_of(page(client, "/utkast"))
    assert "Sendt tilbake av Lars Leder (linjeleder)" in listed and reason in listed
    html = text_of(page(client, f"/utkast/{draft_id}"))
    assert "sendt tilbake" in html and reason in html and "Lars Leder" in html
    assert save(client, draft_id, {"pasient.sykehistorie": "Utfyllende sykehistorie."})[0] == 303
    assert send(client, draft_id).status_code == 303

    # the linjeleder approves; the fagdirektør approves, which submits the case
    login(client, "leder-ous")
    review = htmllib.unescape(page(client, f"/utkast/{draft_id}/godkjenning"))
    checklist = review.split('id="sjekkliste"')[1].split("</section>")[0]
    # the short free text is a soft signal on the coordinator's checklist, shown here too
    assert DEL2.label("pasient.sykehistorie") in checklist
    assert decide(client, draft_id, "godkjenn", "Avdelingen støtter søknaden.").status_code == 303
    login(client, "direktor-ous")
    inbox = page(client, f"/utkast?status={DraftState.TIL_FAGDIREKTOR}")
    assert f'href="/utkast/{draft_id}/godkjenning"' in inbox
    resp = decide(client, draft_id, "godkjenn", "Faglig godt begrunnet.")
    assert resp.status_code == 303
    # the fagdirektør lands on the draft's page: the case and the receipt are there
    assert urlsplit(resp.headers["Location"]).path == f"/utkast/{draft_id}"
    done = page(client, resp.headers["Location"])
    reference = str(values["soknad.referansenummer"])
    assert DraftState.SENDT_INN.label in done and f'href="/saker/{reference}"' in done
    assert f'href="/utkast/{draft_id}/kvittering.pdf"' in done
    assert f"sendt inn til Nye metoder som sak {reference}" in done  # the flashed message
    receipt = client.get(f"/utkast/{draft_id}/kvittering.pdf")
    assert receipt.status_code == 200 and receipt.mimetype == "application/pdf"
    text = "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(receipt.data)).pages)
    assert reference in text and "Dina Direktør" in text and "Lars Leder" in text


def test_the_author_cannot_approve_their_own_draft(app: Flask, client: FlaskClient) -> None:
    draft_id = sent_draft(app, client)
    html = page(client, f"/utkast/{draft_id}/godkjenning")  # the lege: no function to approve
    assert "Du har ikke funksjonen" in html and 'name="valg"' not in html
    # said at the top too, before the whole application
    top = html.split('id="godkjenninger"')[0]
    assert "ikke godkjenne dette steget" in top and "Gå til beslutningen" not in top
    # a lege who is also a linjeleder, and sent the draft: four eyes
    login(client, "lege-leder-ous")
    draft_id = new_draft(client)
    values = complete_values(today_iso(app))
    values["soknad.referansenummer"] = f"{values['soknad.referansenummer']}-2"
    assert save(client, draft_id, values)[0] == 303
    assert send(client, draft_id).status_code == 303
    html = page(client, f"/utkast/{draft_id}/godkjenning")
    assert "tre ulike personer" in html and 'name="valg"' not in html
    me = Actor("lege-leder-ous", frozenset({"hf"}), "OUS")
    resp = client.post(  # posted anyway: the service refuses, the page says why
        f"/utkast/{draft_id}/godkjenning",
        data={
            "csrf_token": csrf_token(html),
            "versjon": str(drafts.get(st(app).uow(), me, draft_id).versjon),
            "funksjon": str(HfFunction.LINJELEDER),
            "valg": "godkjenn",
            "begrunnelse": "Godkjent.",
        },
    )
    assert resp.status_code == 303
    after = page(client, resp.headers["Location"])
    assert 'class="melding melding-feil" role="alert"' in after  # the refusal, flashed
    assert DraftState.TIL_LINJELEDER.label in after  # and nothing changed


def test_the_receipt_is_not_found_before_submission(client: FlaskClient) -> None:
    login(client, "hf-ous")
    draft_id = new_draft(client)
    assert client.get(f"/utkast/{draft_id}/kvittering.pdf").status_code == 404


# ---- deleting -----------------------------------------------------------------------------------


def test_delete_asks_first_then_leaves_nothing_to_open(client: FlaskClient) -> None:
    login(client, "hf-ous")
    draft_id = new_draft(client)
    html = page(client, f"/utkast/{draft_id}/slett")
    assert "Slett utkastet?" in html and "kan ikke angres" in html
    resp = client.post(
        f"/utkast/{draft_id}/slett",
        data={"csrf_token": csrf_token(html), "versjon": hidden(html, "versjon")},
    )
    assert resp.status_code == 303 and urlsplit(resp.headers["Location"]).path == "/utkast"
    assert "Utkastet er slettet." in page(client, "/utkast")
    page(client, f"/utkast/{draft_id}", 404)


def test_drafts_unchanged_for_90_days_are_listed_with_delete(
    app: Flask, client: FlaskClient
) -> None:
    login(client, "hf-ous")
    storage = st(app)
    real = storage.clock
    storage.clock = lambda: real() - timedelta(days=91)
    try:
        old_id = new_draft(client)
    finally:
        storage.clock = real
    fresh_id = new_draft(client)
    html = page(client, "/utkast")
    old_part = html.split('id="gamle"')[1]
    assert f'href="/utkast/{old_id}/slett"' in old_part
    assert f"/utkast/{fresh_id}" not in old_part


# ---- import -------------------------------------------------------------------------------------


def test_import_makes_a_draft_of_the_files_values(app: Flask, client: FlaskClient) -> None:
    values = complete_values(today_iso(app))
    login(client, "hf-ous")
    token = csrf_token(page(client, "/utkast/ny"))
    data = fill_json(FormType.TILGANG_DEL2, values)
    resp = client.post(
        "/utkast/import",
        data={"csrf_token": token, "fil": (io.BytesIO(data), "soknad.json")},
        content_type="multipart/form-data",
    )
    assert resp.status_code == 303, text_of(resp.get_data(as_text=True))
    html = page(client, resp.headers["Location"])
    assert input_value(html, "pasient.diagnose") == values["pasient.diagnose"]
    assert "Bjørg Sæther" not in html  # the file's approvals are dropped


def test_import_of_another_form_is_refused_on_the_page(client: FlaskClient) -> None:
    login(client, "hf-ous")
    token = csrf_token(page(client, "/utkast/ny"))
    data = fill_json(FormType.MINIHTA_FAGFELLE, sample_values(FormType.MINIHTA_FAGFELLE))
    resp = client.post(
        "/utkast/import",
        data={"csrf_token": token, "fil": (io.BytesIO(data), "skjema2.json")},
        content_type="multipart/form-data",
    )
    assert resp.status_code == 422
    body = resp.get_data(as_text=True)
    assert 'aria-invalid="true"' in body and 'href="#fil"' in body
    assert "Filen er ikke importert" in body


# ---- the JSON routes of the page's script -------------------------------------------------------


def test_check_answers_the_findings_by_field_and_keeps_nothing(client: FlaskClient) -> None:
    login(client, "hf-ous")
    draft_id = new_draft(client)
    html = page(client, f"/utkast/{draft_id}")
    base = {"csrf_token": csrf_token(html), "skjema": hidden(html, "skjema"), "versjon": "1"}
    resp = client.post(f"/utkast/{draft_id}/sjekk", data={**base, "pasient.fodselsar": "18"})
    assert resp.status_code == 200
    found = resp.get_json()["funn"]
    assert found["pasient.fodselsar"][0]["type"] == "feil"
    number = synthetic_fodselsnummer()
    resp = client.post(
        f"/utkast/{draft_id}/sjekk", data={**base, "pasient.diagnose": f"Pasient {number}"}
    )
    assert resp.status_code == 200 and number not in resp.get_data(as_text=True)
    assert resp.get_json()["funn"]["pasient.diagnose"][0]["type"] == "feil"
    assert hidden(page(client, f"/utkast/{draft_id}"), "versjon") == "1"


def test_autosave_saves_and_a_stale_version_is_409(client: FlaskClient) -> None:
    login(client, "hf-ous")
    draft_id = new_draft(client)
    html = page(client, f"/utkast/{draft_id}")
    base = {"csrf_token": csrf_token(html), "skjema": hidden(html, "skjema")}
    resp = client.post(
        f"/utkast/{draft_id}/autolagring",
        data={**base, "versjon": "1", "pasient.diagnose": "Lungekreft"},
    )
    assert resp.status_code == 200 and resp.get_json()["versjon"] == 2
    assert input_value(page(client, f"/utkast/{draft_id}"), "pasient.diagnose") == "Lungekreft"
    resp = client.post(
        f"/utkast/{draft_id}/autolagring",
        data={**base, "versjon": "1", "pasient.diagnose": "Annet"},
    )
    assert resp.status_code == 409 and resp.get_json()["feil"]["kode"] == "STALE_STATE"
    assert input_value(page(client, f"/utkast/{draft_id}"), "pasient.diagnose") == "Lungekreft"


def test_a_minihta_draft_is_sent_in_at_once(client: FlaskClient) -> None:
    form = get_form(FormType.MINIHTA)
    login(client, "hf-ous")  # any hf user sends a mini-HTA
    draft_id = new_draft(client, FormType.MINIHTA)
    html = page(client, f"/utkast/{draft_id}")
    names = set(re.findall(r'<(?:input|textarea|select)[^>]*\bname="([^"]+)"', html))
    assert {f.id for f in form.fields() if not f.hidden} - {"skjema.type"} <= names
    values = sample_values(FormType.MINIHTA, **{"generelt.helseforetak": "OUS"})
    status, _, body = save(client, draft_id, values)
    assert status == 303, text_of(body)
    assert "Send inn" in page(client, f"/utkast/{draft_id}/send")
    resp = send(client, draft_id)
    assert resp.status_code == 303
    done = page(client, resp.headers["Location"])
    case_id = re.search(r'href="/saker/(MMV-[^"]+)"', done)
    assert case_id and f"sak {case_id.group(1)}" in text_of(done)
    assert DraftState.SENDT_INN.label in done


def test_an_identity_number_in_a_reason_is_refused_at_the_field(
    app: Flask, client: FlaskClient
) -> None:
    draft_id = sent_draft(app, client)
    number = synthetic_fodselsnummer()
    login(client, "leder-ous")
    resp = decide(client, draft_id, "returner", f"Gjelder pasient {number}.")
    assert resp.status_code == 422
    body = resp.get_data(as_text=True)
    assert number not in body
    assert re.search(r'<textarea[^>]*id="begrunnelse"[^>]*aria-invalid="true"', body)
    assert 'href="#begrunnelse"' in body  # the summary links to it
    assert re.search(r'id="valg-returner"[^>]*checked', body)  # the choice is kept
    assert DraftState.TIL_LINJELEDER.label in page(client, f"/utkast/{draft_id}/godkjenning")
