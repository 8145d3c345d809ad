# PartnerFlow: `make run` starts the embedded stack, `make test` runs the suite.
# Both create .venv and install everything on a fresh machine.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run test install lint typecheck check bench clean

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "PartnerFlow needs Python >= 3.11 (found " + sys.version.split()[0] + ")")'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@# Bytecode now, so that the first workflow runs of a fresh worker do not compile it.
	$(BIN)/python -m compileall -q activities domain infra starter workflows worker.py >/dev/null
	@touch $(STAMP)

install: $(STAMP)  ## create .venv and install PartnerFlow with its tools

run: $(STAMP)  ## start the embedded dev stack (Temporal, SMTP sink, worker, link server)
	$(BIN)/partnerflow dev

test: $(STAMP)  ## the whole test suite
	$(BIN)/python -m pytest -q -p no:cacheprovider

lint: $(STAMP)  ## ruff lint and format check
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)  ## mypy strict
	$(BIN)/mypy .

check: lint typecheck test

bench: $(STAMP)  ## throughput ratios to the Temporal floor, and latency (not part of `make test`)
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .mypy_cache .ruff_cache
