# Two entry points for a fresh machine: `make demo` (the main job on the default schema) and
# `make test` (the whole suite). Each creates .venv and installs xltool into it first.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

.PHONY: demo test templates screenshot bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[test]'
	touch $(STAMP)

demo: $(STAMP)
	PATH="$(CURDIR)/$(BIN):$$PATH" bash scripts/demo.sh

test: $(STAMP)
	$(BIN)/python -m pytest -q

# The blank templates of both formats (fixed issue date so the bytes are reproducible; a test compares).
templates: $(STAMP)
	for s in annual-report-2021 annual-report-2019; do \
	  $(BIN)/xltool template --schema $$s -o templates/$$s.xlsx --issue-date 2026-01-01 || exit 1; \
	done

screenshot: $(STAMP)
	$(BIN)/python scripts/screenshot.py
	$(BIN)/python scripts/render_screenshot.py

bench: $(STAMP)
	$(BIN)/python benchmarks/bench_template.py
	$(BIN)/python benchmarks/bench_read.py
	$(BIN)/python benchmarks/bench_collect.py --n 200

clean:
	rm -rf $(VENV) demo-out .pytest_cache .hypothesis
