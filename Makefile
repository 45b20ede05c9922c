# Two commands on a fresh machine: `make run` and `make test`. Both are safe to run again.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
PORT ?= 8000
export PORT

.PHONY: run test setup venv services stop lint bench

venv: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -e '.[dev]'
	touch $@

services: venv
	scripts/services.sh start

setup: services
	$(PY) manage.py migrate --noinput
	$(PY) manage.py seed_demo

run: setup
	@echo ""
	@echo "Serving on http://northshire.localhost:$(PORT)/ and http://southvale.localhost:$(PORT)/"
	@echo "Platform admin: http://localhost:$(PORT)/admin/   Ctrl-C stops web, worker and beat."
	$(VENV)/bin/honcho start -f Procfile

test: services
	scripts/ensure-browser.sh
	$(PY) manage.py makemigrations --check --dry-run
	$(VENV)/bin/ruff check .
	$(VENV)/bin/lint-imports
	$(VENV)/bin/pytest -n 2 --dist loadgroup

lint: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/lint-imports
	$(VENV)/bin/ruff format --check .

stop:
	scripts/services.sh stop
