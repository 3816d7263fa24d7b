"""The storage layer: models, repositories, unit of work, blob store, audit log and migrations.

Services (the package `services`) take a unit of work (`storage.uow`) and never import the web
layer.
"""
