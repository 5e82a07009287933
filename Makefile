# modelrouter developer commands. Every target sets up what it needs in .venv.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
CODE   := $(wildcard layers tests benchmarks functions)
# make serve PORT=9000 MODELS_PORT=9001 DEV_KEYS=1: the router API and model server ports; DEV_KEYS=1
# gives keys derived from the tenant names (the same on every start).
PORT        ?= 8080
MODELS_PORT ?= 8081
DEV_KEYS    ?=
# make test TEST_WORKERS=0: pytest in this one process. Two workers by default: the suite spends about
# half its time waiting on servers, subprocesses and sleeps, so two finish it in 60 % of the time even
# on two cores. Each test file runs whole in one worker (--dist loadfile): module fixtures are built once.
TEST_WORKERS ?= 2
# Measured on a fresh venv (python -m venv, then this rule's two pip installs) on a 2-core machine.
INSTALL_TIME := about 50 s
ifneq ($(filter demo,$(MAKECMDGOALS)),)
DEMO_START := $(shell date +%s)
endif

# SAM CLI lives in its own virtualenv: it pins its own pydantic, boto3 and friends. The stamp names the
# version, so changing SAM_CLI_VERSION reinstalls. SAM_ENV: no telemetry, a region for cfn-lint, and
# .venv-sam/bin first on PATH so the CoreLayer's Makefile runs that venv's (recent) pip.
SAM_CLI_VERSION ?= 1.170.0
SAM_VENV  ?= .venv-sam
SAM       := $(SAM_VENV)/bin/sam
SAM_STAMP := $(SAM_VENV)/.installed-$(SAM_CLI_VERSION)
SAM_ENV   := SAM_CLI_TELEMETRY=0 AWS_DEFAULT_REGION=us-east-1 PATH="$(abspath $(SAM_VENV))/bin:$$PATH"

.DEFAULT_GOAL := help
.PHONY: help setup test test-browser unit lint format bench chaos demo serve schema local-router topics sam-validate sam-build clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-13s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "modelrouter needs Python 3.11 or newer")'
	@echo "Installing modelrouter and its dev and learn tools into $(VENV) (first run only; usually $(INSTALL_TIME))…"
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -qq --upgrade pip
	$(PY) -m pip install -qq -e '.[dev,learn]'
	@touch $@

setup: $(STAMP) ## create .venv with the package and dev tools

lint: $(STAMP) ## ruff (lint + format check) and mypy
	$(PY) -m ruff check $(CODE)
	$(PY) -m ruff format --check $(CODE)
	$(PY) -m mypy

format: $(STAMP) ## apply ruff fixes and formatting
	$(PY) -m ruff check --fix $(CODE)
	$(PY) -m ruff format $(CODE)

$(SAM_STAMP):
	$(PYTHON) -m venv $(SAM_VENV)
	$(SAM_VENV)/bin/python -m pip install -qq --upgrade pip
	$(SAM_VENV)/bin/python -m pip install -qq 'aws-sam-cli==$(SAM_CLI_VERSION)'
	@touch $@

sam-validate: $(SAM_STAMP) ## sam validate --lint (SAM transform + cfn-lint) of template.yaml
	$(SAM_ENV) $(SAM) validate --lint --template template.yaml

sam-build: $(SAM_STAMP) ## sam build into .aws-sam/build (no Docker: arm64 wheels come from PyPI)
	$(SAM_ENV) $(SAM) build --template template.yaml

test: lint sam-validate ## lint, type-check, sam validate and run every test
	$(PY) -m pytest -n $(TEST_WORKERS) --dist loadfile

unit: $(STAMP) ## unit tests only
	$(PY) -m pytest tests/unit

# The local console's test in a real headless browser: Debian's chromium, installed when missing (CI runs as
# root; without root the test skips and says why). The screenshot it saves is committed for people to see.
CONSOLE_SCREENSHOT ?= docs/console.png

test-browser: $(STAMP) ## the local console in headless Chromium (apt-get installs chromium when missing)
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "Installing Debian's chromium for the browser test (apt-get, first run only)…"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  else \
	    echo "chromium is missing and installing it needs root (apt-get install chromium): the test will skip."; \
	  fi; }
	CONSOLE_SCREENSHOT=$(CONSOLE_SCREENSHOT) $(PY) -m pytest -m browser tests/browser -rs

bench: $(STAMP) ## benchmarks, printed as a table
	$(PY) benchmarks/run.py

eval: $(STAMP) ## learned routing quality: 5-fold CV on ../shared/eval-data, a table and PNGs in benchmarks/out
	$(PY) benchmarks/routing_quality.py

chaos: $(STAMP) ## serve under random faults and hostile bodies, 2,000 requests; prints the figures (not in test)
	$(PY) benchmarks/chaos.py

demo: $(STAMP) ## the router end to end on this machine: embedded AWS, simulated models, the openai package
	$(VENV)/bin/modelrouter demo
	@echo "make demo took $$(( $$(date +%s) - $(DEMO_START) )) s in all."

serve: $(STAMP) ## the router on http://127.0.0.1:8080/api/v1 until Ctrl-C (PORT=…, MODELS_PORT=…, DEV_KEYS=1)
	$(VENV)/bin/modelrouter serve --port $(PORT) --models-port $(MODELS_PORT)$(if $(filter 1 yes true,$(DEV_KEYS)), --dev-keys)

local-router: $(STAMP) ## outcomes of the simulated models and the learned router fitted on them (policies/routers/)
	$(PY) benchmarks/local_outcomes.py

topics: $(STAMP) ## refit the topic classifier on policies/topics/ (policies/routers/support-topics.json) and repin it
	$(PY) benchmarks/fit_topics.py

schema: $(STAMP) ## regenerate policies/policy.schema.json and docs/policy-reference.md
	$(VENV)/bin/modelrouter policy schema > policies/policy.schema.json
	$(VENV)/bin/modelrouter policy reference > docs/policy-reference.md

clean: ## remove the virtualenvs, caches and SAM builds
	rm -rf $(VENV) $(SAM_VENV) .aws-sam .pytest_cache .mypy_cache .ruff_cache .hypothesis
