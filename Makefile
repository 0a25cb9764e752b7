# make run   - the whole workflow on the embedded default data (creates .venv on first use)
# make test  - the whole test suite
# make test-fast - the unit tests without the slow ones (whole workflows, SLURM, real data): under a minute
# make lint  - ruff (style, imports, likely bugs), snakefmt and snakemake --lint
# make report - the HTML report of a finished run (results/report.html)
# make report-zip - the same report as a zip of separate files (results/report.zip, about half the size)
# make dag   - the rule graph as an SVG (needs Graphviz's `dot`)
# make bench - throughput against the reference loops, the whole pipeline's timings, dry-run times

PYTHON ?= python3
# Local copies of full MNIST and Fashion-MNIST (a folder holding mnist/ and fashion-mnist/, gzipped IDX files)
# for the tests that fetch the real files; beside the checkout by default. Without it those tests skip, saying so.
GENZOO_DATASETS ?= $(if $(wildcard ../shared/data),$(abspath ../shared/data))
export GENZOO_DATASETS
VENV ?= .venv
CORES ?= all
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test test-fast lint report report-zip dag bench clean check-python

# The pinned torch and torchvision wheels are built for one Python version.
PYTHON_NEEDED := 3.11
PYTHON_FOUND = $(shell $(PYTHON) -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null)

check-python:
	@test "$(PYTHON_FOUND)" = "$(PYTHON_NEEDED)" || { \
		echo "genzoo needs Python $(PYTHON_NEEDED) (the pinned torch 2.14.1 wheels); '$(PYTHON)' is $(or $(PYTHON_FOUND),not a working Python)." >&2; \
		echo "Point make at one: make PYTHON=python$(PYTHON_NEEDED) ..." >&2; exit 1; }

$(STAMP): requirements.txt requirements-dev.txt | check-python
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $@

run: $(STAMP)
	$(BIN)/snakemake --cores $(CORES)

test: $(STAMP)
	$(BIN)/python -m pytest -q -rs tests

test-fast: $(STAMP)
	$(BIN)/python -m pytest -q -m "not slow" tests

lint: $(STAMP)
	$(BIN)/ruff check --no-cache workflow tests benchmarks
	$(BIN)/ruff format --no-cache --check workflow tests benchmarks
	$(BIN)/snakefmt --check Snakefile workflow/Snakefile workflow/rules
	$(BIN)/snakemake --lint

report: $(STAMP)
	$(BIN)/snakemake --report results/report.html

report-zip: $(STAMP)
	$(BIN)/snakemake --report results/report.zip

dag: $(STAMP)
	@command -v dot >/dev/null || { echo "make dag needs Graphviz's dot (apt-get install graphviz)" >&2; exit 1; }
	$(BIN)/snakemake --rulegraph | dot -Tsvg > docs/rulegraph.svg.tmp
	mv docs/rulegraph.svg.tmp docs/rulegraph.svg

bench: $(STAMP)
	$(BIN)/snakemake --cores 1 --quiet rules results/data/mnist-5k/train.pt
	$(BIN)/python benchmarks/throughput.py --presets pytorch-gan,tf-dcgan,dlwp-vae --variants fp32 bf16
	dir=$$(mktemp -d) && $(BIN)/python benchmarks/pipeline.py --keep $$dir && \
		$(BIN)/python benchmarks/dryrun.py --finished $$dir && rm -rf $$dir

clean:
	rm -rf results .snakemake
