VENV ?= .venv
PY := $(VENV)/bin/python
# The demo needs the runtime and the dashboard extra; the tests add their tools on top.
RUNTIME := $(VENV)/.installed-runtime
TOOLS := $(VENV)/.installed-test
# The documentation site's tools (MkDocs, Material), on top of the runtime.
DOCS := $(VENV)/.installed-docs
# Test processes (pytest-xdist): one per core (`auto`); `make test WORKERS=0` runs in one process.
# A module's tests run in one worker (loadscope), so a module's shared history is built once.
WORKERS ?= auto
PYTEST := $(VENV)/bin/pytest -q -n $(WORKERS) --dist loadscope
# apt-get as root, or through sudo when it asks no password; otherwise say what to install.
APT := $(shell if [ "$$(id -u)" = 0 ]; then echo apt-get; elif sudo -n true 2>/dev/null; then echo "sudo apt-get"; fi)

.PHONY: help install lint browser java systemd promtool versions test test-fast demo bench docs docs-build clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-10s %s\n", $$1, $$2}'

$(RUNTIME): pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dashboard]'
	touch $(RUNTIME)

$(TOOLS): $(RUNTIME)
	$(PY) -m pip install --quiet -e '.[test,dashboard,docs]'
	touch $(TOOLS) $(DOCS)

$(DOCS): $(RUNTIME)
	$(PY) -m pip install --quiet -e '.[dashboard,docs]'
	touch $(DOCS)

install: $(TOOLS) ## create .venv and install the package (editable) with the test tools

lint: $(TOOLS) ## ruff format --check, ruff check, mypy --strict etl
	$(VENV)/bin/ruff format --check etl tests
	$(VENV)/bin/ruff check etl tests
	$(VENV)/bin/mypy etl

browser: ## the OS's chromium and chromedriver (the dashboard's browser test), if missing
	@command -v chromium >/dev/null && command -v chromedriver >/dev/null || \
	if [ -n "$(APT)" ]; then \
		$(APT) update -qq && DEBIAN_FRONTEND=noninteractive $(APT) install -y -qq chromium chromium-driver; \
	else echo "make browser: install the Debian packages chromium and chromium-driver (as root)"; fi

java: ## the OS's Java 17 runtime (Spark reads the lake in a test), if missing
	@command -v java >/dev/null || \
	if [ -n "$(APT)" ]; then \
		$(APT) update -qq && DEBIAN_FRONTEND=noninteractive $(APT) install -y -qq openjdk-17-jre-headless; \
	else echo "make java: install the Debian package openjdk-17-jre-headless (as root)"; fi

systemd: ## the OS's systemd-analyze (deploy/'s units are verified in a test), if missing
	@command -v systemd-analyze >/dev/null || \
	if [ -n "$(APT)" ]; then \
		$(APT) update -qq && DEBIAN_FRONTEND=noninteractive $(APT) install -y -qq systemd; \
	else echo "make systemd: install the Debian package systemd (as root)"; fi

promtool: ## the OS's promtool (deploy/'s alert rules are checked and tested in a test), if missing
	@command -v promtool >/dev/null || \
	if [ -n "$(APT)" ]; then \
		$(APT) update -qq && DEBIAN_FRONTEND=noninteractive $(APT) install -y -qq --no-install-recommends prometheus; \
	else echo "make promtool: install the Debian package prometheus (as root)"; fi

versions: $(TOOLS) ## the wheel in a fresh venv of every other CPython here that it supports: demo, report
	$(PY) -m tests.versions

test: lint docs-build browser java systemd promtool ## lint, the site, the whole test suite (every core), the other Pythons
	$(PYTEST)
	$(MAKE) --no-print-directory versions

test-fast: $(TOOLS) ## the inner loop: every test not marked slow, on every core (no lint, browser, Spark or S3)
	$(PYTEST) -m "not slow"

bench: $(TOOLS) ## the benchmark (9 to 20 minutes here, plus install): every target with its figure
	$(PY) -m tests.bench.bench

docs: $(DOCS) ## rewrite docs/reference/ from the code, then build the site into site/
	$(PY) -m tests.docs_reference
	NO_MKDOCS_2_WARNING=1 $(VENV)/bin/mkdocs build --strict --quiet --site-dir site

docs-build: $(DOCS) ## build the site as committed (strict: a broken link or a stale page fails)
	$(PY) -m tests.docs_reference --check
	NO_MKDOCS_2_WARNING=1 $(VENV)/bin/mkdocs build --strict --quiet --site-dir site

demo: $(RUNTIME) ## start the local SWR API, sync twice (a day apart), print the report
	$(VENV)/bin/swr-etl demo --dir ./swr-demo

clean: ## remove the venv and demo output
	rm -rf $(VENV) swr-demo site .pytest_cache .mypy_cache .ruff_cache
