"""What an HTTP client puts on the wire, for the tests and benchmarks that talk to a real server."""

from __future__ import annotations

import uuid
from collections.abc import Mapping


def multipart(
    filename: str,
    data: bytes,
    fields: Mapping[str, str] | None = None,
    content_type: str = "application/octet-stream",
) -> tuple[bytes, str]:
    """A `multipart/form-data` body with the plain `fields` and the file as `fil` (the upload's
    field, API.md), and the `Content-Type` header that goes with it."""
    boundary = uuid.uuid4().hex
    out = bytearray()
    for key, value in (fields or {}).items():
        out += f'--{boundary}\r\nContent-Disposition: form-data; name="{key}"\r\n\r\n{value}\r\n'.encode()
    out += (
        f'--{boundary}\r\nContent-Disposition: form-data; name="fil"; filename="{filename}"\r\n'
        f"Content-Type: {content_type}\r\n\r\n"
    ).encode()
    out += data + f"\r\n--{boundary}--\r\n".encode()
    return bytes(out), f"multipart/form-data; boundary={boundary}"
