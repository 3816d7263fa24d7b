"""Forms and users for the storage tests: canonical JSON bytes built from the shared fillers."""

from __future__ import annotations

from datetime import UTC, date, datetime

from processor.domain import Actor
from processor.identity import is_identity_number
from tests.fillers import fill_json, sample_values

TODAY = date(2026, 11, 23)
NOW = datetime(2026, 11, 23, 10, 30, tzinfo=UTC)
REFERENCE = "2026-09-14-OUS-KREFT"

HF_OUS = Actor("hf-ous", frozenset({"hf"}), "OUS")
HF_OUS_2 = Actor("hf-ous-2", frozenset({"hf"}), "OUS")
HF_STO = Actor("hf-sto", frozenset({"hf"}), "STO")
KOORDINATOR = Actor("koordinator", frozenset({"koordinator"}))
PRISKONTROLL = Actor("sykehusinnkjop", frozenset({"priskontroll"}))
ADMIN = Actor("drift", frozenset({"admin"}))


def del2(**overrides: object) -> bytes:
    """A complete, valid Del 2 as canonical JSON (reference 2026-09-14-OUS-KREFT, HF OUS)."""
    return fill_json("tilgang-del2", sample_values("tilgang-del2", **overrides))


def del2_for(hf: str, department: str = "KREFT", **overrides: object) -> bytes:
    reference = f"2026-09-14-{hf}-{department}"
    return del2(**{"soknad.helseforetak": hf, "soknad.referansenummer": reference, **overrides})


def minihta(**overrides: object) -> bytes:
    """A complete, valid mini-HTA (skjema 1) as canonical JSON, HF OUS."""
    return fill_json("minihta", sample_values("minihta", **overrides))


_W1 = (3, 7, 6, 1, 8, 9, 4, 5, 2)
_W2 = (5, 4, 3, 2, 7, 6, 5, 4, 3, 2)


def synthetic_identity_number(day: int = 17, month: int = 4, year: int = 1979) -> str:
    """A synthetic test number (month + 80) whose control digits are computed here."""
    prefix = f"{day:02d}{month + 80:02d}{year % 100:02d}"
    for individual in range(200, 500):
        nine = f"{prefix}{individual:03d}"
        k1 = (11 - sum(w * int(d) for w, d in zip(_W1, nine, strict=True)) % 11) % 11
        if k1 == 10:
            continue
        ten = nine + str(k1)
        k2 = (11 - sum(w * int(d) for w, d in zip(_W2, ten, strict=True)) % 11) % 11
        if k2 == 10:
            continue
        number = ten + str(k2)
        assert is_identity_number(number)
        return number
    raise AssertionError("no individual number gives valid control digits")
