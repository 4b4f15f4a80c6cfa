# The two commands: `make run` and `make test`. Everything else is a helper.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
LEDGER_DATA_DIR ?= var
LEDGER_ORIGIN ?= demo.asm-ledger.example/ledger
HOST ?= 127.0.0.1
PORT ?= 8080
# make run's defaults; the environment overrides them. Tests set up their own databases.
RUN_ENV = DATABASE_URL="$${DATABASE_URL:-sqlite:///$(LEDGER_DATA_DIR)/ledger.db}" \
	LEDGER_KEYS_DIR="$${LEDGER_KEYS_DIR:-keys}" LEDGER_DATA_DIR="$(LEDGER_DATA_DIR)" \
	LEDGER_KEY_PASSPHRASE="$${LEDGER_KEY_PASSPHRASE:-$$(cat $(LEDGER_DATA_DIR)/demo-passphrase 2>/dev/null)}"

.PHONY: run test lint bench install clean docs

$(STAMP): setup.cfg pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

## make run: venv, install, migrate the embedded SQLite ledger, load the demo once, audit it,
## then serve the API on HOST:PORT (127.0.0.1:8080) and print the URLs. Ctrl-C stops it.
run: $(STAMP)
	@mkdir -p $(LEDGER_DATA_DIR)
	@LEDGER_DATA_DIR=$(LEDGER_DATA_DIR) scripts/demo-passphrase.sh
	@$(RUN_ENV) $(BIN)/ledger run-demo --origin $(LEDGER_ORIGIN)
	@$(RUN_ENV) $(BIN)/ledger serve --host $(HOST) --port $(PORT)

## make test: the whole suite (PostgreSQL tests run when the server answers; with CI=true they must).
test: $(STAMP)
	$(BIN)/pytest -n 2 --dist loadgroup

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

bench: $(STAMP)
	$(BIN)/python -m bench

docs: $(STAMP)
	$(BIN)/python scripts/gen_protocol_examples.py

clean:
	rm -rf $(VENV) $(LEDGER_DATA_DIR) .pytest_cache .mypy_cache .ruff_cache
