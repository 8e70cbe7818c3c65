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
SYSTEM_PACKAGES := libreoffice-writer-nogui fonts-liberation fonts-noto-cjk poppler-utils libxml2-utils
MARKETS ?= all
.PHONY: help setup setup-system dossier dossiers watch validate check gaps render test bench reference clean

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
	@# bytecode for the project's own modules (an editable install has none): where Python may not write
	@# it (PYTHONDONTWRITEBYTECODE, a read-only checkout) every run compiled them again, about 0.15 s
	$(BIN)/python -m compileall -q src >/dev/null
	@touch $@

setup: $(BIN)/dossiergen setup-system ## Create .venv, install pinned dependencies and system packages

setup-system: ## Install LibreOffice, fonts, poppler and xmllint (Debian, as root) or say what is missing
	@missing=$$(for p in $(SYSTEM_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -z "$$missing" ]; then exit 0; fi; \
	if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		echo "installing system packages:" $$missing; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	else \
		echo "note: system packages missing:" $$missing; \
		echo "      install them with: sudo apt-get install" $$missing; \
		echo "      (needed for the LibreOffice check in tests and for fonts in PDFs; DOCX builds work without them)"; \
	fi

dossier: setup ## Build the dossier for MARKET (default eu) and STAGE
	$(BIN)/dossiergen build --dossier $(DOSSIER) --market $(MARKET) $(STAGE_ARG) --out $(OUT)

dossiers: setup ## Build the neutral core and every target market of DOSSIER (or MARKETS), then check them all
	$(BIN)/dossiergen build --dossier $(DOSSIER) $(foreach m,$(MARKETS),--market $(m)) $(STAGE_ARG) --out $(OUT)
	$(BIN)/dossiergen check $(OUT)

gaps: setup ## Readiness matrix: the antibody at marketing and the tablet at IND, across us, eu, uk, cn
	$(BIN)/dossiergen gaps --dossier dossier --stage marketing --out $(OUT)
	$(BIN)/dossiergen gaps --dossier examples/velcratinib-tablets --stage ind --out $(OUT)

validate: setup ## Validate DOSSIER against the schemas and rules
	$(BIN)/dossiergen validate --dossier $(DOSSIER)

check: setup ## Check the built PDFs and eCTD sequences under OUT (FDA, EU, NMPA technical rules)
	$(BIN)/dossiergen check $(OUT)

bench: setup ## Benchmark: antibody example, five markets cold, unchanged, one result changed
	$(BIN)/python bench/bench.py

watch: setup ## Build MARKET (default eu), then build again whenever a file of DOSSIER changes (Ctrl-C stops)
	$(BIN)/dossiergen watch --dossier $(DOSSIER) --market $(MARKET) $(STAGE_ARG) --out $(OUT)

render: setup ## Print the Markdown of documents of SECTION (template authors)
	$(BIN)/dossiergen render --dossier $(DOSSIER) --market $(MARKET) $(STAGE_ARG) --section "$(SECTION)"

reference: setup ## Regenerate templates/module3/reference.docx (review the diff)
	SOURCE_DATE_EPOCH=0 $(BIN)/python -m dossiergen.write.reference

test: setup ## Run the test suite
	$(BIN)/python -m pytest -q

clean: ## Remove build output (keeps .venv)
	rm -rf $(OUT) .pytest_cache
