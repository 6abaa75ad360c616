# The few commands everyone runs. Each target creates .venv and installs what it needs.
# Without Docker: `make run` (the stack on embedded parts) and `make test` (everything CI runs).

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-dev

.PHONY: help install run test lint fmt bench clean-data

help:
	@echo "make run         the stack without Docker: PostgreSQL + migrations + API on 127.0.0.1:8000"
	@echo "make test        lint, type checks and the whole test suite (what CI runs)"
	@echo "make lint        ruff check, ruff format --check, mypy --strict"
	@echo "make fmt         apply ruff fixes and formatting"
	@echo "make bench       throughput and latency figures (bench/)"
	@echo "make clean-data  delete .data/ (the no-Docker database and metrics)"

$(STAMP): requirements-prod.txt requirements-dev.txt
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info[:2] == (3, 11) else "Python 3.11 is required (set PYTHON=...)")'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --disable-pip-version-check -q -r requirements-dev.txt
	touch $@

install: $(STAMP)

run: $(STAMP)
	$(BIN)/python -m devstack

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy app devstack tests bench

test: lint
	$(BIN)/python -m pytest -n auto

fmt: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

bench: $(STAMP)
	$(BIN)/python -m bench.contacts
	$(BIN)/python -m bench.uploads

clean-data:
	rm -rf .data
