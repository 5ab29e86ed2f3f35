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

# PostgreSQL 15 for the tests (Debian package names); needs root, skipped when present.
system-deps:
	@command -v initdb >/dev/null 2>&1 || [ -x /usr/lib/postgresql/15/bin/initdb ] || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql-15 >/dev/null; \
	  else echo "PostgreSQL 15 is needed for the tests: sudo apt-get install postgresql-15" >&2; exit 1; fi; }

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
