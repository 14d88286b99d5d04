# The README's commands. `make setup` builds .venv from the hash-locked dev dependencies;
# `make demo` builds its own .venv-demo from requirements-demo.lock (runtime + sandbox, no dev tools).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
DEMO_VENV := .venv-demo

.PHONY: setup test lint demo image bench clean

setup: $(BIN)/ecspresso

$(BIN)/ecspresso: requirements-dev.lock pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --require-hashes -r requirements-dev.lock
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps -e .
	@touch $@

# pyproject's addopts already has -q; a second one would drop pytest's closing "N passed in Xs" line
test: setup
	$(BIN)/pytest -p no:cacheprovider

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

demo: $(DEMO_VENV)/bin/ecspresso
	ECSPRESSO_BIN=$(CURDIR)/$(DEMO_VENV)/bin bash examples/demo.sh

$(DEMO_VENV)/bin/ecspresso: requirements-demo.lock pyproject.toml
	PYTHON=$(PYTHON) bash scripts/demo-venv.sh $(DEMO_VENV)
	@touch $@

image:
	bash scripts/build-image.sh --smoke

# bench/README.md: ecspresso-py vs fabfuel ecs-deploy and the AWS action; writes bench/results.md
# (about 10 minutes; `make bench BENCH_ARGS=--quick`: about 3, writes .bench/results-quick.md)
bench: setup
	BENCH_COMMAND="make bench$(if $(BENCH_ARGS), BENCH_ARGS='$(BENCH_ARGS)')" $(BIN)/python bench/run.py $(BENCH_ARGS)

clean:
	rm -rf $(VENV) $(DEMO_VENV) .pytest_cache .mypy_cache .ruff_cache
