"""`processor.mail.notice`: one table row per event; what a row names must be in the call."""

from __future__ import annotations

import pytest

from processor.mail import EVENTS, notice

PUBLIC = "https://skjema.example/"
DATA = {"dato": "2026-12-07", "tid": "09:00", "utkast": "u1"}


@pytest.mark.parametrize("event", EVENTS)
def test_each_event_names_its_object_and_links_below_the_public_address(event: str) -> None:
    what = notice(event, PUBLIC, sak="2026-09-14-OUS-KREFT", mote=7, data=DATA)
    named = {"motepakke_klar": "07.12.2026 kl. 09:00", "utkast_til_godkjenning": "u1"}
    word = named.get(event, "u1" if event == "utkast_returnert" else "2026-09-14-OUS-KREFT")
    assert word in what.subject and word in what.sentence
    assert what.link.startswith("https://skjema.example/") and "//" not in what.link[8:]


@pytest.mark.parametrize("event", ["motepakke_klar", "utkast_til_godkjenning", "utkast_returnert"])
def test_an_event_without_its_data_is_a_key_error(event: str) -> None:
    with pytest.raises(KeyError):
        notice(event, PUBLIC, sak=None, mote=7, data={})


def test_an_unknown_event_is_a_value_error() -> None:
    with pytest.raises(ValueError):
        notice("ukjent", PUBLIC, sak="2026-09-14-OUS-KREFT")
