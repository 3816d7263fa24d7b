"""web/multipart.py reads multipart bodies exactly as werkzeug's own parser does (differential
tests on generated bodies), and keeps werkzeug's limits."""

from __future__ import annotations

import io
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from werkzeug.datastructures import FileStorage
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.test import encode_multipart
from werkzeug.wrappers import Request as WerkzeugRequest

from web.multipart import CHUNK, Request

BOUNDARY = "----formdata-skjemamottak-7d1f"


def _environ(body: bytes, boundary: str = BOUNDARY, **extra: Any) -> dict[str, Any]:
    return {
        "REQUEST_METHOD": "POST",
        "CONTENT_TYPE": f"multipart/form-data; boundary={boundary}",
        "CONTENT_LENGTH": str(len(body)),
        "wsgi.input": io.BytesIO(body),
        **extra,
    }


def _read(cls: type[WerkzeugRequest], body: bytes, **limits: Any) -> tuple[list, list]:
    request = cls(_environ(body))
    for key, value in limits.items():
        setattr(request, key, value)
    fields = list(request.form.items(multi=True))
    files = [
        (name, f.filename, f.content_type, f.read()) for name, f in request.files.items(multi=True)
    ]
    return fields, files


def _both(body: bytes, **limits: Any) -> tuple[list, list]:
    ours = _read(Request, body, **limits)
    assert ours == _read(WerkzeugRequest, body, **limits)
    return ours


def _body(
    parts: list[tuple[str, str | None, bytes, str | None]], boundary: str = BOUNDARY
) -> bytes:
    """A CRLF multipart body as browsers send it: (name, filename or None, data, content type)."""
    out = bytearray()
    for name, filename, data, ctype in parts:
        out += f"--{boundary}\r\n".encode()
        disposition = f'form-data; name="{name}"'
        if filename is not None:
            disposition += f'; filename="{filename}"'
        out += f"Content-Disposition: {disposition}\r\n".encode()
        if ctype:
            out += f"Content-Type: {ctype}\r\n".encode()
        out += b"\r\n" + data + b"\r\n"
    out += f"--{boundary}--\r\n".encode()
    return bytes(out)


# data that looks like boundaries, line breaks and headers, also across read chunks
_tricky = st.lists(
    st.sampled_from(
        [
            b"\r",
            b"\n",
            b"\r\n",
            b"--",
            b"\r\n--",
            f"\r\n--{BOUNDARY[:-1]}".encode(),  # the boundary itself is never in the data
            f"--{BOUNDARY[1:]}".encode(),
            b"Content-Disposition: form-data",
            b"%PDF-1.7\n",
            b"\x00\xff",
            b"x" * 1000,
        ]
    ),
    max_size=40,
).map(b"".join)


@settings(max_examples=150, deadline=None)
@given(
    files=st.lists(
        st.tuples(
            st.sampled_from(["fil", "vedlegg", "fil"]),
            st.text(
                st.characters(blacklist_categories=["Cs", "Cc"], blacklist_characters='"\\'),
                max_size=20,
            ),
            _tricky,
        ),
        max_size=3,
    ),
    fields=st.lists(
        st.tuples(
            st.sampled_from(["sak", "kommentar"]),
            st.text(st.characters(blacklist_categories=["Cs"]), max_size=50),
        ),
        max_size=3,
    ),
)
def test_generated_bodies_read_the_same_as_werkzeug(files: list, fields: list) -> None:
    parts = [(n, None, v.encode(), None) for n, v in fields]
    parts += [(n, fname, data, "application/pdf") for n, fname, data in files]
    got_fields, got_files = _both(_body(parts))
    assert len(got_fields) + len(got_files) == len(parts)
    # request.files groups the parts by name
    assert sorted(d for *_, d in got_files) == sorted(d for _, _, d in files)


@pytest.mark.parametrize("offset", [-3, -2, -1, 0, 1, 2, 3])
def test_a_line_break_or_boundary_across_two_reads(offset: int) -> None:
    # the part's data ends (CRLF + boundary) right at the edge of one read
    head = len(
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="fil"; filename="a.pdf"\r\n\r\n'
    )
    data = b"a" * (CHUNK - head + offset - 1) + b"\r"
    fields, files = _both(
        _body([("fil", "a.pdf", data, None), ("sak", None, b"MMV-2026-001", None)])
    )
    assert files == [("fil", "a.pdf", None, data)] and fields == [("sak", "MMV-2026-001")]


def test_a_large_file_is_spooled_and_read_back_whole() -> None:
    data = bytes(range(256)) * 4096  # 1 MiB: past the 500 KiB kept in memory
    _, files = _both(_body([("fil", "stor.pdf", data, "application/pdf")]))
    assert files == [("fil", "stor.pdf", "application/pdf", data)]


def test_field_charsets_are_werkzeugs() -> None:
    text = "Blåbærsyltetøy"
    fields, _ = _both(
        _body(
            [
                ("a", None, text.encode("iso-8859-1"), "text/plain; charset=iso-8859-1"),
                ("b", None, text.encode(), "text/plain; charset=utf-8"),
                ("c", None, text.encode(), None),
            ]
        )
    )
    assert fields == [("a", text), ("b", text), ("c", text)]


def test_a_body_from_werkzeugs_encoder() -> None:
    boundary, body = encode_multipart(
        {
            "sak": "MMV-2026-004",
            "fil": FileStorage(io.BytesIO(b"%PDF-1.7 ..."), "søknad.pdf", "fil", "application/pdf"),
        }
    )
    request = Request(_environ(body, boundary))
    assert request.form["sak"] == "MMV-2026-004"
    assert request.files["fil"].filename == "søknad.pdf"
    assert request.files["fil"].read() == b"%PDF-1.7 ..."


_TWO = _body([("fil", "a.pdf", b"data", None), ("sak", None, b"x", None)])


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(_body([("fil", "a.pdf", b"data", None)])[:-12], id="truncated"),
        pytest.param(_TWO[: _TWO.index(b'name="sak"')], id="truncated-after-a-whole-part"),
        pytest.param(
            f"--{BOUNDARY}\r\nContent-Type: text/plain\r\n\r\nx\r\n--{BOUNDARY}--\r\n".encode(),
            id="no-content-disposition",
        ),
        pytest.param(b"", id="empty"),
        pytest.param(b"not multipart at all", id="garbage"),
    ],
)
def test_malformed_bodies_give_an_empty_form(body: bytes) -> None:
    assert _both(body) == ([], [])


def test_bare_lf_line_breaks_are_refused() -> None:
    # RFC 7578 asks for CRLF; werkzeug tolerates bare LF, python-multipart does not
    body = _body([("fil", "a.pdf", b"data", None)]).replace(b"\r\n", b"\n")
    assert _read(Request, body) == ([], [])


def test_a_missing_boundary_gives_an_empty_form() -> None:
    request = Request(_environ(b"--x--\r\n", boundary=""))
    assert not request.form and not request.files


def test_too_many_parts_is_too_large() -> None:
    body = _body([("sak", None, b"x", None)] * 5)
    for cls in (Request, WerkzeugRequest):
        with pytest.raises(RequestEntityTooLarge):
            _read(cls, body, max_form_parts=4)
    fields, _ = _both(body, max_form_parts=5)
    assert len(fields) == 5


def test_a_field_over_the_memory_limit_is_too_large_but_a_file_is_not() -> None:
    limit = 2 * CHUNK  # werkzeug also applies the limit to its read buffer (one chunk or two)
    field = _body([("kommentar", None, b"x" * (limit + 1), None)])
    for cls in (Request, WerkzeugRequest):
        with pytest.raises(RequestEntityTooLarge):
            _read(cls, field, max_form_memory_size=limit)
    _, files = _both(_body([("fil", "a.pdf", b"x" * 3 * limit, None)]), max_form_memory_size=limit)
    assert len(files[0][3]) == 3 * limit


def test_the_app_reads_uploads_with_this_parser(app: Any) -> None:
    assert app.request_class is Request
