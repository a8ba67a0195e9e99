# labelyard: every target installs what it needs into .venv from nothing.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# The front end's tools (Biome) and browser modules (three), pinned in package-lock.json.
NODE_STAMP := node_modules/.installed
VENDOR := src/labelyard/web/static/vendor
VENDOR_STAMP := $(VENDOR)/VERSION
BIOME := node_modules/.bin/biome
JS := src/labelyard/web/static tests/js tools

.PHONY: install serve test test-fast bench lint format clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

$(NODE_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund
	touch $(NODE_STAMP)

# three's browser modules, copied where /ui/static/vendor/ serves them (gitignored).
$(VENDOR_STAMP): $(NODE_STAMP) tools/vendor.mjs
	node tools/vendor.mjs

install: $(STAMP) $(VENDOR_STAMP)

serve: $(STAMP) $(VENDOR_STAMP)  ## migrate, then serve on 127.0.0.1:8080 (SQLite under ./labelyard-data)
	$(BIN)/labelyard serve

test: $(STAMP) $(VENDOR_STAMP)  ## the whole suite, on SQLite and PostgreSQL
	$(BIN)/pytest -q --durations=25

bench: $(STAMP) $(VENDOR_STAMP)  ## benchmarks over HTTP on loopback; prints a table
	command -v wrk >/dev/null || (apt-get install -y wrk || sudo apt-get install -y wrk) \
		|| echo "wrk not installed: the load runs from a Python client"
	$(BIN)/python bench/run.py

lint: $(STAMP) $(NODE_STAMP)
	$(BIOME) check $(JS)
	$(BIN)/ruff format --check src tests bench
	$(BIN)/ruff check src tests bench
	$(BIN)/mypy
	$(BIN)/lint-imports --no-cache

format: $(STAMP) $(NODE_STAMP)
	$(BIOME) check --write $(JS)
	$(BIN)/ruff format src tests bench
	$(BIN)/ruff check --fix src tests bench

clean:
	rm -rf $(VENV) node_modules $(VENDOR) labelyard-data .pytest_cache .mypy_cache .ruff_cache
