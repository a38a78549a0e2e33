# The two commands: `make run` and `make test`. Everything they need is set up from here, on a fresh
# Debian machine with Python 3.11 and nothing else.
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
REDIS_URL ?= redis://127.0.0.1:6379/0
export REDIS_URL

# `serve` is the production command on an installed console (see README, Deploying).
.PHONY: run serve test pytest lint typecheck bench system-redis system-chromium clean

$(PY):
	$(PYTHON) -m venv $(VENV) || python3 -m venv $(VENV)

$(VENV)/.runtime: requirements.txt | $(PY)
	$(PY) -m pip install -q --disable-pip-version-check -r requirements.txt
	touch $@

# The demo deployment's packages (`langgraph dev`): make run and the suite start it, the console
# never imports them, and a production install (Dockerfile) leaves them out.
$(VENV)/.demo: requirements.txt requirements-demo.txt $(VENV)/.runtime
	$(PY) -m pip install -q --disable-pip-version-check -r requirements-demo.txt
	touch $@

$(VENV)/.dev: requirements.txt requirements-dev.txt $(VENV)/.demo
	$(PY) -m pip install -q --disable-pip-version-check -r requirements-dev.txt
	touch $@

# A private Redis is started when none answers; its binary comes from Debian's redis-server package.
system-redis:
	@command -v redis-server >/dev/null || $(PY) -c "import redis,os; redis.Redis.from_url(os.environ['REDIS_URL'], socket_connect_timeout=1).ping()" 2>/dev/null \
	  || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null)

# Browser journeys drive Debian's chromium; nothing downloads a browser of its own.
system-chromium:
	@command -v chromium >/dev/null || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null)

run: $(VENV)/.demo system-redis
	$(PY) -m dashboard.launcher run

serve: $(VENV)/.runtime
	$(PY) -m dashboard.launcher serve

test: $(VENV)/.dev system-redis system-chromium lint typecheck pytest

pytest: $(VENV)/.dev
	$(PY) -m dashboard.launcher test $(PYTEST_ARGS)

lint: $(VENV)/.dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports

typecheck: $(VENV)/.dev
	$(VENV)/bin/mypy .

bench: $(VENV)/.dev system-redis
	$(PY) -m bench

clean:
	rm -rf var/ .mypy_cache .ruff_cache .pytest_cache
