# Two commands: `make dev` runs the whole stack, `make test` runs every check.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# Browser tests drive Debian's Chromium (Playwright's own browser download is not used).
CHROMIUM := /usr/bin/chromium

.PHONY: dev test lint typecheck unit bench bench-light chaos clean fonts

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

dev: $(STAMP) fonts
	$(BIN)/closedloop dev

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy domain workflows activities core api models services chaos worker.py cli.py console

$(CHROMIUM):
	@if [ "$$(id -u)" = 0 ]; then \
		echo "installing Debian's chromium for the browser tests"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	else \
		echo "The browser tests need Debian's Chromium. Run:  sudo apt-get install -y chromium"; \
		exit 1; \
	fi

test: lint typecheck fonts $(CHROMIUM)
	$(BIN)/pytest -q -p no:cacheprovider

# PDF reports embed a TrueType CJK font; Debian's fonts-wqy-microhei is installed when absent.
REPORT_FONT := /usr/share/fonts/truetype/wqy/wqy-microhei.ttc
fonts:
	test -f $(REPORT_FONT) || apt-get install -y -q fonts-wqy-microhei || \
		(apt-get update -q && apt-get install -y -q fonts-wqy-microhei)

# Fault drill: SIGKILL each server under load, then verify nothing lost or doubled.
chaos: $(STAMP)
	$(BIN)/python -m chaos --seconds $${CHAOS_SECONDS:-240} --out bench/results/chaos.json

# Benchmarks: CI-light sizes by default, BENCH_FULL=1 for the full ones; JSON in bench/results/.
bench: $(STAMP)
	$(BIN)/python -m bench.ratios
	$(BIN)/python -m bench.storm
	$(BIN)/python -m bench
	$(BIN)/python -m bench.lifecycle
	$(BIN)/python -m bench.import_customers
	$(BIN)/python -m bench.simulator
	$(BIN)/python -m bench.rollout

bench-light: $(STAMP)
	BENCH_FULL=0 $(BIN)/python -m bench.ratios
	BENCH_FULL=0 $(BIN)/python -m bench.storm
	BENCH_FULL=0 $(BIN)/python -m bench

clean:
	rm -rf $(VENV) .closedloop .pytest_cache .mypy_cache .ruff_cache
