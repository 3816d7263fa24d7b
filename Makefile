# Everything runs in a virtual environment in .venv, made with the machine's python3 (Debian's own
# refuses `pip install` outside one: PEP 668). PYTHON picks another interpreter; HOST and PORT
# where `make run` serves.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
HOST ?= 127.0.0.1
PORT ?= 5000

.PHONY: install run test lint bench schemas

install: $(VENV)/.installed

# Made again when pyproject.toml changes. Debian packages venv and ensurepip apart from python3.
$(VENV)/.installed: pyproject.toml
	@$(PYTHON) -c 'import venv, ensurepip' 2>/dev/null || { \
		echo "$(PYTHON) mangler modulen venv. På Debian og Ubuntu: sudo apt install python3-venv"; \
		exit 1; }
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check -e '.[dev,postgresql]'
	@touch $@

# Migrates the database in instance/, creates demo users and cases (once; the logins are printed
# every time) and serves the app on http://$(HOST):$(PORT)/, with the outbox worker beside it
# (e-mail and archive folders, when SKJEMAMOTTAK_SMTP_URL / SKJEMAMOTTAK_ARKIV_DIR are set).
# Ctrl-C stops both: the shell ignores SIGINT for a background job, so the trap sends the worker
# SIGTERM (it finishes the row in hand) when the server stops.
run: install
	$(PY) -m web.cli db upgrade
	$(PY) -m web.cli demo
	$(PY) -m web.cli worker & worker=$$!; \
	trap 'kill $$worker 2>/dev/null; wait $$worker' EXIT INT TERM; \
	$(PY) -m web.cli serve --host $(HOST) --port $(PORT)

# With SKJEMAMOTTAK_TEST_POSTGRES_URL set (CI starts a server), the storage suites run on SQLite
# and PostgreSQL in the first pass and the web and end-to-end suites again on PostgreSQL.
test: install
	$(PY) -m ruff check .
	$(PY) -m pytest
	@if [ -n "$$SKJEMAMOTTAK_TEST_POSTGRES_URL" ]; then \
		echo "Web- og ende-til-ende-testene på PostgreSQL:"; \
		SKJEMAMOTTAK_TEST_WEB_BACKEND=postgresql $(PY) -m pytest tests/web; \
	fi

lint: install
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

schemas: install
	$(PY) -m schemas.generate

# One table of every issue-9 figure with its same-run baseline and the machine (~10 min on
# 2 cores; BENCH_ARGS=--quick for a short run, --markdown for docs/performance.md).
bench: install
	$(PY) -m benchmarks.run_all $(BENCH_ARGS)
