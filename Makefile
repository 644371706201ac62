# geo_ms — run `make help` for the targets.
# GEO_MS_DATA_MIRROR is never defaulted here: set it to use a local mirror.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export MPLBACKEND ?= Agg

.DEFAULT_GOAL := help

.PHONY: help analysis test bench notebooks lint clean venv

help: ## Show this help
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  \033[36m%-12s\033[0m %s\n", $$1, $$2}' $(MAKEFILE_LIST)

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test,notebooks]'
	@touch $(STAMP)

venv: $(STAMP) ## Create .venv and install geo_ms with its test tools

analysis: $(STAMP) ## Run the whole analysis: data → exposures → models → report, with the notebooks as HTML (reports/latest/)
	$(BIN)/geo-ms run --notebooks notebooks $(ARGS)

test: $(STAMP) ## Run the test suite (mirror tests skip unless GEO_MS_DATA_MIRROR is set)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

bench: $(STAMP) ## Benchmarks vs exactextract at its best (needs GEO_MS_DATA_MIRROR; ~10 min on a quiet 2-core machine; inputs cached in benchmarks/.cache)
	$(BIN)/python -m benchmarks.run

notebooks: $(STAMP) ## Execute the notebooks in notebooks/ in place
	$(BIN)/python -m pytest --nbmake notebooks -p no:socket --override-ini addopts=

lint: $(STAMP) ## Lint with ruff
	$(BIN)/ruff check geo_ms tests

clean: ## Remove caches and generated outputs (keeps downloaded data and .venv)
	rm -rf data/processed/* reports/ .pytest_cache build *.egg-info benchmarks/.cache
	@git checkout -- data/processed/README.md 2>/dev/null || true
