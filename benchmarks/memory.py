"""Peak memory of `ingest` on hostile and large files (issue 9).

Each file is checked in a fresh subprocess, which reports its peak resident set size
(`VmHWM` in /proc/self/status) after the imports (the baseline: the interpreter
with the pipeline loaded and the file read into memory) and after `ingest`. The files are built
here: a zip bomb DOCX (the template DOCX with `word/document.xml` replaced by a part that inflates
to `--bomb-mib` MiB, once honest and once with a lying size), a PDF whose form sits in an
object stream that inflates to `--bomb-mib` MiB, a Del 2 PDF padded to just under 20 MiB with a
large stream, a PDF whose catalogue shares an object stream with millions of zeros (beyond and
up to the decode limit), a DOCX of millions of nested paragraphs within the size and ratio
limits, a DOCX with as many tags as `Limits.max_xml_tags` allows, and a JSON of millions of
empty objects.

Run: `python -m benchmarks.memory [--bomb-mib 1024]`. Prints a table; asserts nothing.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

from tests import hostile_pdf

ROOT = Path(__file__).resolve().parents[1]
MIB = 1024 * 1024
PDF_BYTES = 20 * MIB - 64 * 1024  # under the 20 MiB upload limit, so the whole pipeline runs

Row = tuple[str, str, str, str, bool | None]


def _docx_with_document(write) -> bytes:
    """The template DOCX with its main part written by `write(part)` (a writable file in the
    archive: a bomb is written a chunk at a time, never held whole)."""
    from forms.templates import build

    template = zipfile.ZipFile(io.BytesIO(build("tilgang-del2", "docx")))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        for info in template.infolist():
            if info.filename == "word/document.xml":
                with zf.open("word/document.xml", "w") as part:
                    write(part)
            else:
                zf.writestr(info, template.read(info.filename))
    return out.getvalue()


def zip_bomb_docx(inflated_mib: int) -> bytes:
    """The template DOCX whose main part inflates to `inflated_mib` MiB (ratio ~1000:1)."""

    def write(part) -> None:
        part.write(
            b'<?xml version="1.0"?><w:document xmlns:w="http://schemas.'
            b'openxmlformats.org/wordprocessingml/2006/main"><w:body>'
        )
        chunk = b"<w:p/>" * (MIB // 6)
        for _ in range(inflated_mib):
            part.write(chunk)
        part.write(b"</w:body></w:document>")

    return _docx_with_document(write)


def lying_zip_bomb_docx(inflated_mib: int) -> bytes:
    """The same bomb with the inflated size of its main part understated in both the local header
    and the central directory (50 x the compressed size: under the ratio limit), so only the
    inflater's own bound protects the process."""
    import struct

    data = bytearray(zip_bomb_docx(inflated_mib))
    zf = zipfile.ZipFile(io.BytesIO(bytes(data)))
    info = zf.getinfo("word/document.xml")
    claimed = struct.pack("<I", info.compress_size * 50)
    local = info.header_offset
    data[local + 22 : local + 26] = claimed
    central = data.rfind(b"PK\x01\x02" + data[local + 4 : local + 6])
    while central >= 0:
        name_len = struct.unpack_from("<H", data, central + 28)[0]
        if data[central + 46 : central + 46 + name_len] == b"word/document.xml":
            data[central + 24 : central + 28] = claimed
            break
        central = data.rfind(b"PK\x01\x02", 0, central)
    return bytes(data)


def large_pdf(size: int = PDF_BYTES) -> bytes:
    """A filled Del 2 PDF carrying one large incompressible stream, `size` bytes in all."""
    from pypdf import PdfWriter
    from pypdf.generic import DecodedStreamObject, NameObject

    from forms.templates import build
    from tests.fillers import sample_values

    small = build("tilgang-del2", "pdf", sample_values("tilgang-del2"))
    padding = random.Random(9).randbytes(size)

    def write(n: int) -> bytes:
        writer = PdfWriter(clone_from=io.BytesIO(small))
        stream = DecodedStreamObject()
        stream.set_data(padding[:n])
        writer._root_object[NameObject("/BenchmarkPadding")] = writer._add_object(stream)
        buf = io.BytesIO()
        writer.write(buf)
        return buf.getvalue()

    overhead = len(write(0))
    return write(size - overhead)


W_NS = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"


def _docx_with_xml(document: str) -> bytes:
    return _docx_with_document(lambda part: part.write(document.encode("utf-8")))


def nested_paragraphs_docx(xml_bytes: int, depth: int = 27) -> bytes:
    """Paragraphs nested `depth` deep, each chain with its own random text (so that the part
    stays under the 100:1 ratio), `xml_bytes` of XML: millions of tiny elements."""
    rnd = random.Random(11)
    chain = "<w:p>" * depth + "<w:r><w:t>{}</w:t></w:r>" + "</w:p>" * depth
    n = xml_bytes // (len(chain) + 10)
    body = "".join(chain.format(rnd.randbytes(6).hex()) for _ in range(n))
    return _docx_with_xml(f'<w:document xmlns:w="{W_NS}"><w:body>{body}</w:body></w:document>')


def tags_docx(tags: int) -> bytes:
    """A document of `tags` tags, nearly all of them elements the DOCX scan lists (paragraphs,
    texts, tabs): the most memory a file within `Limits.max_xml_tags` can cost."""
    rnd = random.Random(12)
    unit = "<w:p><w:r><w:t>{}</w:t><w:tab/><w:tab/><w:tab/></w:r></w:p>"  # 9 tags
    n = (tags - 10) // 9
    body = "".join(unit.format(rnd.randbytes(4).hex()) for _ in range(n))
    return _docx_with_xml(f'<w:document xmlns:w="{W_NS}"><w:body>{body}</w:body></w:document>')


def many_values_json(n: int) -> bytes:
    """A Del 2 JSON with an extra list of `n` empty objects."""
    head = '{"skjema": {"type": "tilgang-del2", "versjon": "1"}, "vedlegg": ['
    return (head + ",".join(["{}"] * n) + "]}").encode()


def _peak_kib() -> int:
    """This process's peak RSS in KiB. `VmHWM` rather than `getrusage().ru_maxrss`: Linux keeps
    `ru_maxrss` across fork + exec, so a child would report its parent's peak."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def _child(path: str) -> int:
    """Measure in this (fresh) process: imports, read, baseline, ingest, peak."""
    from datetime import date

    from processor.ingest import ingest

    data = Path(path).read_bytes()
    base = _peak_kib()
    result = ingest(Path(path).name, data, today=date(2026, 11, 23))
    peak = _peak_kib()
    codes = [f.code for f in result.errors][:3]
    print(
        json.dumps(
            {
                "base_kib": base,
                "peak_kib": peak,
                "status": result.status,
                "codes": codes,
                "size": len(data),
            }
        )
    )
    return 0


def measure(name: str, data: bytes) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / name
        path.write_bytes(data)
        proc = subprocess.run(
            [sys.executable, "-m", "benchmarks.memory", "--child", str(path)],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=600,
        )
    if proc.returncode != 0:
        raise SystemExit(f"memory child failed on {name}: {proc.stderr[-2000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def rows(quick: bool = False, bomb_mib: int | None = None) -> list[Row]:
    """(figure, value, baseline, target, met) rows for `benchmarks.run_all`."""
    bomb_mib = bomb_mib or (256 if quick else 1024)
    # imported here, not at the top: the children import only what `ingest` needs for their file
    from processor.extract_pdf import DECODE_LIMIT as decode_limit
    from processor.findings import Limits

    max_xml_tags = Limits().max_xml_tags
    out: list[Row] = []
    cases = [
        (f"zip-bombe DOCX ({bomb_mib} MiB utpakket)", "bomb.docx", zip_bomb_docx(bomb_mib)),
        (
            f"zip-bombe DOCX med falsk størrelse ({bomb_mib} MiB)",
            "bomb2.docx",
            lying_zip_bomb_docx(bomb_mib),
        ),
        ("stor PDF (20 MiB)", "stor.pdf", large_pdf()),
        (
            f"PDF-bombe i objektstrøm ({bomb_mib} MiB utpakket)",
            "bombe.pdf",
            hostile_pdf.object_stream_bomb(bomb_mib * MIB),
        ),
        (
            f"PDF med LZW-bombe i XMP ({bomb_mib} MiB utpakket)",
            "lzw.pdf",
            hostile_pdf.metadata_bomb(bomb_mib * MIB, lzw=True),
        ),
        (
            "PDF med 8 millioner nuller i katalogens objektstrøm (16 MB utpakket)",
            "nuller.pdf",
            hostile_pdf.object_streams_parse_bomb(8_000_000, streams=1),
        ),
        (
            "PDF med nuller i objektstrømmen opp til dekodegrensen (1 MiB)",
            "nuller-grense.pdf",
            hostile_pdf.object_streams_parse_bomb(decode_limit // 2 - 100, streams=1),
        ),
        (
            "DOCX med avsnitt nøstet 27 dypt (24 MiB XML)",
            "nostet.docx",
            nested_paragraphs_docx(24 * MIB),
        ),
        (
            f"DOCX med {max_xml_tags:,} XML-tagger (grensen)".replace(",", " "),
            "tagger.docx",
            tags_docx(max_xml_tags - 2_000),  # the template's other parts count too
        ),
        ("JSON med 6 millioner tomme objekter", "mange.json", many_values_json(6_000_000)),
    ]
    for label, name, data in cases:
        m = measure(name, data)
        peak = m["peak_kib"] / 1024
        codes = ",".join(m["codes"]) or "-"
        out.append(
            (
                f"toppminne, {label}, {len(data) / MIB:.2f} MiB fil",
                f"{peak:.0f} MiB ({m['status']} {codes})",
                f"etter import og lesing: {m['base_kib'] / 1024:.0f} MiB",
                "<= 200 MiB",
                peak <= 200,
            )
        )
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--child", metavar="FILE", help=argparse.SUPPRESS)
    ap.add_argument("--bomb-mib", type=int, default=1024)
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args(argv)
    if args.child:
        return _child(args.child)
    for row in rows(args.quick, None if args.quick else args.bomb_mib):
        print(" | ".join(str(c) for c in row))
    return 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    sys.exit(main())
