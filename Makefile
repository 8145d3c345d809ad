# PartnerFlow: `make run` starts the embedded stack, `make test` runs the suite.
# Both create .venv and install everything on a fresh machine.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run test install locales extract lint typecheck check bench chaos histories clean

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "PartnerFlow needs Python >= 3.11 (found " + sys.version.split()[0] + ")")'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@# Bytecode now, so that the first workflow runs of a fresh worker do not compile it.
	$(BIN)/python -m compileall -q activities domain infra starter workflows worker.py >/dev/null
	@touch $(STAMP)

# Compiled catalogs are build output (.gitignored): rebuilt when their .po changes.
PO := $(wildcard locales/*/LC_MESSAGES/messages.po)
MO := $(PO:.po=.mo)

%.mo: %.po $(STAMP)
	$(BIN)/pybabel compile --statistics -D messages -i $< -o $@

install: $(STAMP) locales  ## create .venv and install PartnerFlow with its tools

locales: $(MO)  ## compile the gettext catalogs under locales/

extract: $(STAMP)  ## re-extract messages.pot and merge new ids into both catalogs
	$(BIN)/pybabel extract -F babel.cfg -k N_ --no-location --sort-output -o locales/messages.pot .
	$(BIN)/pybabel update -D messages -i locales/messages.pot -d locales --no-fuzzy-matching

run: $(STAMP) locales  ## start the embedded dev stack (Temporal, SMTP sink, worker, link server)
	$(BIN)/partnerflow dev

# The console's browser tests drive Debian's chromium (never a downloaded browser); we run
# as root in CI and in the dev container, so apt-get installs it when it is missing.
CHROMIUM := /usr/bin/chromium

$(CHROMIUM):
	apt-get update -q
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends chromium chromium-driver

# A CJK font, so that the zh-CN console renders (and its screenshot shows) Chinese glyphs.
CJK_FONT := /usr/share/fonts/truetype/wqy/wqy-microhei.ttc

$(CJK_FONT):
	apt-get update -q
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends fonts-wqy-microhei

test: $(STAMP) locales $(CHROMIUM) $(CJK_FONT)  ## the whole test suite (installs chromium and a CJK font for the browser tests)
	$(BIN)/python -m pytest -q -p no:cacheprovider --durations=15 -n 2 --dist loadfile

lint: $(STAMP)  ## ruff lint and format check
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)  ## mypy strict
	$(BIN)/mypy .

check: lint typecheck test

# The tests that store histories (tests/harness.save_history), run with recording on, then
# the replay test: one command after any change to workflows, the converter or the codec.
HISTORY_TESTS = $(shell grep -l save_history tests/workflows/*.py)

histories: $(STAMP) locales  ## re-record tests/histories/ (under the payload codec) and replay them
	PARTNERFLOW_RECORD_HISTORIES=1 $(BIN)/python -m pytest -q -p no:cacheprovider $(HISTORY_TESTS)
	$(BIN)/python -m pytest -q -p no:cacheprovider tests/test_replay.py tests/unit/test_bench_shape.py

bench: $(STAMP) locales  ## throughput ratios to the Temporal floor, and latency (not part of `make test`)
	$(BIN)/python -m bench

chaos: $(STAMP) locales  ## 1,000 workflows of each type under faults (worker kills, server restarts, SMTP and DB outages); proves nothing is lost (about 18 min on 2 cores)
	$(BIN)/python -m bench.chaos

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .mypy_cache .ruff_cache
