PYTHON ?= python3

.PHONY: install run test lint bench schemas

install:
	$(PYTHON) -m pip install -q -e '.[dev]'

# Installs, migrates the database in instance/, creates demo users and cases (once; the logins
# are printed every time) and serves the app on http://127.0.0.1:5000/.
run: install
	$(PYTHON) -m web.cli db upgrade
	$(PYTHON) -m web.cli demo
	$(PYTHON) -m web.cli serve --host 127.0.0.1 --port 5000

# With SKJEMAMOTTAK_TEST_POSTGRES_URL set (CI starts a server), the storage suites run on SQLite
# and PostgreSQL in the first pass and the web and end-to-end suites again on PostgreSQL.
test:
	$(PYTHON) -m ruff check .
	$(PYTHON) -m pytest
	@if [ -n "$$SKJEMAMOTTAK_TEST_POSTGRES_URL" ]; then \
		echo "Web- og ende-til-ende-testene på PostgreSQL:"; \
		SKJEMAMOTTAK_TEST_WEB_BACKEND=postgresql $(PYTHON) -m pytest tests/web; \
	fi

lint:
	$(PYTHON) -m ruff check .
	$(PYTHON) -m ruff format --check .

schemas:
	$(PYTHON) -m schemas.generate

# One table of every issue-9 figure with its same-run baseline and the machine (~10 min on
# 2 cores; BENCH_ARGS=--quick for a short run, --markdown for docs/performance.md).
bench:
	$(PYTHON) -m benchmarks.run_all $(BENCH_ARGS)
