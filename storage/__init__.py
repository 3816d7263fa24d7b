"""The storage layer: models, repositories, unit of work, blob store, audit log and migrations.

Services (`services.casework`) take a unit of work (`storage.uow`) and never import the web layer.
"""
