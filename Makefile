# Salesbridge developer commands. `make demo` and `make test` are the README's quick start.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
PORT   ?= 3000

.PHONY: install demo serve test lint bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

# The bot on SQLite with the demo catalog: HTTP server in the background (once it answers
# /healthz), console in front; a taken port or a server that dies stops it with exit 1.
# The demo catalog's product owners are its product managers unless PRODUCT_MANAGERS is set.
# TEAMS_EMULATOR=1: a local Bot Framework Emulator may talk to /api/messages (no auth; this
# machine only) -- the demo runs on a developer's own machine, never on a server.
demo: export PRODUCT_MANAGERS ?= U01PMALICE,U01PMBRUNO,U01PMCHIDI,U01PMDANA
demo: export TEAMS_EMULATOR ?= 1
demo: $(STAMP)
	@$(BIN)/python -m handlers.demo --port $(PORT)

serve: $(STAMP)
	$(BIN)/salesbridge db upgrade
	$(BIN)/salesbridge serve --port $(PORT)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

# Everything CI runs: lint, types, and every test (SQLite, plus PostgreSQL when reachable),
# one pytest worker per core (each test has its own databases, so they run side by side;
# each file runs whole on one worker: a module's tests may share a server, in order).
# pytest's exit 5 (no tests collected) counts as a failure.
test: lint
	@$(BIN)/pytest -n auto --dist loadfile; status=$$?; \
	  if [ $$status -eq 5 ]; then echo "pytest collected no tests" >&2; exit 1; fi; exit $$status

bench: $(STAMP)
	$(BIN)/python -m bench.lookup

clean:
	rm -rf $(VENV) salesbridge.db salesbridge.db-* .demo-serve.log
