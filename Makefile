# Seinhuis: `make demo` runs the whole network on this machine; `make test` runs the tests.
# Both set everything up themselves (system libraries, virtual env, dependencies).

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test check bench proto lint typecheck setup system-deps clean migration \
	migration-baseline node-client

setup: $(STAMP)

# libsodium provides ristretto255 for the OPRF; PyNaCl bundles its own copy without it.
system-deps:
	@./scripts/system-deps.sh

$(STAMP): pyproject.toml | system-deps
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(BIN)/python -m pip install --quiet --upgrade pip
	@$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

demo: $(STAMP)
	@$(BIN)/seinhuis demo

# The independent Node.js client (clients/node-js, tests/interop/test_node_js_client.py): its
# locked packages, when npm is installed (without Node.js that test is skipped).
NODE_CLIENT := clients/node-js
node-client:
	@if command -v npm >/dev/null 2>&1 && \
	  [ ! $(NODE_CLIENT)/node_modules/.package-lock.json -nt $(NODE_CLIENT)/package-lock.json ]; \
	then cd $(NODE_CLIENT) && npm ci --no-audit --no-fund --loglevel=error; fi

test: $(STAMP) node-client
	@$(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/buf lint proto
	@./scripts/buf-breaking.sh

typecheck: $(STAMP)
	$(BIN)/mypy seinhuis hub node pseudonym consent bench

check: lint typecheck node-client
	$(BIN)/python scripts/protoc.py --check
	$(BIN)/python -m pytest

bench: $(STAMP)
	@$(BIN)/python -m bench

proto: $(STAMP)
	$(BIN)/python scripts/protoc.py

# A new schema migration from the tables in code: make migration SERVICE=hub MSG="add x"
# (SERVICE: hub, consent or pseudonym). tests/test_migrations.py fails until one is written.
migration: $(STAMP)
	@test -n "$(SERVICE)" -a -n "$(MSG)" || { echo 'usage: make migration SERVICE=hub MSG="..."'; exit 2; }
	$(BIN)/python scripts/migration.py $(SERVICE) -m "$(MSG)"

# Before the first release only: replace every service's revisions by one baseline.
migration-baseline: $(STAMP)
	$(BIN)/python scripts/migration.py all --baseline

clean:
	rm -rf .demo build *.egg-info
