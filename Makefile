# Two commands: `make dev` runs the whole stack, `make test` runs every check.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# Browser tests drive Debian's Chromium (Playwright's own browser download is not used).
CHROMIUM := /usr/bin/chromium

.PHONY: dev test lint typecheck unit bench bench-light chaos clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

dev: $(STAMP)
	$(BIN)/closedloop dev

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy domain workflows activities core api models chaos services worker.py cli.py

$(CHROMIUM):
	@if [ "$$(id -u)" = 0 ]; then \
		echo "installing Debian's chromium for the browser tests"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	else \
		echo "The browser tests need Debian's Chromium. Run:  sudo apt-get install -y chromium"; \
		exit 1; \
	fi

test: lint typecheck $(CHROMIUM)
	$(BIN)/pytest -q -p no:cacheprovider

# Fault drill: SIGKILL each server under load, then verify nothing lost or doubled.
chaos: $(STAMP)
	$(BIN)/python -m chaos --seconds $${CHAOS_SECONDS:-240} --out bench/results/chaos.json

# Benchmarks: CI-light sizes by default, BENCH_FULL=1 for the full ones; JSON in bench/results/.
bench: $(STAMP)
	$(BIN)/python -m bench
	$(BIN)/python -m bench.lifecycle
	$(BIN)/python -m bench.import_customers

bench-light: $(STAMP)
	BENCH_FULL=0 $(BIN)/python -m bench

clean:
	rm -rf $(VENV) .closedloop .pytest_cache .mypy_cache .ruff_cache
