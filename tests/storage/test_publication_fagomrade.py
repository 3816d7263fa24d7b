"""Attack pass: a mini-HTA whose «Fagområde» is longer than the publication's column.

The form takes a text field of up to `Limits.max_text_chars` characters, while
`minihta_publications.fagomrade` is `String(200)`: on PostgreSQL publishing such a case failed
with a database error (500) and the case could never be published. The publication keeps the
first 200 characters as its filter value; the whole text stays in the document and the search.
"""

from __future__ import annotations

from services import minihta
from services.cases import transition
from services.upload import upload
from storage.models_minihta import FAGOMRADE_CHARS
from storage.uow import AbstractUnitOfWork
from tests.storage.helpers import HF_OUS, KOORDINATOR, TODAY
from tests.storage.test_minihta import form, new_case, reviewer, uow

__all__ = ["uow"]  # the fixture, with the reviewers


def test_a_fagomrade_longer_than_the_column_publishes(uow: AbstractUnitOfWork) -> None:
    # words, not one letter repeated: PostgreSQL would compress a repeated letter into the index
    long = " ".join(f"Gastrokirurgi{n}" for n in range(60))
    assert len(long) > FAGOMRADE_CHARS
    case_id = new_case(uow, **{"metode.fagomrade": long})
    minihta.assign_reviewer(KOORDINATOR, case_id, "ff-hbe", "Dekker fagområdet.", uow)
    ff = reviewer("ff-hbe")
    minihta.declare_conflict(ff, case_id, "gronn", None, uow)
    skjema2 = form("minihta-fagfelle", **{"sak.id": case_id, "fagfelle.helseforetak": "HBE"})
    assert upload(ff, "s2.json", skjema2, uow, TODAY).state == "fagfellevurdert"
    skjema3 = form("minihta-beslutning", **{"sak.id": case_id})
    assert upload(HF_OUS, "s3.json", skjema3, uow, TODAY).state == "besluttet"

    transition(KOORDINATOR, case_id, "besluttet", "publisert", None, uow)

    found = minihta.published_case(uow, case_id)
    assert found["fagomrade"] == long[:FAGOMRADE_CHARS]
    assert found["dokumenter"]["minihta"]["metode"]["fagomrade"] == long
    assert [i["sak"] for i in minihta.search_published(uow, fagomrade=found["fagomrade"])] == [
        case_id
    ]
    assert case_id in {i["sak"] for i in minihta.search_published(uow, q="Gastrokirurgi59")}
