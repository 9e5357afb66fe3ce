# scconcepts: set-up, demo, tests and benchmarks. `make demo` and `make test` install what they need.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEMO_OUT ?= results/demo

.PHONY: install demo test bench lint clean

install: $(STAMP)
	@# Each feature that needs more than pip (Debian packages, npm builds, data) ships an idempotent script.
	@for script in scripts/install-*.sh; do [ -e "$$script" ] || continue; bash "$$script" || exit 1; done

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet torch==2.13.0
	$(BIN)/python -m pip install --quiet -e ".[test]" torch==2.13.0
	touch $(STAMP)

demo: install
	$(BIN)/scconcepts run --dataset pbmc_sorted --model scvi --out $(DEMO_OUT) --overwrite
	@echo "Results are in $(DEMO_OUT)/ (summary: $(BIN)/scconcepts info $(DEMO_OUT); report: $(DEMO_OUT)/report.html)"
	@echo "Open the explorer: $(BIN)/scconcepts serve $(DEMO_OUT)   then visit http://127.0.0.1:8000/"

# pytest exits 5 when it collects no test; any other non-zero status is a real failure.
test: install
	$(BIN)/python -m pytest tests -q; status=$$?; if [ $$status -eq 5 ]; then echo "no tests collected"; exit 0; fi; exit $$status

bench: install
	$(BIN)/python -m benchmarks

lint: install
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks

clean:
	rm -rf $(VENV) results .pytest_cache .ruff_cache
