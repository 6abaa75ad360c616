# The few commands everyone runs. Each target creates .venv and installs what it needs.
# Without Docker: `make run` (the stack on embedded parts) and `make test` (everything CI runs).

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-dev
# checkov pins its own dependencies (boto3, pydantic, ...): it gets a virtualenv of its own.
CHECKOV_VERSION := 3.3.30
CHECKOV := .venv-tools/checkov/bin/checkov
COMPOSE := docker compose
COMPOSE_DEV := $(COMPOSE) -f compose.yaml -f compose.dev.yaml
COMPOSE_PROD := $(COMPOSE) -f compose.yaml -f compose.prod.yaml

.PHONY: help install tools run test lint fmt bench screenshots clean-data up up-prod down logs ps config

help:
	@echo "make run         the stack without Docker: PostgreSQL + migrations + API on 127.0.0.1:8000"
	@echo "make test        lint, type checks and the whole test suite (what CI runs)"
	@echo "make lint        ruff check, ruff format --check, mypy --strict"
	@echo "make fmt         apply ruff fixes and formatting, and re-fingerprint website assets"
	@echo "make bench       throughput and latency figures (bench/)"
	@echo "make screenshots refresh docs/screenshots/ (the website in Chromium, desktop and phone)"
	@echo "make clean-data  delete .data/ (the no-Docker database, objects and metrics)"
	@echo "make up          the whole stack in Docker (compose.yaml + compose.dev.yaml)"
	@echo "make up-prod     hardened, detached (compose.yaml + compose.prod.yaml)"
	@echo "make down        stop the stack (volumes kept; 'make down V=1' deletes them)"
	@echo "make logs / ps / config   follow logs, list services, print the merged config"

$(STAMP): requirements-prod.txt requirements-dev.txt
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info[:2] == (3, 11) else "Python 3.11 is required (set PYTHON=...)")'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --disable-pip-version-check -q -r requirements-dev.txt
	touch $@

install: $(STAMP)

$(CHECKOV):
	$(PYTHON) -m venv .venv-tools/checkov
	.venv-tools/checkov/bin/python -m pip install --disable-pip-version-check -q checkov==$(CHECKOV_VERSION)

tools: $(CHECKOV)

run: $(STAMP)
	$(BIN)/python -m devstack

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy app devstack tests bench scripts
	$(BIN)/python scripts/fingerprint.py --check

test: lint tools
	$(BIN)/python -m pytest -n auto

fmt: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .
	$(BIN)/python scripts/fingerprint.py

bench: $(STAMP)
	$(BIN)/python -m bench.contacts
	$(BIN)/python -m bench.uploads

screenshots: $(STAMP)
	UPDATE_SCREENSHOTS=1 $(BIN)/python -m pytest tests/website/test_pages.py -k screenshots

clean-data:
	rm -rf .data

# Compose reads its secrets from .env: the first `make up` starts from the example's dev values.
.env:
	cp .env.example .env

up: .env
	$(COMPOSE_DEV) up --build

up-prod: .env
	$(COMPOSE_PROD) up --build --detach

down:
	$(COMPOSE_DEV) down $(if $(V),--volumes,)

logs:
	$(COMPOSE_DEV) logs --follow --tail=100

ps:
	$(COMPOSE_DEV) ps

config:
	$(COMPOSE_DEV) config
