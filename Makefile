# Two commands on a fresh machine: `make run` and `make test`. Both are safe to run again.
# `make dev` is `make run` with runserver's autoreload and DEBUG on; `make backup` dumps the local database.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
PORT ?= 8000
export PORT

.PHONY: run dev test setup venv services stop lint bench backup

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

# Served the way production serves: gunicorn and WhiteNoise with DEBUG off, so errors get the real error
# pages and static files come hashed and compressed from STATIC_ROOT, as collectstatic leaves them. The
# settings are still the development ones (this checkout's secret, no TLS, the demo app, mail and texts kept
# in .local/mail/ by the mail catcher and the recording Twilio fake).
run: export DJANGO_SETTINGS_MODULE = config.settings.dev
run: export DEBUG = false
run: export SMS_SPOOL_DIR = $(CURDIR)/.local/mail/sms
run: setup
	$(PY) manage.py collectstatic --noinput --verbosity 0
	$(PY) manage.py seed_demo --i-know-this-is-not-production
	@echo ""
	@echo "Serving (gunicorn, DEBUG off) on http://northshire.localhost:$(PORT)/ and http://southvale.localhost:$(PORT)/"
	@echo "Platform admin: http://localhost:$(PORT)/admin/   Ctrl-C stops web, worker, beat and mail."
	@echo "Emails sent: .local/mail/*.eml   Texts sent: .local/mail/sms/*.json"
	$(VENV)/bin/honcho start -f Procfile

dev: export DJANGO_SETTINGS_MODULE = config.settings.dev
dev: export DEBUG = true
dev: export SMS_SPOOL_DIR = $(CURDIR)/.local/mail/sms
dev: setup
	$(PY) manage.py seed_demo
	@echo ""
	@echo "Serving (runserver, DEBUG on, autoreload) on http://northshire.localhost:$(PORT)/"
	@echo "Platform admin: http://localhost:$(PORT)/admin/   Ctrl-C stops web, worker, beat and mail."
	@echo "Emails sent: .local/mail/*.eml   Texts sent: .local/mail/sms/*.json"
	$(VENV)/bin/honcho start -f Procfile.dev

# A pg_dump (custom format) of the database (the local one, or DATABASE_URL's) in .local/backups/.
backup: services
	$(PY) scripts/backup.py

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
