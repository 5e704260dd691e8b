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
SAMPLE := src/eccr/data/sample/sample.txt
NOTE := src/eccr/data/sample/new-note.txt

# The main job, on the bundled synthetic corpus: corpus in, CV of two models on identical folds, every score,
# a paired comparison, then a model trained on everything extracting concepts from a new note.
demo: $(STAMP)
	rm -rf $(DEMO) && mkdir -p $(DEMO)
	@echo "== 1/4 the bundled synthetic corpus, converted to eccr's canonical JSONL"
	$(BIN)/eccr convert $(SAMPLE) $(DEMO)/sample.jsonl --from inline
	$(BIN)/eccr stats $(DEMO)/sample.jsonl
	@echo "== 2/4 5-fold cross-validation: character CRF and gazetteer on the same folds"
	$(BIN)/eccr cv $(DEMO)/sample.jsonl --model crf --out $(DEMO)/cv-crf --quiet
	$(BIN)/eccr cv $(DEMO)/sample.jsonl --model dict --folds-file $(DEMO)/cv-crf/folds.json --out $(DEMO)/cv-dict --quiet
	@echo "== 3/4 weighted soft matching by span length, and CRF vs gazetteer with a paired test"
	$(BIN)/eccr score $(DEMO)/sample.jsonl $(DEMO)/cv-crf/predictions.jsonl --by-length
	$(BIN)/eccr compare $(DEMO)/cv-crf $(DEMO)/cv-dict
	@echo "== 4/4 train on all documents, extract concepts from a new note"
	$(BIN)/eccr train $(DEMO)/sample.jsonl --model crf --out $(DEMO)/crf-model
	$(BIN)/eccr predict --model $(DEMO)/crf-model $(NOTE) --from text --out $(DEMO)/new-note.jsonl
	$(BIN)/eccr convert $(DEMO)/new-note.jsonl $(DEMO)/new-note.inline.txt --to inline
	$(BIN)/eccr show $(DEMO)/new-note.jsonl --id new-note
	@echo "Results are in $(DEMO)/: cv-*/summary.md, cv-*/summary.csv, new-note.inline.txt"

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
