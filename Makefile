PYTHON ?= python3

.PHONY: install run test lint bench schemas

install:
	$(PYTHON) -m pip install -q -e '.[dev]'

run: install
	$(PYTHON) -m web.cli serve

test:
	$(PYTHON) -m ruff check .
	$(PYTHON) -m pytest

lint:
	$(PYTHON) -m ruff check .
	$(PYTHON) -m ruff format --check .

schemas:
	$(PYTHON) -m schemas.generate

bench:
	$(PYTHON) benchmarks/ingest.py
