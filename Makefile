# The two commands of a fresh clone:
#   make demo   install everything into .venv and open the Grad-CAM explorer
#   make test   install the test dependencies too and run the whole test suite
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
PIP := $(BIN)/python -m pip install --quiet --disable-pip-version-check

.PHONY: demo test install install-test browser
demo: install
	$(BIN)/python -m demo

test: install-test
	$(BIN)/python -m pytest -q

install: $(VENV)/.installed
install-test: $(VENV)/.installed-test browser

$(VENV)/.installed: requirements.txt requirements-medmnist.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(PIP) --upgrade pip
	$(PIP) -r requirements.txt
	# medmnist's own requirements pull in PyTorch: only its metadata is used
	$(PIP) --no-deps -r requirements-medmnist.txt
	$(PIP) --no-deps -e .
	touch $@

$(VENV)/.installed-test: $(VENV)/.installed requirements-test.txt
	$(PIP) -r requirements-test.txt
	touch $@

# Browser tests drive Debian's Chromium (Playwright's own download needs the internet).
browser:
	@command -v chromium >/dev/null || ! command -v apt-get >/dev/null || \
	  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }
	@command -v chromium >/dev/null || echo "note: no chromium found: the browser tests will be skipped"

