# Two commands on a fresh machine: `make demo` and `make test` (each installs if needed).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: install demo test quick lint bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/reelscribe run data/sample.mp4 --cast data/cast.toml -o demo-output
	@echo "Results are in $(CURDIR)/demo-output (open sample.report.html)"

test: $(STAMP)
	$(BIN)/python -m pytest

# The fast subset for iterating: no end-to-end runs, no model-heavy tests.
quick: $(STAMP)
	$(BIN)/python -m pytest -m "not slow" -q

lint: $(STAMP)
	$(BIN)/ruff check .

bench: $(STAMP)
	$(BIN)/python tests/bench/speech.py

clean:
	rm -rf demo-output .pytest_cache
