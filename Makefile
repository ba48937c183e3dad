# Entry points for a fresh machine: `make demo` (the main job on the default schema), `make test` (the
# whole suite) and `make lint` (ruff, ruff format, mypy). Each creates .venv and installs xltool into
# it first, with the exact versions of constraints.txt. After adding a dependency to pyproject.toml
# (as a version range), run `make lock` to pin it there.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

.PHONY: demo test lint lock templates screenshot portal-screenshots bench clean

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -c constraints.txt -e '.[test]'
	touch $(STAMP)

demo: $(STAMP)
	PATH="$(CURDIR)/$(BIN):$$PATH" bash scripts/demo.sh

# pytest exits 5 when it collected no tests: a failure, named.
test: $(STAMP)
	$(BIN)/python -m pytest -q || { s=$$?; [ $$s -ne 5 ] || echo "pytest collected no tests" >&2; exit $$s; }

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

# Re-pin constraints.txt from what pyproject.toml asks for (new dependencies are installed first,
# unconstrained, at the newest version their range allows).
lock:
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q -e '.[test]'
	$(BIN)/python scripts/lock.py --extras test --output constraints.txt
	touch $(STAMP)

# The blank templates of both formats (fixed issue date so the bytes are reproducible; a test compares).
templates: $(STAMP)
	for s in annual-report-2021 annual-report-2019; do \
	  $(BIN)/xltool template --schema $$s -o templates/$$s.xlsx --issue-date 2026-01-01 || exit 1; \
	done

screenshot: $(STAMP)
	$(BIN)/python scripts/screenshot.py
	$(BIN)/python scripts/render_screenshot.py

# The upload portal's README screenshots, with Debian's chromium + chromium-driver (as the tests).
portal-screenshots: $(STAMP)
	$(BIN)/python scripts/portal_screenshots.py

bench: $(STAMP)  # one table: every figure of issue #13 with its floor; N=10000 for the province run
	$(BIN)/python benchmarks/bench_all.py --n $(or $(N),1000) $(if $(CORPUS),--corpus $(CORPUS))
	$(BIN)/python benchmarks/bench_hostile.py
	$(BIN)/python benchmarks/bench_portal.py

clean:
	rm -rf $(VENV) demo-out .pytest_cache .hypothesis
