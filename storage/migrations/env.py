"""Alembic environment, configured in code by `storage.db.alembic_config` (no alembic.ini).

The URL and, optionally, an engine come in `config.attributes`; the models' metadata is the target
for autogeneration (`alembic revision --autogenerate` through `storage.db.alembic_config`).
"""

from __future__ import annotations

from alembic import context

from storage.db import make_engine
from storage.tables import metadata

config = context.config
target_metadata = metadata


def _options(url: str) -> dict:
    # SQLite cannot ALTER most things in place: batch mode recreates the table
    return {"render_as_batch": url.startswith("sqlite"), "compare_type": True}


def run_migrations_offline() -> None:
    url = config.attributes["url"]
    context.configure(url=url, target_metadata=target_metadata, literal_binds=True, **_options(url))
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    engine = config.attributes.get("engine")
    own = engine is None
    if engine is None:
        engine = make_engine(config.attributes["url"])
    try:
        with engine.connect() as connection:
            context.configure(
                connection=connection,
                target_metadata=target_metadata,
                **_options(str(engine.url)),
            )
            with context.begin_transaction():
                context.run_migrations()
    finally:
        if own:
            engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
