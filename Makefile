PYTHON ?= python3

.PHONY: install run test lint bench schemas

install:
	$(PYTHON) -m pip install -q -e '.[dev]'

# Until the web service lands (issue 4), `make run` writes the blank templates to instance/maler
# and checks the shared samples with the offline command.
run: install
	$(PYTHON) -m web.cli templates instance/maler
	-$(PYTHON) -m web.cli check ../shared/samples/*.pdf ../shared/samples/*.docx \
		../shared/samples/*.xlsx ../shared/samples/*.json

test:
	$(PYTHON) -m ruff check .
	$(PYTHON) -m pytest

lint:
	$(PYTHON) -m ruff check .
	$(PYTHON) -m ruff format --check .

schemas:
	$(PYTHON) -m schemas.generate

bench:
	$(PYTHON) -m benchmarks.ingest
