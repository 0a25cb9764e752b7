# make run   - the whole workflow on the embedded default data (creates .venv on first use)
# make test  - the test suite
# make dag   - the rule graph as an SVG (needs Graphviz's `dot`)

PYTHON ?= python3
VENV ?= .venv
CORES ?= all
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test dag bench clean

$(STAMP): requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $@

run: $(STAMP)
	$(BIN)/snakemake --cores $(CORES)

test: $(STAMP)
	$(BIN)/python -m pytest -q tests

dag: $(STAMP)
	$(BIN)/snakemake --rulegraph | dot -Tsvg > docs/rulegraph.svg

bench: $(STAMP)
	$(BIN)/python benchmarks/pipeline.py

clean:
	rm -rf results .snakemake
