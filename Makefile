# Two commands on a fresh machine with Python 3.11+ and make: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-dev

.PHONY: install run test lint typecheck demo bench lock clean

$(STAMP): requirements-dev.lock pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --disable-pip-version-check --quiet -r requirements-dev.lock
	$(BIN)/python -m pip install --disable-pip-version-check --quiet --no-deps -e .
	touch $(STAMP)

install: $(STAMP)

run: install
	$(BIN)/linkedin-ads dev

test: install
	$(BIN)/pytest

lint: install
	$(BIN)/ruff check app tests bench migrations
	$(BIN)/ruff format --check app tests bench migrations
	$(BIN)/hadolint Dockerfile

typecheck: install
	$(BIN)/mypy app

demo: install
	$(BIN)/linkedin-ads demo

bench: install
	$(BIN)/python -m bench.run

lock: install
	$(BIN)/python -m pip install --quiet uv
	$(BIN)/uv pip compile pyproject.toml -o requirements.lock --python-version 3.11 -q
	$(BIN)/uv pip compile pyproject.toml --extra dev -o requirements-dev.lock --python-version 3.11 -q

clean:
	rm -rf $(VENV) .data .pytest_cache .mypy_cache .ruff_cache
