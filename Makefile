# The two commands a newcomer needs:
#   make run   - install, create the SQLite database, load demo data, start the portal
#   make test  - install, run the tests on SQLite and on a throwaway PostgreSQL
PYTHON ?= python3
VENV   ?= .venv
PY      = $(VENV)/bin/python
FLASK   = $(VENV)/bin/flask --app wsgi
HOST   ?= 127.0.0.1
PORT   ?= 5000

.PHONY: run test install install-test system-deps bench clean

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

install: $(VENV)/bin/python
	$(PY) -m pip install --quiet -e .

install-test: $(VENV)/bin/python
	$(PY) -m pip install --quiet -e ".[test]"

# PostgreSQL 15 and Chromium for the tests (Debian packages); needs root, skipped when present.
SYSTEM_PACKAGES = $(if $(shell command -v initdb || ls /usr/lib/postgresql/15/bin/initdb 2>/dev/null),,postgresql-15) \
                  $(if $(wildcard /usr/bin/chromium),,chromium)
system-deps:
	@if [ -n "$(strip $(SYSTEM_PACKAGES))" ]; then \
	  if [ "$$(id -u)" = 0 ]; then echo "installing $(strip $(SYSTEM_PACKAGES))"; apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(SYSTEM_PACKAGES) >/dev/null; \
	  else echo "the tests need: sudo apt-get install $(strip $(SYSTEM_PACKAGES))" >&2; exit 1; fi; fi

run: install
	$(FLASK) db upgrade
	$(FLASK) demo
	@echo "Portal: http://$(HOST):$(PORT)/  (sign in as demo@example.com / demo-password)"
	$(FLASK) run --host $(HOST) --port $(PORT)

test: install-test system-deps
	@bash .ci/test-both-databases $(PY)

bench: install
	$(PY) -m bench.detector

clean:
	rm -rf $(VENV) instance .pytest_cache .hypothesis
