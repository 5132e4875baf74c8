# minga: the two commands first (make demo, make test), then helpers.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8000

.PHONY: demo test check lint format messages bench clean assets
VENDOR := src/minga/web/static/vendor/VERSIONS.json

$(BIN)/minga: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e .
	@touch $@

$(VENV)/.test-deps: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	@touch $@

## Front-end libraries from npm (pinned in package-lock.json), served by the node.
node_modules/.package-lock.json: package.json package-lock.json
	npm ci --ignore-scripts --no-audit --no-fund
	@touch $@

$(VENDOR): node_modules/.package-lock.json scripts/vendor_assets.py
	$(PYTHON) scripts/vendor_assets.py

assets: $(VENDOR)

## For tests only: a real Bluesky PDS and PLC directory (better-sqlite3 is built
## from source against the machine's Node headers: no download at run time).
PDS := tests/publish/pds/node_modules/.package-lock.json
$(PDS): tests/publish/pds/package.json tests/publish/pds/package-lock.json
	cd tests/publish/pds && npm_config_nodedir=/usr npm ci --no-audit --no-fund
	@touch $@

## For tests only: nostr-relay (PyPI), a public relay nobody here wrote, in a venv
## of its own: it pulls uvicorn[standard], which must not change how minga runs.
RELAY := .venv-relay/bin/nostr-relay
$(RELAY):
	$(PYTHON) -m venv .venv-relay
	.venv-relay/bin/pip install --quiet 'nostr-relay==1.14'

## make demo: set up and start a demo node (SQLite and ./demo-data, nothing else).
demo: $(BIN)/minga $(VENDOR)
	MINGA_DATA_DIR=$${MINGA_DATA_DIR:-demo-data} $(BIN)/minga demo --port $(PORT)

## make test: set up and run the whole suite on SQLite, then on PostgreSQL when
## MINGA_TEST_DATABASE_URL is set (e.g. postgresql://postgres@127.0.0.1:5432/test).
test: $(VENV)/.test-deps $(VENDOR) $(PDS) $(RELAY) check
	env -u MINGA_TEST_DATABASE_URL $(BIN)/python -m pytest -q
	@if [ -n "$$MINGA_TEST_DATABASE_URL" ]; then \
		echo "== again on PostgreSQL ($$MINGA_TEST_DATABASE_URL)"; \
		$(BIN)/python -m pytest -q; \
	else \
		echo "== MINGA_TEST_DATABASE_URL not set: PostgreSQL run skipped"; \
	fi

## make check: lint, format check and types.
check: $(VENV)/.test-deps
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy

format: $(VENV)/.test-deps
	$(BIN)/ruff check --fix src tests bench
	$(BIN)/ruff format src tests bench

## make messages: refresh and compile the es/en translation catalogues (needs gettext).
messages: $(VENV)/.test-deps
	cd src/minga && ln -sfn web/locale locale && \
		DJANGO_SETTINGS_MODULE=minga.web.settings MINGA_DATA_DIR=$$(mktemp -d) \
		../../$(BIN)/django-admin makemessages -l es -l en --ignore 'migrations/*'; \
		rm -f locale
	cd src/minga/web && DJANGO_SETTINGS_MODULE=minga.web.settings MINGA_DATA_DIR=$$(mktemp -d) \
		../../../$(BIN)/django-admin compilemessages

## make bench: every figure of bench/ (slow; results go to bench/out/).
bench: $(VENV)/.test-deps
	$(BIN)/python bench/run_all.py

clean:
	rm -rf $(VENV) node_modules demo-data bench/out .hypothesis .pytest_cache .mypy_cache .ruff_cache src/minga/web/static/vendor
