# The two commands of the README: `make demo` (set up + main job) and `make test` (set up + tests).
VENV ?= .venv
PY := $(VENV)/bin/python
SYSTEM_PYTHON ?= python3

.PHONY: setup demo test test-slow lint bench

$(VENV)/.installed: pyproject.toml plugins/latentedit-sefa/pyproject.toml plugins/latentedit-ganspace/pyproject.toml
	test -x $(PY) || $(SYSTEM_PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	# The CPU build of torch that this machine has; a looser pin pulls gigabytes of CUDA wheels.
	$(PY) -m pip install -q torch==2.13.0
	$(PY) -m pip install -q -e '.[dev,studio,ray,faces]' -e plugins/latentedit-sefa -e plugins/latentedit-ganspace
	touch $@

setup: $(VENV)/.installed

demo: setup
	$(VENV)/bin/latentedit demo --force

test: setup
	$(PY) -m ruff check latentedit plugins tests benchmarks
	$(PY) -m pytest -q

test-slow: setup
	$(PY) -m pytest -q -m slow

bench: setup
	$(PY) -m benchmarks.generator
