VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: help install lint browser java test demo bench clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-10s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test,dashboard]'
	touch $(STAMP)

install: $(STAMP) ## create .venv and install the package (editable) with test extras

lint: $(STAMP) ## ruff format --check, ruff check, mypy --strict etl
	$(VENV)/bin/ruff format --check etl tests
	$(VENV)/bin/ruff check etl tests
	$(VENV)/bin/mypy etl

browser: ## install the OS's chromium and chromedriver (the dashboard's browser test) if missing
	@command -v chromium >/dev/null && command -v chromedriver >/dev/null || \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver)

java: ## install the OS's Java 17 runtime (Spark reads the lake in a test) if missing
	@command -v java >/dev/null || \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq openjdk-17-jre-headless)

test: lint browser java ## lint, then run the whole test suite
	$(VENV)/bin/pytest -q

bench: $(STAMP) ## the benchmark (about 9 minutes here, plus install): every target with its figure
	$(PY) -m pip install --quiet -e '.[test,bench]'
	$(PY) -m tests.bench.bench

demo: $(STAMP) ## start the local SWR API, sync twice (a day apart), print the report
	$(VENV)/bin/swr-etl demo --dir ./swr-demo

clean: ## remove the venv and demo output
	rm -rf $(VENV) swr-demo .pytest_cache .mypy_cache .ruff_cache
