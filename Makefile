# eccr developer entry points. Both `demo` and `test` create/refresh .venv themselves.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: venv browser demo test test-slow test-all lint format clean

$(STAMP): pyproject.toml requirements/torch-cpu.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements/torch-cpu.txt
	$(BIN)/python -m pip install --quiet -e '.[all,test]'
	touch $(STAMP)

venv: $(STAMP)

# Debian's chromium for the page tests (viewer, web page): Playwright drives it and never downloads a browser;
# a Japanese font so screenshots show the text. Installed when missing and possible (root with apt-get);
# otherwise the page tests skip with a reason.
DEBIAN_BROWSER := chromium fonts-ipafont-gothic

browser:
	@dpkg -s $(DEBIAN_BROWSER) >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 && \
	  { DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $(DEBIAN_BROWSER) >/dev/null 2>&1 || \
	    { apt-get update -q >/dev/null 2>&1 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $(DEBIAN_BROWSER) >/dev/null 2>&1; }; }; } || \
	  echo "chromium could not be installed: browser tests will skip"

DEMO := demo-output

# The main job, start to finish, on the bundled synthetic corpus (`eccr demo`, see src/eccr/cli/demo.py): corpus
# statistics; 5-fold CV of a character CRF, a gazetteer and a small transformer trained from scratch on the same
# folds; the paper-style report and its plots; the HTML error viewer of each run; the best model trained on all
# documents extracting concepts from a new note. One torch thread: tiny models gain nothing from more, and
# threads fighting over two shared cores are slower (OMP_NUM_THREADS=2 make demo to override).
OMP_NUM_THREADS ?= 1

demo: $(STAMP)
	rm -rf $(DEMO)
	OMP_NUM_THREADS=$(OMP_NUM_THREADS) $(BIN)/eccr demo --out $(DEMO)

test: $(STAMP) browser
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/python -m pytest -n 2 -q

# Ray (eccr[scale]) is large, so only the slow tests install it: the Ray engine's parity test runs here.
SCALE_STAMP := $(VENV)/.installed-scale
$(SCALE_STAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[all,test,scale]' || echo "ray could not be installed: the Ray engine test will skip"
	touch $(SCALE_STAMP)

# Overfitting tiny transformers, 2-process DDP, real-data CV, the Ray engine (a few minutes on 2 cores).
test-slow: $(STAMP) $(SCALE_STAMP) browser
	$(BIN)/python -m pytest -n 2 -q -m "slow and not gpu"

test-all: $(STAMP) browser
	$(BIN)/python -m pytest -n 2 -q -m "not gpu"

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks

format: $(STAMP)
	$(BIN)/ruff format src tests benchmarks

clean:
	rm -rf $(VENV) demo-output .pytest_cache
