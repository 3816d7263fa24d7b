"""Fuzzing through the upload endpoint: mutated forms of every format never give a 500."""

from __future__ import annotations

import io

from tests.fuzzing import mutations


def test_upload_endpoint_never_answers_500(app, client, users):
    app.config["UPLOAD_RATE_LIMIT"] = "1000 per minute"  # far more than one person's uploads
    for name, data in mutations(80, seed=13):
        resp = client.post(
            "/api/v1/innsendinger",
            data={"fil": (io.BytesIO(data), name)},
            headers=users.auth("hf-ous"),
            content_type="multipart/form-data",
        )
        assert resp.status_code in (201, 403, 409, 413, 422), (name, resp.status_code)
        body = resp.get_json()
        assert body is not None and ("status" in body or "error" in body)
