# xrbid — set-up, demo, tests, benchmarks, docs, lint.  `make demo` and `make test` are all you need.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

.PHONY: setup demo demo-steps test system-deps bench docs lint format clean

setup: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test]"
	touch $@

## The main job on the shipped data: every galaxy in examples/ -> demo-output/<galaxy>/report.html
demo: setup
	$(BIN)/xrbid run examples/*.toml

## The same work one command at a time (as in docs/walkthrough/) -> demo-output/steps/
demo-steps: setup
	bash scripts/demo.sh demo-output/steps

## SAOImage DS9, XPA tools and Xvfb for the DS9 tests (installed with apt when root)
system-deps:
	bash scripts/install-system-deps.sh

test: setup system-deps
	$(BIN)/python -m pytest

bench: setup
	@for b in benchmarks/bench_*.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done

docs: setup
	$(BIN)/python -m pip install --quiet -e ".[docs]"
	$(BIN)/python -m sphinx -b html docs docs/_build/html

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: setup
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

clean:
	rm -rf demo-output docs/_build .pytest_cache
