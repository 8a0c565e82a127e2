# guided-player: `make demo` and `make test` each do all the set-up they need, idempotently.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# What running needs (the natural voice and its runtime), and on top of it what testing needs.
RUN_STAMP := $(VENV)/.installed-run
TEST_STAMP := $(VENV)/.installed-test
OS_PACKAGES := espeak-ng ffmpeg
# Testing also drives the web page in a real browser: Debian's chromium (Playwright downloads none).
setup-test: OS_PACKAGES += chromium

.PHONY: demo test check lint bench os-deps setup setup-test clean

setup: os-deps $(RUN_STAMP)
setup-test: os-deps $(TEST_STAMP)

# Programs the project needs from the OS: installed with apt-get when missing and we can
# (root, or sudo); otherwise stop with the exact command to run.
os-deps:
	@missing=""; \
	for program in $(OS_PACKAGES); do command -v $$program >/dev/null || missing="$$missing $$program"; done; \
	$(PYTHON) -c "import ensurepip, venv" 2>/dev/null || missing="$$missing python3-venv"; \
	if [ -n "$$missing" ]; then \
	  if ! command -v apt-get >/dev/null; then \
	    echo "Missing:$$missing. Install them with your package manager (see README: other systems)." >&2; exit 1; \
	  elif [ "$$(id -u)" = 0 ]; then sudo=""; \
	  elif command -v sudo >/dev/null; then sudo="sudo"; \
	  else echo "Missing:$$missing. Run as root: apt-get update && apt-get install -y$$missing" >&2; exit 1; fi; \
	  echo "Installing$$missing with apt-get..."; \
	  $$sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y -qq$$missing >/dev/null \
	    || { echo "Could not install$$missing. Run: sudo apt-get update && sudo apt-get install -y$$missing" >&2; exit 1; }; \
	fi

$(RUN_STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[natural,voice,web]'
	touch $@

$(TEST_STAMP): $(RUN_STAMP)
	$(BIN)/python -m pip install -q -e '.[natural,voice,web,test]'
	touch $@

# Render and export the shortest bundled session, then play it if there is a sound device.
demo: setup
	@session=$$($(BIN)/guided list --json | $(BIN)/python -c \
	  "import json, sys; print(min(json.load(sys.stdin), key=lambda s: s['minutes'])['id'])"); \
	$(BIN)/guided render $$session && \
	mkdir -p exports && $(BIN)/guided export $$session -o exports/$$session.wav && \
	{ $(BIN)/guided play $$session 2>exports/.play-errors; status=$$?; \
	  if grep -q "no audio device" exports/.play-errors; then status=0; \
	    echo "There is no sound device here, so nothing was played: the session is in exports/$$session.wav, for any player."; \
	  else cat exports/.play-errors >&2; fi; rm -f exports/.play-errors; exit $$status; }

lint: setup-test
	$(BIN)/ruff check player tests bench

# The fast loop while editing: lint, and every test but the real-time and real-engine ones.
check: lint
	$(BIN)/python -m pytest -q -m "not slow and not espeak"

# The whole suite (what CI runs): lint, then every test.
test: lint
	$(BIN)/python -m pytest

bench: setup-test
	$(BIN)/python bench/run.py

clean:
	rm -rf $(VENV) exports .pytest_cache
