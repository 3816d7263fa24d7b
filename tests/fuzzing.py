"""Mutators for fuzzing the intake: byte flips, truncation, splices, and structure-aware mutations
of the ZIP container and the XML parts of Office files. Used by tests/test_fuzz.py (a small run)
and benchmarks/fuzz.py (10,000 cases). Deterministic for a given seed."""

from __future__ import annotations

import io
import random
import warnings
import zipfile
from collections.abc import Callable, Iterator

from forms.templates import build
from tests.fillers import fill_json, fill_xlsx, sample_values


def seeds() -> dict[str, bytes]:
    """One valid form per format, made by the project's own builders."""
    del2 = sample_values("tilgang-del2")
    return {
        "soknad.pdf": build("tilgang-del2", "pdf", del2),
        "soknad.docx": build("tilgang-del2", "docx", del2),
        "soknad.json": fill_json("tilgang-del2", del2),
        "okonomi.xlsx": fill_xlsx(
            build("minihta-okonomi", "xlsx"), sample_values("minihta-okonomi")
        ),
    }


def flip(data: bytes, rng: random.Random) -> bytes:
    b = bytearray(data)
    for _ in range(rng.randint(1, 16)):
        b[rng.randrange(len(b))] = rng.randrange(256)
    return bytes(b)


def truncate(data: bytes, rng: random.Random) -> bytes:
    return data[: rng.randrange(1, len(data))]


def splice(data: bytes, rng: random.Random) -> bytes:
    a, b = sorted(rng.randrange(len(data)) for _ in range(2))
    return data[:a] + data[b:] + data[a:b]


def rezip(data: bytes, edit: Callable[[list[tuple[zipfile.ZipInfo, bytes]]], None]) -> bytes:
    src = zipfile.ZipFile(io.BytesIO(data))
    entries = [(info, src.read(info.filename)) for info in src.infolist()]
    edit(entries)
    out = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # duplicate names are one of the mutations
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
            for info, body in entries:
                dst.writestr(info, body)
    return out.getvalue()


_XML_EDITS: tuple[Callable[[bytes, random.Random], bytes], ...] = (
    lambda x, r: b'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY e SYSTEM "file:///etc/passwd">]>' + x,
    lambda x, r: x[: r.randrange(1, max(2, len(x)))],  # unclosed elements
    lambda x, r: x.replace(b"<w:t", b"<w:t" * 2, 1),
    lambda x, r: x.replace(b">", b">" + b"<a>" * 200, 1),  # deep nesting
    lambda x, r: x.replace(b"w:tag", b"w:gat"),
    lambda x, r: x.replace(b"definedName", b"definedNam"),
    lambda x, r: x.replace(b"<v>", b"<v>&amp;&lt;" + bytes([r.randrange(256)]), 1),
    lambda x, r: x.decode("utf-8", "replace").encode("utf-16"),
)


def zip_mutation(data: bytes, rng: random.Random) -> bytes:
    choice = rng.randrange(6)
    if choice == 0:  # drop a part
        return rezip(data, lambda e: e.pop(rng.randrange(len(e))))
    if choice == 1:  # duplicate a part under the same name
        return rezip(data, lambda e: e.append(e[rng.randrange(len(e))]))
    if choice == 2:  # add a macro part
        return rezip(data, lambda e: e.append((zipfile.ZipInfo("word/vbaProject.bin"), b"\0" * 64)))
    if choice == 3:  # a highly compressible part (a small zip bomb)
        return rezip(data, lambda e: e.append((zipfile.ZipInfo("x/bomb.xml"), b"0" * 3_000_000)))
    if choice == 4:  # break the central directory
        i = data.rfind(b"PK\x01\x02")
        return data[:i] + flip(data[i : i + 46], rng) + data[i + 46 :] if i > 0 else flip(data, rng)

    def edit_xml(entries: list[tuple[zipfile.ZipInfo, bytes]]) -> None:
        xml = [i for i, (info, _) in enumerate(entries) if info.filename.endswith(".xml")]
        k = rng.choice(xml)
        info, body = entries[k]
        entries[k] = (info, rng.choice(_XML_EDITS)(body, rng))

    return rezip(data, edit_xml)


def json_mutation(data: bytes, rng: random.Random) -> bytes:
    text = data.decode("utf-8")
    edits = (
        lambda t: t.replace('"', "", 1),
        lambda t: "[" * 5000 + "]" * 5000,
        lambda t: t.replace('"1"', "1e999", 1),
        lambda t: t.replace("true", '"kanskje"', 1),
        lambda t: t.replace("{", '{"x": ' + "9" * 5000 + ",", 1),
        lambda t: t.replace(": ", ": [", 1),
    )
    return rng.choice(edits)(text).encode("utf-8", "surrogatepass")


def mutations(count: int, seed: int = 1) -> Iterator[tuple[str, bytes]]:
    """`count` mutated files, round robin over the formats and mutators."""
    rng = random.Random(seed)
    base = seeds()
    names = sorted(base)
    for i in range(count):
        name = names[i % len(names)]
        data = base[name]
        kinds: list[Callable[[bytes, random.Random], bytes]] = [flip, truncate, splice]
        if name.endswith((".docx", ".xlsx")):
            kinds += [zip_mutation, zip_mutation]
        if name.endswith(".json"):
            kinds.append(json_mutation)
        yield name, rng.choice(kinds)(data, rng)
