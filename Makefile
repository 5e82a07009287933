# modelrouter developer commands. Every target sets up what it needs in .venv.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
CODE   := $(wildcard layers tests benchmarks functions)

.DEFAULT_GOAL := help
.PHONY: help setup test unit lint format bench demo schema clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-8s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "modelrouter needs Python 3.11 or newer")'
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -qq --upgrade pip
	$(PY) -m pip install -qq -e '.[dev]'
	@touch $@

setup: $(STAMP) ## create .venv with the package and dev tools

lint: $(STAMP) ## ruff (lint + format check) and mypy
	$(PY) -m ruff check $(CODE)
	$(PY) -m ruff format --check $(CODE)
	$(PY) -m mypy

format: $(STAMP) ## apply ruff fixes and formatting
	$(PY) -m ruff check --fix $(CODE)
	$(PY) -m ruff format $(CODE)

test: lint ## lint, type-check and run every test
	$(PY) -m pytest

unit: $(STAMP) ## unit tests only
	$(PY) -m pytest tests/unit

bench: $(STAMP) ## benchmarks, printed as a table
	$(PY) benchmarks/run.py

# request file : tenant (the tenant comes from the API key in production, never from the body)
DEMO_REQUESTS := support-easy:acme-support support-hard:acme-support support-pii:acme-support \
	extract-invoice:lexdoc-eu coding-tool-call:devtools vision:devtools pinned-route:devtools \
	fraud-restricted:fincorp-fraud

demo: $(STAMP) ## route the example requests through the example policy and explain each decision
	$(VENV)/bin/modelrouter policy validate policies/example.yaml
	@for pair in $(DEMO_REQUESTS); do \
		request=$${pair%%:*}; tenant=$${pair##*:}; \
		echo; echo "=== $$request (tenant $$tenant) ==="; \
		$(VENV)/bin/modelrouter route --policy policies/example.yaml --request events/requests/$$request.json \
			--tenant $$tenant --request-id demo-$$request --explain || exit 1; \
	done

schema: $(STAMP) ## regenerate policies/policy.schema.json
	$(VENV)/bin/modelrouter policy schema > policies/policy.schema.json

clean: ## remove the virtualenv and caches
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis
