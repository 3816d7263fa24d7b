"""Uploads are parsed in memory (FORMS.md section 6, rule 3): werkzeug spools a multipart file
part over 500 KB to a temporary file by default; here every way to make one fails, and 5 MB
uploads still go through the upload page and the API."""

from __future__ import annotations

import hashlib
import io
import json
import tempfile
from typing import Any

import pytest
from flask.testing import FlaskClient
from pypdf import PdfReader, PdfWriter
from pypdf.generic import DecodedStreamObject, NameObject
from werkzeug.datastructures import FileStorage
from werkzeug.test import encode_multipart

from forms.templates import build
from tests.fillers import fill_json, fill_pdf, sample_values
from tests.web.conftest import Users, csrf_token, login

SIZE = 5 * 1024 * 1024


class TempFileCreated(AssertionError):
    pass


@pytest.fixture
def no_temp_files(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every function of `tempfile` that makes a file or folder fails (they all go through
    `_sanitize_params`, and a spooled file through `rollover`); returns what was tried."""
    tried: list[str] = []

    def refuse(name: str) -> Any:
        def fail(*args: Any, **kwargs: Any) -> Any:
            tried.append(name)
            raise TempFileCreated(f"tempfile.{name} during an upload")

        return fail

    monkeypatch.setattr(tempfile, "_sanitize_params", refuse("_sanitize_params"))
    monkeypatch.setattr(tempfile.SpooledTemporaryFile, "rollover", refuse("rollover"))
    for name in ("TemporaryFile", "NamedTemporaryFile", "mkstemp", "mkdtemp"):
        monkeypatch.setattr(tempfile, name, refuse(name))
    return tried


def _del2(reference: str) -> dict[str, object]:
    return sample_values("tilgang-del2", **{"soknad.referansenummer": reference})


def big_json(reference: str) -> bytes:
    """A valid Del 2 in JSON, padded with white space to 5 MB."""
    data = fill_json("tilgang-del2", _del2(reference))
    return data + b" " * (SIZE - len(data))


def big_pdf(reference: str) -> bytes:
    """A valid Del 2 PDF of 5 MB: the form and a large embedded stream (binary, not text)."""
    writer = PdfWriter(
        clone_from=PdfReader(io.BytesIO(fill_pdf(build("tilgang-del2", "pdf"), _del2(reference))))
    )
    stream = DecodedStreamObject()
    stream.set_data(bytes(range(256)) * (SIZE // 256))
    stream[NameObject("/Type")] = NameObject("/XObject")
    stream[NameObject("/Subtype")] = NameObject("/Form")
    writer._add_object(stream)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def _post(client: FlaskClient, path: str, fields: dict[str, Any], **kw: Any) -> Any:
    """A multipart POST whose body is built here, in memory (the test client's own encoder
    spools a large body to a temporary file, which the fixture forbids)."""
    boundary, body = encode_multipart(fields)
    return client.post(
        path, data=body, content_type=f"multipart/form-data; boundary={boundary}", **kw
    )


def test_the_api_reads_a_5_mb_upload_in_memory(
    client: FlaskClient, users: Users, no_temp_files: list[str]
) -> None:
    for name, data in (
        ("soknad.json", big_json("2026-09-14-OUS-STOR1")),
        ("soknad.pdf", big_pdf("2026-09-14-OUS-STOR2")),
    ):
        assert len(data) >= SIZE
        resp = _post(
            client,
            "/api/v1/innsendinger",
            {"fil": FileStorage(io.BytesIO(data), name)},
            headers=users.auth("hf-ous"),
        )
        assert resp.status_code == 201, resp.get_data(as_text=True)[:500]
        body = json.loads(resp.get_data())
        assert body["status"] == "accepted"
    assert no_temp_files == []


def test_the_upload_page_reads_a_5_mb_upload_in_memory(
    client: FlaskClient, no_temp_files: list[str]
) -> None:
    login(client, "hf-ous")
    token = csrf_token(client.get("/innsending").get_data(as_text=True))
    data = big_json("2026-09-14-OUS-STOR3")
    resp = _post(
        client,
        "/innsending",
        {"fil": FileStorage(io.BytesIO(data), "soknad.json"), "csrf_token": token},
    )
    page = resp.get_data(as_text=True)
    assert resp.status_code == 201, page[:500]
    assert "Kvittering" in page and "2026-09-14-OUS-STOR3" in page
    # the receipt shows the SHA-256 of the file (the file itself is not kept)
    assert hashlib.sha256(data).hexdigest() in page
    assert no_temp_files == []


def test_the_guard_fails_loudly_when_a_temporary_file_is_made(
    no_temp_files: list[str],
) -> None:
    # the fixture itself: werkzeug's own spooling (what the app replaces) trips it
    from werkzeug.formparser import default_stream_factory

    spool = default_stream_factory(total_content_length=SIZE, content_type=None, filename="x")
    with pytest.raises(TempFileCreated):
        spool.write(b"x" * SIZE)
    assert no_temp_files == ["rollover"]
