"""multipart/form-data (uploads) read with python-multipart instead of werkzeug's parser.

werkzeug compiles two regular expressions for every boundary, and every request has its own
boundary, then scans the body with them: about 2 ms of CPU for a 130 KB upload, an eighth of
an upload's cost. python-multipart finds the boundary with `bytes.find` (0.1 ms for the same
body). Everything else stays werkzeug's: the size limits (`MAX_CONTENT_LENGTH`,
`MAX_FORM_MEMORY_SIZE`, `MAX_FORM_PARTS`), part charsets, and the `request.form` /
`request.files` the views read.

File parts stay in memory (`Request._get_file_stream`): werkzeug would spool a body over 500 KB
to a temporary file, and uploaded bytes are never written to disk (FORMS.md section 6, rule 3).
Memory is bounded by `MAX_CONTENT_LENGTH` (the upload limit, 20 MiB, and room for the frame):
werkzeug refuses a larger Content-Length, and stops reading a streamed body at that limit. A malformed body (bare LF line breaks, a
missing end boundary, a part without Content-Disposition) raises ValueError, which the form
parser turns into an empty form, as werkzeug does; RFC 7578 asks for CRLF, which every browser
and HTTP library sends.
"""

from __future__ import annotations

import io
from typing import IO, Any

from flask import Request as FlaskRequest
from python_multipart.multipart import MultipartParser
from werkzeug.datastructures import FileStorage, Headers
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.formparser import FormDataParser as WerkzeugFormDataParser
from werkzeug.formparser import MultiPartParser
from werkzeug.http import parse_options_header
from werkzeug.sansio.multipart import File

CHUNK = 64 * 1024  # bytes read from the request body at a time (werkzeug's buffer size)


class _Parts:
    """python-multipart's callbacks: collects fields and files as werkzeug's parser would."""

    def __init__(self, helper: MultiPartParser, content_length: int | None) -> None:
        self.helper = helper
        self.content_length = content_length
        self.fields: list[tuple[str, str]] = []
        self.files: list[tuple[str, FileStorage]] = []
        self.count = 0
        self.ended = False
        self._name = bytearray()
        self._value = bytearray()
        self._headers: list[tuple[str, str]] = []
        self._part: tuple[str, str | None, Headers] | None = None
        self._container: IO[bytes] | list[bytes] | None = None
        self._size = 0

    def callbacks(self) -> dict[str, Any]:
        return {
            "on_part_begin": self.part_begin,
            "on_header_field": self.header_field,
            "on_header_value": self.header_value,
            "on_header_end": self.header_end,
            "on_headers_finished": self.headers_finished,
            "on_part_data": self.part_data,
            "on_part_end": self.part_end,
            "on_end": self.end,
        }

    def part_begin(self) -> None:
        self.count += 1
        limit = self.helper.max_form_parts
        if limit is not None and self.count > limit:
            raise RequestEntityTooLarge()
        self._headers = []
        self._part = None
        self._container = None

    def header_field(self, data: bytes, start: int, end: int) -> None:
        self._name += data[start:end]

    def header_value(self, data: bytes, start: int, end: int) -> None:
        self._value += data[start:end]

    def header_end(self) -> None:
        name = self._name.decode("utf-8", "replace").strip()
        value = self._value.decode("utf-8", "replace").strip()
        self._headers.append((name, value))
        self._name.clear()
        self._value.clear()

    def headers_finished(self) -> None:
        headers = Headers(self._headers)
        disposition = headers.get("content-disposition")
        if disposition is None:
            raise ValueError("Missing Content-Disposition header")
        _, extra = parse_options_header(disposition)
        name = extra.get("name", "")
        filename = extra.get("filename")
        self._part = (name, filename, headers)
        self._size = 0
        if filename is None:
            self._container = []
        else:
            event = File(name=name, filename=filename, headers=headers)
            self._container = self.helper.start_file_streaming(event, self.content_length)

    def part_data(self, data: bytes, start: int, end: int) -> None:
        container = self._container
        if container is None:  # data before any headers: python-multipart does not do this
            raise ValueError("Part data without headers")
        chunk = data[start:end]
        if isinstance(container, list):
            self._size += len(chunk)
            limit = self.helper.max_form_memory_size
            if limit is not None and self._size > limit:
                raise RequestEntityTooLarge()
            container.append(chunk)
        else:
            container.write(chunk)

    def part_end(self) -> None:
        if self._part is None or self._container is None:
            raise ValueError("Part without headers")
        name, filename, headers = self._part
        container = self._container
        if isinstance(container, list):
            charset = self.helper.get_part_charset(headers)
            self.fields.append((name, b"".join(container).decode(charset, "replace")))
        else:
            container.seek(0)
            self.files.append((name, FileStorage(container, filename, name, headers=headers)))
        self._part = None
        self._container = None

    def end(self) -> None:
        self.ended = True


class FormDataParser(WerkzeugFormDataParser):
    """werkzeug's form parser with python-multipart for multipart bodies."""

    def _parse_multipart(
        self,
        stream: IO[bytes],
        mimetype: str,
        content_length: int | None,
        options: dict[str, str],
    ) -> tuple[IO[bytes], Any, Any]:
        boundary = options.get("boundary", "").encode("ascii")
        if not boundary:
            raise ValueError("Missing boundary")
        helper = MultiPartParser(
            stream_factory=self.stream_factory,
            max_form_memory_size=self.max_form_memory_size,
            max_form_parts=self.max_form_parts,
            cls=self.cls,
        )
        parts = _Parts(helper, content_length)
        parser = MultipartParser(boundary, parts.callbacks())
        while chunk := stream.read(CHUNK):
            parser.write(chunk)
        parser.finalize()
        if not parts.ended:  # a truncated body: keep none of it
            raise ValueError("Invalid form-data: the end boundary is missing")
        return stream, self.cls(parts.fields), self.cls(parts.files)


class Request(FlaskRequest):
    form_data_parser_class = FormDataParser

    def _get_file_stream(
        self,
        total_content_length: int | None,
        content_type: str | None,
        filename: str | None = None,
        content_length: int | None = None,
    ) -> IO[bytes]:
        """Every file part in memory, whatever its size (never a temporary file)."""
        return io.BytesIO()
