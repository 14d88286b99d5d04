# The README's commands. `make setup` builds .venv from the hash-locked dev dependencies.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin

.PHONY: setup test lint demo image bench clean

setup: $(BIN)/ecspresso

$(BIN)/ecspresso: requirements-dev.lock pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --require-hashes -r requirements-dev.lock
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps -e .
	@touch $@

test: setup
	$(BIN)/pytest -q -p no:cacheprovider

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

demo: setup
	bash examples/demo.sh

image:
	bash scripts/build-image.sh --smoke

# bench/README.md: ecspresso-py vs fabfuel ecs-deploy and the AWS action; writes bench/results.md
# (about 10 minutes; `make bench BENCH_ARGS=--quick`: about 3, writes .bench/results-quick.md)
bench: setup
	BENCH_COMMAND="make bench$(if $(BENCH_ARGS), BENCH_ARGS='$(BENCH_ARGS)')" $(BIN)/python bench/run.py $(BENCH_ARGS)

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
