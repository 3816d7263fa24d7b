"""The application services: one use case per function, one transaction each through a unit of
work (`storage.uow`). Services call the pure domain (`processor`) and reach data only through the
storage adapters; they never import the web layer.
"""
