"""Issue 22, committee and cases: a refused page form comes back with what was typed and each
error at its field; recused members are marked; withdrawing asks for confirmation and a reason;
the meeting packet names members by their display name."""

from __future__ import annotations

import html as htmllib
import io
import re
import zipfile
from datetime import date, time

from flask import Flask
from flask.testing import FlaskClient
from pypdf import PdfReader

from processor.decisions import CRITERIA
from processor.domain import Actor
from services import committee
from services.cases import price_check, transition
from services.users import add_user
from tests.fillers import synthetic_fodselsnummer
from tests.web.conftest import PASSWORD, REFERENCE, Users, csrf_token, del2, login, st, upload

KOORDINATOR = Actor("koordinator", frozenset({"koordinator"}))
PRISKONTROLL = Actor("priskontroll", frozenset({"priskontroll"}))
# the case is OUS's, the patient's catchment AHUS: k-ous and k-ahus are recused, four are not
MEMBERS = {
    "k-ous": ("OUS", "Olav Ous"),
    "k-ahus": ("AHUS", "Anne Ahus"),
    "k-hbe": ("HBE", "Hege Bergen"),
    "k-unn": ("UNN", "Ulf Nord"),
    "k-hmr": ("HMR", "Mari Møre"),
    "k-sshf": ("SSHF", "Siri Sør"),
}
ELIGIBLE = ["k-hbe", "k-unn", "k-hmr", "k-sshf"]


def add_members(app: Flask) -> None:
    for username, (hf, name) in MEMBERS.items():
        add_user(
            st(app).uow(),
            username,
            roles=["komite"],
            hf=hf,
            display_name=name,
            beslutningstaker=True,
            password=PASSWORD,
        )


def in_price_check(client: FlaskClient, users: Users) -> None:
    resp = upload(client, users.auth("hf-ous"), del2(**{"pasient.opptaksomrade": "AHUS"}))
    assert resp.status_code == 201, resp.get_json()
    transition(KOORDINATOR, REFERENCE, "mottatt", "priskontroll", None, st_app(client).uow())


def st_app(client: FlaskClient):  # the storage of the client's app
    return st(client.application)


def placed_case(app: Flask, client: FlaskClient, users: Users) -> int:
    add_members(app)
    in_price_check(client, users)
    price_check(PRISKONTROLL, REFERENCE, 62500, None, st(app).uow())
    today = st(app).today()
    uow = st(app).uow
    meeting_id = committee.create_meeting(KOORDINATOR, uow(), date(2026, 12, 10), time(9), today)
    assert committee.plan_meeting(KOORDINATOR, uow(), meeting_id, today).placed == [REFERENCE]
    return meeting_id


def field(html: str, field_id: str) -> str:
    """The opening tag of the input or textarea with this id."""
    match = re.search(rf'<(?:input|textarea)[^>]*\bid="{field_id}"[^>]*>', html)
    assert match, field_id
    return match.group(0)


def textarea(html: str, field_id: str) -> str:
    match = re.search(rf'<textarea[^>]*\bid="{field_id}"[^>]*>(.*?)</textarea>', html, re.S)
    assert match, field_id
    return htmllib.unescape(match.group(1))


def error_at(html: str, field_id: str) -> str:
    """The error message next to the field, after checking the field points to it."""
    tag = field(html, field_id)
    assert 'aria-invalid="true"' in tag and f"{field_id}-feil" in tag, tag
    match = re.search(rf'<span id="{field_id}-feil" class="feilmelding">(.*?)</span>', html, re.S)
    assert match, f"no message at {field_id}"
    return htmllib.unescape(match.group(1))


def summary_links(html: str) -> list[str]:
    match = re.search(r'<div class="feiloppsummering".*?</div>', html, re.S)
    assert match, "no error summary"
    return re.findall(r'<a href="#([^"]+)">', match.group(0))


# ---- the decision form ----------------------------------------------------------------------


def test_a_refused_decision_keeps_what_was_typed_and_shows_errors_at_the_fields(
    app: Flask, client: FlaskClient, users: Users
) -> None:
    placed_case(app, client, users)
    login(client, "koordinator")
    form = client.get(f"/saker/{REFERENCE}/vedtak").get_data(as_text=True)
    first = CRITERIA[0]
    data = {
        "utfall": "innvilget",
        f"{first}_oppfylt": "ja",  # met, but without a reason
        f"{CRITERIA[1]}_begrunnelse": "Usikker dokumentasjon.",
        "begrunnelse": "",  # missing
        "deltakere": ELIGIBLE[:2],  # too few
        "foreslar_gruppevurdering": "ja",
        "gruppevurdering_tekst": "Bør vurderes for hele gruppen.",
        "csrf_token": csrf_token(form),
    }
    resp = client.post(f"/saker/{REFERENCE}/vedtak", data=data)
    assert resp.status_code == 422  # INVALID_DECISION in the catalogue; not a redirect
    html = resp.get_data(as_text=True)
    # everything typed is there again
    assert "checked" in field(html, "utfall-innvilget")
    assert "checked" not in field(html, "utfall-avslatt")
    assert "checked" in field(html, f"{first}-oppfylt")
    assert textarea(html, f"{CRITERIA[1]}-begrunnelse") == "Usikker dokumentasjon."
    assert textarea(html, "gruppe-tekst") == "Bør vurderes for hele gruppen."
    assert "checked" in field(html, "gruppe")
    ticked = re.findall(r'<input[^>]*name="deltakere" value="([^"]+)"[^>]*checked', html)
    assert sorted(ticked) == sorted(ELIGIBLE[:2])
    # each error next to its field, and the summary links to the fields
    assert "begrunnelsen mangler" in error_at(html, f"{first}-begrunnelse")
    assert "samlede begrunnelsen mangler" in error_at(html, "begrunnelse")
    assert re.search(r'<fieldset aria-describedby="deltakere-feil">', html)
    assert "minst 4 beslutningstakere" in html.split('id="deltakere-feil"')[1].split("</span>")[0]
    links = summary_links(html)
    assert {f"{first}-begrunnelse", "begrunnelse", "deltaker-1"} <= set(links)
    assert "<title>Feil:" in html
    # nothing was recorded
    assert (
        client.get(f"/api/v1/saker/{REFERENCE}", headers=users.auth("koordinator")).json["status"]
        == "satt_opp"
    )


def test_a_recused_participant_is_refused_at_the_participant_field_and_an_identity_at_its_text(
    app: Flask, client: FlaskClient, users: Users
) -> None:
    placed_case(app, client, users)
    login(client, "koordinator")
    form = client.get(f"/saker/{REFERENCE}/vedtak").get_data(as_text=True)
    data = {
        "utfall": "avslatt",
        "begrunnelse": "Vilkårene er ikke oppfylt.",
        "deltakere": [*ELIGIBLE, "k-ous"],
        "csrf_token": csrf_token(form),
    }
    resp = client.post(f"/saker/{REFERENCE}/vedtak", data=data)
    assert resp.status_code == 422
    html = resp.get_data(as_text=True)
    assert "Olav Ous er inhabil" in html.split('id="deltakere-feil"')[1].split("</span>")[0]
    assert textarea(html, "begrunnelse") == "Vilkårene er ikke oppfylt."

    number = synthetic_fodselsnummer()
    data |= {"deltakere": ELIGIBLE, f"{CRITERIA[0]}_begrunnelse": f"Pasient {number}."}
    resp = client.post(f"/saker/{REFERENCE}/vedtak", data=data)
    assert resp.status_code == 422
    html = resp.get_data(as_text=True)
    assert "fødselsnummer" in error_at(html, f"{CRITERIA[0]}-begrunnelse")
    assert textarea(html, "begrunnelse") == "Vilkårene er ikke oppfylt."


def test_recused_members_are_marked_in_the_decision_form_and_the_meeting(
    app: Flask, client: FlaskClient, users: Users
) -> None:
    meeting_id = placed_case(app, client, users)
    login(client, "koordinator")
    form = client.get(f"/saker/{REFERENCE}/vedtak").get_data(as_text=True)
    marks = dict(
        re.findall(r'<span id="(deltaker-\d+)-inhabil" class="hjelp">([^<]+)</span>', form)
    )
    assert sorted(marks.values()) == sorted(
        [
            f"Inhabil i sak {REFERENCE} (eget helseforetak)",
            f"Inhabil i sak {REFERENCE} (pasientens opptaksområde)",
        ]
    )
    for input_id in marks:  # the mark is read with the checkbox
        assert f'aria-describedby="{input_id}-inhabil"' in field(form, input_id)
    label_of = dict(re.findall(r'<label for="(deltaker-\d+)">([^<]+)</label>', form))
    assert sorted(label_of[i] for i in marks) == ["Anne Ahus (AHUS)", "Olav Ous (OUS)"]

    page = client.get(f"/moter/{meeting_id}").get_data(as_text=True)
    marks = dict(re.findall(r'<span id="(deltar-\d+)-inhabil" class="hjelp">([^<]+)</span>', page))
    label_of = dict(re.findall(r'<label for="(deltar-\d+)">([^<]+?) \(', page))
    assert {label_of[i]: text for i, text in marks.items()} == {
        "Olav Ous": f"Inhabil i sak {REFERENCE} (eget helseforetak)",
        "Anne Ahus": f"Inhabil i sak {REFERENCE} (pasientens opptaksområde)",
    }


# ---- the price check ------------------------------------------------------------------------


def test_a_corrected_amount_without_a_note_is_kept_with_the_error_at_the_note(
    client: FlaskClient, users: Users
) -> None:
    in_price_check(client, users)
    login(client, "priskontroll")
    page = client.get(f"/saker/{REFERENCE}").get_data(as_text=True)
    stated = re.search(r'id="belop"[^>]*value="([^"]*)"', page).group(1)
    corrected = "85 000,50"
    assert corrected.replace(" ", "") != stated
    resp = client.post(
        f"/saker/{REFERENCE}/priskontroll",
        data={"legemiddel_per_maned": corrected, "merknad": "", "csrf_token": csrf_token(page)},
    )
    assert resp.status_code == 422  # REASON_REQUIRED
    html = resp.get_data(as_text=True)
    assert f'value="{corrected}"' in field(html, "belop")
    assert "merknad" in error_at(html, "merknad")
    assert summary_links(html) == ["merknad"]
    assert "belop-hjelp" in field(html, "belop")  # the help text is still read

    resp = client.post(
        f"/saker/{REFERENCE}/priskontroll",
        data={
            "legemiddel_per_maned": "mange",
            "merknad": "Ny avtale.",
            "csrf_token": csrf_token(page),
        },
    )
    assert resp.status_code == 422
    html = resp.get_data(as_text=True)
    assert "som et tall" in error_at(html, "belop")
    assert 'aria-describedby="belop-feil belop-hjelp"' in field(html, "belop")
    assert textarea(html, "merknad") == "Ny avtale."
    assert summary_links(html) == ["belop"]

    resp = client.post(
        f"/saker/{REFERENCE}/priskontroll",
        data={
            "legemiddel_per_maned": corrected,
            "merknad": "Ny avtale.",
            "csrf_token": csrf_token(page),
        },
    )
    assert resp.status_code == 303
    [check] = client.get(f"/api/v1/saker/{REFERENCE}", headers=users.auth("koordinator")).json[
        "priskontroller"
    ]
    assert check["bekreftet_per_maned"] == 85000.5 and check["merknad"] == "Ny avtale."


# ---- withdrawing ----------------------------------------------------------------------------


def _history_reason(client: FlaskClient, users: Users) -> tuple[str, str | None]:
    detail = client.get(f"/api/v1/saker/{REFERENCE}", headers=users.auth("hf-ous")).json
    last = detail["historikk"][-1]
    return detail["status"], last.get("begrunnelse")


def test_withdrawing_asks_for_confirmation_and_a_reason_and_stores_it(
    client: FlaskClient, users: Users
) -> None:
    assert upload(client, users.auth("hf-ous"), del2()).status_code == 201
    login(client, "hf-ous")
    page = client.get(f"/saker/{REFERENCE}").get_data(as_text=True)
    # the case page does not withdraw: it links to the confirmation step
    assert f'href="/saker/{REFERENCE}/trekk"' in page
    assert 'value="trukket"' not in page
    confirm = client.get(f"/saker/{REFERENCE}/trekk")
    assert confirm.status_code == 200
    html = confirm.get_data(as_text=True)
    assert '<label for="begrunnelse">Hvorfor trekkes søknaden?</label>' in html
    assert "kan ikke åpnes igjen" in html
    assert _history_reason(client, users)[0] == "mottatt"  # looking is not withdrawing

    token = csrf_token(html)
    resp = client.post(
        f"/saker/{REFERENCE}/trekk",
        data={"fra": "mottatt", "begrunnelse": "  ", "csrf_token": token},
    )
    assert resp.status_code == 422
    assert "Skriv hvorfor" in error_at(resp.get_data(as_text=True), "begrunnelse")
    assert _history_reason(client, users)[0] == "mottatt"

    number = synthetic_fodselsnummer()
    typed = f"Pasienten {number} er flyttet."
    resp = client.post(
        f"/saker/{REFERENCE}/trekk",
        data={"fra": "mottatt", "begrunnelse": typed, "csrf_token": token},
    )
    assert resp.status_code == 422  # IDENTITY_FOUND, as for every other reason
    html = resp.get_data(as_text=True)
    assert "fødselsnummer" in error_at(html, "begrunnelse")
    assert textarea(html, "begrunnelse") == typed
    assert _history_reason(client, users)[0] == "mottatt"

    resp = client.post(
        f"/saker/{REFERENCE}/trekk",
        data={"fra": "mottatt", "begrunnelse": "Pasienten er flyttet.", "csrf_token": token},
    )
    assert resp.status_code == 303 and resp.headers["Location"].endswith(f"/saker/{REFERENCE}")
    assert _history_reason(client, users) == ("trukket", "Pasienten er flyttet.")
    # gone for good: the confirmation step is not offered again
    resp = client.get(f"/saker/{REFERENCE}/trekk")
    assert resp.status_code == 303


def test_the_api_still_withdraws_without_a_reason(client: FlaskClient, users: Users) -> None:
    assert upload(client, users.auth("hf-ous"), del2()).status_code == 201
    resp = client.post(
        f"/api/v1/saker/{REFERENCE}/overgang",
        json={"fra": "mottatt", "til": "trukket"},
        headers=users.auth("hf-ous"),
    )
    assert resp.status_code == 200 and resp.json["status"] == "trukket"


def test_the_confirmation_step_is_only_for_the_cases_own_hf(
    client: FlaskClient, users: Users
) -> None:
    assert upload(client, users.auth("hf-ous"), del2()).status_code == 201
    login(client, "hf-ahus")
    assert client.get(f"/saker/{REFERENCE}/trekk").status_code == 404


# ---- names ----------------------------------------------------------------------------------


def test_the_meeting_packet_names_members_by_display_name(
    app: Flask, client: FlaskClient, users: Users
) -> None:
    meeting_id = placed_case(app, client, users)
    login(client, "k-hbe")
    resp = client.get(f"/moter/{meeting_id}/pakke.zip")
    assert resp.status_code == 200
    with zipfile.ZipFile(io.BytesIO(resp.data)) as z:
        text = "\n".join(
            page.extract_text() for page in PdfReader(io.BytesIO(z.read("innkalling.pdf"))).pages
        )
    eligible = [MEMBERS[u][1] for u in ELIGIBLE]
    assert all(name in text for name in eligible), text
    assert not any(username in text for username in ELIGIBLE)
    assert "Hege Bergen" in text.split("Fortrolig")[1]  # the footer names the member too
