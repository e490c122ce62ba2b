# Pinpoint: two commands for a new user (`make run`, `make test`); the rest for developers.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
SYSTEM_PACKAGES := chromium fonts-noto-color-emoji unicode-data postgresql redis-server systemd curl
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: run test lint bench serve serve-ray models system-deps clean-venv docs-outputs

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.runtime: requirements.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.dev: requirements.txt requirements-dev.txt requirements-train.txt requirements-ray.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements-dev.txt -r requirements-train.txt -r requirements-ray.txt
	touch $@ $(VENV)/.runtime

## run: install the pinned requirements and open the app on http://localhost:8501 (this machine only;
##      with login configured, `make run APP_ADDRESS=0.0.0.0` opens it to others: docs/app.md)
APP_ADDRESS ?= 127.0.0.1
run: $(VENV)/.runtime
	$(BIN)/streamlit run app.py --server.port 8501 --server.address $(APP_ADDRESS)

## serve: the REST API on http://127.0.0.1:8000 (docs at /docs; keys and limits: docs/service.md)
serve: $(VENV)/.runtime
	$(BIN)/python -m predictor serve

## serve-ray: the same API on Ray Serve (replicas and batching: deploy/ray_serve.toml; docs/deployment.md)
$(VENV)/.ray: requirements.txt requirements-ray.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements-ray.txt
	touch $@ $(VENV)/.runtime

serve-ray: $(VENV)/.ray
	$(BIN)/python -m predictor serve --engine ray

## test: install what the tests need (Python packages, Chromium, the emoji font, PostgreSQL, systemd-analyze, curl) and run them
test: $(VENV)/.dev system-deps
	$(BIN)/python -m pytest

## bench: where the time of a prediction goes, on this machine (prints a table)
bench: $(VENV)/.runtime
	$(BIN)/python -m predictor bench

## system-deps: the Debian packages the tests and `make models` use
system-deps:
	@missing=""; for p in $(SYSTEM_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
		echo "installing Debian packages:$$missing"; \
		$(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $$missing; \
	fi

## models: rebuild the served versions, color 3.1.0 and theme 3.3.0: heads on the frozen photo
##      backbones in models/backbone/ (fixed seeds; about 2 and 8 min here on 2026-12-03). The backbone itself:
##      `python -m training.backbone` (from the npm package nsfwjs 4.4.0); older versions:
##      `python -m training all --version 2.0.0` (26 min for color 2.0.0)
MODEL_PACKAGES := fonts-noto-color-emoji unicode-data
$(VENV)/.train: requirements.txt requirements-train.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements-train.txt
	touch $@ $(VENV)/.runtime

models: $(VENV)/.train
	@missing=""; for p in $(MODEL_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
		echo "installing Debian packages:$$missing"; \
		$(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $$missing; \
	fi
	$(BIN)/python -m training.heads all

## docs-outputs: run every command whose output README.md and docs/ show, and rewrite those
##      blocks (`python -m docs.outputs --check` only reports drift; tests/test_doc_outputs.py)
docs-outputs: $(VENV)/.runtime system-deps
	$(BIN)/python -m docs.outputs --write

## lint: ruff and mypy
lint: $(VENV)/.dev
	$(BIN)/ruff check predictor bench tests training app.py pages ui photos docs
	$(BIN)/mypy

clean-venv:
	rm -rf $(VENV)
