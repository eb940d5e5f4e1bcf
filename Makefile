# Jiefang: `make run` serves the demo neighbourhood, `make test` runs every check.
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8000
WORKERS ?= 1
# Test processes (pytest-xdist): one per core, at most 8 (each takes a Redis database of its own).
TEST_WORKERS ?= $(shell n=$$(nproc 2>/dev/null || echo 1); [ $$n -gt 8 ] && n=8; echo $$n)

.PHONY: run test lint bench venv messages demo chromium

$(PY):
	$(PYTHON) -m venv $(VENV) || python3 -m venv $(VENV)

$(STAMP): requirements.txt | $(PY)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	touch $(STAMP)

venv: $(STAMP)

run: $(STAMP)
	$(PY) manage.py migrate --noinput
	$(PY) manage.py seed_demo --if-empty
	$(PY) manage.py collectstatic --noinput --verbosity 0
	@echo "Jiefang is on http://$(HOST):$(PORT)/ (Ctrl-C stops it)"
	$(VENV)/bin/uvicorn neighborhood.asgi:application --host $(HOST) --port $(PORT) --workers $(WORKERS) --lifespan off

# Browser tests drive Debian's Chromium; install it when it is missing (needs root, as on CI).
chromium:
	@command -v chromium >/dev/null 2>&1 || { \
	  echo "Installing Debian's chromium for the browser tests"; \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-noto-cjk >/dev/null) \
	  || { echo "Could not install chromium (try: sudo apt-get install chromium)"; exit 1; }; }

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(PY) manage.py makemigrations --check --dry-run --noinput

test: $(STAMP) chromium lint
	$(VENV)/bin/pytest -n $(TEST_WORKERS) --dist loadfile $(PYTEST_ARGS)

messages: $(STAMP)
	$(PY) manage.py makemessages -l zh_Hans --no-obsolete -i .venv -i staticfiles -i bench -i tests -i var
	$(PY) manage.py compilemessages -i .venv

# Every bench/*.py in turn (each caches its synthetic data under var/bench/; see bench/README.md).
# With DATABASE_URL set they run on PostgreSQL too, in databases of their own. BENCH_ARGS passes options.
bench: $(STAMP)
	@status=0; for script in bench/*.py; do echo "== $$script"; $(PY) $$script $(BENCH_ARGS) || status=1; done; \
	  [ $$status -eq 0 ] || echo "Some benchmarks missed their goals or failed (see above)"; exit $$status

demo: $(STAMP)
	$(PY) manage.py seed_demo
