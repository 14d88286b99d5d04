# The README's commands. `make setup` builds .venv from the hash-locked dev dependencies.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin

.PHONY: setup test lint demo image clean

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

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
