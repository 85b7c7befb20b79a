# segdemo: two commands do all set-up on a fresh machine.
#   make run   create .venv, install, serve at http://127.0.0.1:7860
#   make test  create .venv, install test extras (+ Debian chromium and a CJK font when root), lint, run every test
#   make test-fast   lint + the tests that need neither a browser nor the served app (under 90 s)
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python

export NO_ALBUMENTATIONS_UPDATE := 1
export GRADIO_ANALYTICS_ENABLED := False
export MPLBACKEND := Agg
GRADIO_SERVER_NAME ?= 127.0.0.1
GRADIO_SERVER_PORT ?= 7860
export GRADIO_SERVER_NAME GRADIO_SERVER_PORT

# Installs are skipped when a stamp for the current requirement files exists.
HASH_RUN := $(shell cat requirements.txt | sha256sum | cut -c1-16)
HASH_DEV := $(shell cat requirements.txt requirements-dev.txt | sha256sum | cut -c1-16)
STAMP_RUN := $(VENV)/.installed-run-$(HASH_RUN)
STAMP_DEV := $(VENV)/.installed-dev-$(HASH_DEV)

.PHONY: run test test-fast lint pytest bench loadtest install install-dev system-deps clean

run: $(STAMP_RUN)
	$(PY) app.py

test: $(STAMP_DEV) system-deps lint pytest

test-fast: $(STAMP_DEV) lint
	$(PY) -m pytest -m "not browser and not slow"

lint: $(STAMP_DEV)
	$(VENV)/bin/ruff check .

pytest: $(STAMP_DEV)
	$(PY) -m pytest

# A class of 30 in two scripts: every endpoint (burst and sustained), then 30 trainings at once.
loadtest: $(STAMP_DEV)
	$(PY) -m segdemo.tools.loadtest
	$(PY) -m segdemo.tools.trainload --users 30
	$(PY) -m segdemo.tools.perfdoc

# Every benchmark with its defaults, then docs/PERFORMANCE.md generated from their JSON.
bench: $(STAMP_DEV)
	$(PY) -m segdemo.tools.bench --threads 2 all
	$(PY) -m segdemo.tools.perfdoc

install: $(STAMP_RUN)
install-dev: $(STAMP_DEV)

$(PY):
	$(PYTHON) -m venv $(VENV)

$(STAMP_RUN): | $(PY)
	$(PY) -m pip install -r requirements.txt
	rm -f $(VENV)/.installed-run-*
	touch $@

$(STAMP_DEV): | $(PY)
	$(PY) -m pip install -r requirements-dev.txt
	rm -f $(VENV)/.installed-dev-* $(VENV)/.installed-run-*
	touch $@ $(STAMP_RUN)

# Debian's chromium for the browser tests and a CJK font so Chinese renders (browser and plots).
system-deps:
	@if [ -x /usr/bin/chromium ] && fc-list 2>/dev/null | grep -qiE "wqy|noto sans cjk"; then \
		echo "system-deps: chromium and a CJK font are present"; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-wqy-microhei; \
	else \
		echo "system-deps: chromium or a CJK font is missing and this is not root:"; \
		echo "  browser tests will be skipped (and fail under CI=true)."; \
	fi

clean:
	rm -rf $(VENV) test-output bench-output .pytest_cache .ruff_cache
