# Two commands on a fresh Debian machine: `make run` (install + start the web app) and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
HOST   ?= 127.0.0.1
PORT   ?= 8000
# Debian packages the product needs at run time (Tesseract OCR backend), and for tests: the fonts the
# synthetic plate renderer draws with, PostgreSQL (the storage tests start their own server) and
# Chromium (the browser tests drive Debian's build, never a downloaded one).
APT_RUN  := tesseract-ocr
APT_TEST := $(APT_RUN) postgresql chromium $(shell cat src/numberplate/train/synth/FONTS.txt)

.PHONY: run test install install-test system-deps system-deps-test lint clean

run: install
	$(BIN)/numberplate serve --host $(HOST) --port $(PORT)

test: install-test
	$(BIN)/ruff check src tests bench
	$(BIN)/mypy
	$(BIN)/pytest

install: $(VENV)/.installed-run
install-test: $(VENV)/.installed-test

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed-run: pyproject.toml | $(BIN)/python system-deps
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python system-deps-test
	$(BIN)/pip install --quiet -e '.[train,test]'
	touch $(VENV)/.installed-run $@

# Installs missing Debian packages only (needs root or sudo, as on the CI machine).
system-deps:
	@scripts/apt-install.sh $(APT_RUN)

system-deps-test:
	@scripts/apt-install.sh $(APT_TEST)

clean:
	rm -rf $(VENV) build dist src/*.egg-info .pytest_cache .mypy_cache .ruff_cache
