# zonescope: the two set-up commands of README.md, plus lint and benchmarks.
#
#   make run    install, then serve the dashboard on http://127.0.0.1:8000 (default preset)
#   make test   install everything the tests need (chromium included) and run the whole suite
#
# Works on a fresh Debian machine as root with Python 3.11, reaching only the package registries.
# Tools are run as `python -m ...` or from this interpreter's scripts directory, so nothing depends
# on PATH. PIP_BREAK_SYSTEM_PACKAGES lets pip install into a Debian-managed Python (PEP 668); it has
# no effect in a virtualenv or a python.org / pyenv build.

SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= $(shell command -v python3 || command -v python)
SCRIPTS = $(shell $(PYTHON) -c 'import sysconfig; print(sysconfig.get_path("scripts"))')
HOST ?= 127.0.0.1
PORT ?= 8000
CHROMIUM ?= /usr/bin/chromium
PYTEST_ARGS ?=

export PIP_BREAK_SYSTEM_PACKAGES := 1
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: help pip install install-test chromium lint typecheck hadolint check pytest test run bench

help:
	@echo "make run    install and start the dashboard on http://$(HOST):$(PORT) (default preset)"
	@echo "make test   install test dependencies and chromium, then ruff, mypy, hadolint and pytest"
	@echo "make bench  run the benchmarks in bench/ (figures go to docs/performance.md)"

# pip itself: Debian's python3 may come without it
pip:
	@$(PYTHON) -m pip --version >/dev/null 2>&1 || { \
		echo "pip missing: installing Debian's python3-pip"; \
		apt-get update && apt-get install -y --no-install-recommends python3-pip; }

install: pip
	$(PYTHON) -m pip install -e .
	@echo "compiling the simulation core once (numba caches it)"
	$(PYTHON) -m simcore.kernels.warm

install-test: pip
	$(PYTHON) -m pip install -e '.[test]'
	$(PYTHON) -m simcore.kernels.warm

# Debian's chromium, driven by Playwright with executable_path (never `playwright install`)
chromium:
	@if [ -x "$(CHROMIUM)" ]; then echo "chromium: $(CHROMIUM)"; else \
		apt-get update && apt-get install -y --no-install-recommends chromium; fi

PYTEST = $(PYTHON) -m pytest -m "not slow" $(PYTEST_ARGS)
# exit status 5 ("no tests collected") is a failure: a suite that runs nothing must not pass
RUN_PYTEST = status=0; $(PYTEST) || status=$$?; \
	if [ $$status -eq 5 ]; then echo "make test: pytest collected no tests" >&2; fi

lint:
	$(PYTHON) -m ruff check .

typecheck:
	$(PYTHON) -m mypy

hadolint:
	"$(SCRIPTS)/hadolint" Dockerfile

check: lint typecheck hadolint

pytest:
	@$(RUN_PYTEST); exit $$status

# Every check runs even when an earlier one fails (one report of everything that is wrong); one
# pytest run covers the default suite, browser tests included, slow tests excluded.
test: install-test chromium
	@failed=""; \
	echo "+ ruff check ."; $(PYTHON) -m ruff check . || failed="$$failed ruff"; \
	echo "+ mypy"; $(PYTHON) -m mypy || failed="$$failed mypy"; \
	echo "+ hadolint Dockerfile"; "$(SCRIPTS)/hadolint" Dockerfile || failed="$$failed hadolint"; \
	echo "+ pytest -m \"not slow\" $(PYTEST_ARGS)"; $(RUN_PYTEST); \
	[ $$status -eq 0 ] || failed="$$failed pytest"; \
	if [ -n "$$failed" ]; then echo "make test: FAILED:$$failed" >&2; exit 1; fi; \
	echo "make test: ruff, mypy, hadolint and pytest all passed"

run: install
	"$(SCRIPTS)/zonescope" serve --host $(HOST) --port $(PORT)

bench: install
	@for b in bench/*.py; do echo "== $$b"; $(PYTHON) "$$b"; done
