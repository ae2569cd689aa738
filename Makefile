# Two entry points for a newcomer: `make run` (demo on SQLite) and `make test` (the whole suite).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PB_DATABASE_URL ?= sqlite+aiosqlite:///./pb.sqlite3
export PB_DATABASE_URL

.PHONY: run test install install-dev lint bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(VENV)/.installed $@

web/static/vendor/htmx.min.js: scripts/vendor-htmx
	scripts/vendor-htmx

install: $(VENV)/.installed web/static/vendor/htmx.min.js
install-dev: $(VENV)/.installed-dev web/static/vendor/htmx.min.js

run: install
	$(BIN)/pb db upgrade
	$(BIN)/pb demo --if-empty
	$(BIN)/pb serve --host 127.0.0.1 --port 8000

test: install-dev
	$(BIN)/python -m pytest

lint: install-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

bench: install-dev
	$(BIN)/python bench/tally.py

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis web/static/vendor
