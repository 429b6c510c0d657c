# boss — developer entry points. `make run` serves on the embedded defaults; `make test`
# sets everything up and runs lint, type checks, the monitoring checks and the test suite.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PLUGINS := $(sort $(wildcard plugins/*))
STAMP := $(VENV)/.installed

.PHONY: setup tools run test lint typecheck pytest monitoring bench clean

setup: $(STAMP)

$(STAMP): pyproject.toml $(wildcard plugins/*/pyproject.toml)
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev,bench]' $(foreach p,$(PLUGINS),-e $(p))
	touch $@

tools:
	bash scripts/fetch-tools.sh

run: setup
	$(VENV)/bin/boss serve

lint: setup
	$(VENV)/bin/ruff check boss plugins tests bench
	$(VENV)/bin/ruff format --check boss plugins tests bench

typecheck: setup
	$(VENV)/bin/mypy boss $(foreach p,$(PLUGINS),$(p)/boss_$(notdir $(p)))

pytest: setup tools
	PATH="$(CURDIR)/.tools/bin:$$PATH" $(VENV)/bin/pytest $(PYTEST_ARGS)

test: lint typecheck pytest

monitoring: setup tools
	PATH="$(CURDIR)/.tools/bin:$$PATH" $(VENV)/bin/boss monitoring build
	PATH="$(CURDIR)/.tools/bin:$$PATH" $(VENV)/bin/boss monitoring check

bench: setup tools
	$(PY) bench/run.py

clean:
	rm -rf $(VENV) .tools .mypy_cache .ruff_cache .pytest_cache
