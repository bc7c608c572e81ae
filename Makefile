# The two commands of a fresh clone:
#   make demo   install the kit and the explorer (.[cpu,demo]) into .venv and open the explorer
#   make test   install the test dependencies too and run the whole test suite
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
PIP := $(BIN)/python -m pip install --quiet --disable-pip-version-check

.PHONY: demo test colab-check install install-test system-packages
demo: install
	$(BIN)/python -m demo

test: install-test
	$(BIN)/python -m pytest -q

# The slow, faithful form of tests/packaging/test_colab_like.py: every Colab-like
# environment is built from scratch and pip installs from the package index.
colab-check: install-test
	EXERCISE_LOGIC_COLAB_FAITHFUL=1 $(BIN)/python -m pytest -q tests/packaging/test_colab_like.py

install: $(VENV)/.installed
install-test: $(VENV)/.installed-test system-packages

# Dependencies come from pyproject.toml's extras (see requirements*.txt):
# make demo installs .[cpu,demo], make test .[cpu,demo,grader,test].
$(VENV)/.installed: pyproject.toml requirements.txt requirements-medmnist.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(PIP) --upgrade pip
	$(PIP) -r requirements.txt
	# medmnist's own requirements pull in PyTorch: only its metadata is used
	$(PIP) --no-deps -r requirements-medmnist.txt
	touch $@

$(VENV)/.installed-test: $(VENV)/.installed requirements-test.txt
	$(PIP) -r requirements-test.txt
	touch $@

# System packages of the tests: Debian's Chromium for the browser tests (Playwright's
# own browser download needs the internet), bubblewrap, which sandboxes student
# code during grading, and nginx, the reverse proxy of the lab-server test (run from
# the test's own folder, never as a service). Installed with apt-get where it exists
# (CI runs as root).
SYSTEM_PACKAGES := chromium:chromium bwrap:bubblewrap nginx:nginx php:php-cli
system-packages:
	@missing=""; for pair in $(SYSTEM_PACKAGES); do \
	  command -v $${pair%%:*} >/dev/null || missing="$$missing $${pair#*:}"; done; \
	if [ -n "$$missing" ]; then \
	  sudo=""; [ "$$(id -u)" = 0 ] || sudo="sudo"; \
	  if command -v apt-get >/dev/null && { [ -z "$$sudo" ] || command -v sudo >/dev/null; }; then \
	    $$sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y -qq $$missing >/dev/null; \
	  else echo "note: please install$$missing (their tests will be skipped)"; fi; \
	fi
