# dossiergen — the front door. `make help` lists the targets.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
MARKET ?= eu
STAGE ?=
DOSSIER ?= dossier
OUT ?= build
STAGE_ARG := $(if $(STAGE),--stage $(STAGE),)

.DEFAULT_GOAL := help
.PHONY: help setup dossier validate test bench clean

help: ## Show this help
	@echo "dossiergen — CMC data (YAML) to CTD Module 3 and regional annexes"
	@echo
	@echo "Usage: make <target> [MARKET=neutral|us|eu|uk|cn] [STAGE=ind|marketing] [DOSSIER=dir]"
	@echo
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-10s %s\n", $$1, $$2}'

$(BIN)/dossiergen: pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info[:2] == (3, 11) else "dossiergen needs Python 3.11; found " + sys.version.split()[0])'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -e '.[test]'
	@touch $@

setup: $(BIN)/dossiergen ## Create .venv and install the pinned dependencies

dossier: setup ## Build the dossier for MARKET (default eu) and STAGE
	$(BIN)/dossiergen build --dossier $(DOSSIER) --market $(MARKET) $(STAGE_ARG) --out $(OUT)

validate: setup ## Validate DOSSIER against the schemas and rules
	$(BIN)/dossiergen validate --dossier $(DOSSIER)

test: setup ## Run the test suite
	$(BIN)/python -m pytest -q

clean: ## Remove build output (keeps .venv)
	rm -rf $(OUT) .pytest_cache
