"""The application services: one use case per function, one transaction each through a unit of
work (`storage.uow`). Services call the pure domain (`processor`) and reach data only through the
storage adapters; they never import the web layer.

`steps` holds what the use cases share (look a case up, clean a reason, move a case, record a
change, retry on conflict) and imports none of them; `upload`, `cases`, `users`, `committee`,
`minihta` and `figures` are the use cases, `queries` the read side, `access` who may see a case.
Every module imports the others it needs at its top (tests/test_layers.py).
"""
