# Seinhuis: `make demo` runs the whole network on this machine; `make test` runs the tests.
# Both set everything up themselves (system libraries, virtual env, dependencies).

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test check bench proto lint typecheck setup system-deps clean

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

test: $(STAMP)
	@$(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/buf lint proto
	@./scripts/buf-breaking.sh

typecheck: $(STAMP)
	$(BIN)/mypy seinhuis hub node pseudonym consent bench

check: lint typecheck
	$(BIN)/python scripts/protoc.py --check
	$(BIN)/python -m pytest

bench: $(STAMP)
	@$(BIN)/python -m bench

proto: $(STAMP)
	$(BIN)/python scripts/protoc.py

clean:
	rm -rf .demo build *.egg-info
