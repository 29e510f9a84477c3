PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install test lint typecheck imports pytest run bench clean chromium

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy

imports: $(STAMP)
	$(BIN)/lint-imports

# The console's browser tests drive Debian's chromium (Playwright never downloads a browser).
chromium:
	@test -x /usr/bin/chromium || { test "$$(id -u)" = 0 && { \
		DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends chromium \
		|| { apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends chromium; }; } \
		|| { echo "install Debian's chromium (apt-get install chromium) for tests/api/console"; exit 1; }; }

# One test process per core; a file's tests stay in one process (they share its fixtures).
pytest: $(STAMP) chromium
	$(BIN)/pytest -n auto --dist loadfile

test: lint typecheck imports pytest

run: $(STAMP)
	$(BIN)/rendersync dev

bench: $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[dev,bench]'
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
