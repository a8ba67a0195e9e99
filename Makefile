# labelyard: every target installs what it needs into .venv from nothing.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install serve test test-fast bench lint format clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

serve: $(STAMP)  ## migrate, then serve on 127.0.0.1:8080 (SQLite under ./labelyard-data)
	$(BIN)/labelyard serve

test: $(STAMP)  ## the whole suite, on SQLite and PostgreSQL
	$(BIN)/pytest -q

bench: $(STAMP)  ## benchmarks over HTTP on loopback; prints a table
	$(BIN)/python bench/run.py

lint: $(STAMP)
	$(BIN)/ruff format --check src tests bench
	$(BIN)/ruff check src tests bench
	$(BIN)/mypy
	$(BIN)/lint-imports --no-cache

format: $(STAMP)
	$(BIN)/ruff format src tests bench
	$(BIN)/ruff check --fix src tests bench

clean:
	rm -rf $(VENV) labelyard-data .pytest_cache .mypy_cache .ruff_cache
