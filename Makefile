# The two commands of the README: `make run` and `make test`. Both create .venv on first use.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test test-fast lint format venv lab mlflow sample bench bench-quick bench-smoke

venv: $(STAMP)

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	@touch $(STAMP)

# the whole pipeline on the default synthetic world: report in reports/latest/report.html
# (another run configuration: make run CONFIG=configs/table.yaml)
CONFIG ?= configs/retail.yaml
run: $(STAMP)
	$(BIN)/crm-ml run --config $(CONFIG)

# only the data contract on the small hand-made export in data/sample
sample: $(STAMP)
	$(BIN)/crm-ml validate data/sample

lab: $(STAMP)
	$(BIN)/python -m ipykernel install --sys-prefix --name crm-ml --display-name "crm-ml (.venv)"
	cd notebooks && ../$(BIN)/jupyter lab

mlflow: $(STAMP)
	$(BIN)/mlflow ui --backend-store-uri sqlite:///$(CURDIR)/experiments/mlflow.db \
		--default-artifact-root $(CURDIR)/experiments/artifacts --port 5000

# pytest exits 5 when it collects no test; that is a failure of the suite, not a pass.
test: $(STAMP)
	$(BIN)/python -m pytest

test-fast: $(STAMP)
	$(BIN)/python -m pytest -m "not slow and not notebook"

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

# benchmarks (benchmarks/run_all.py): report in reports/benchmarks/<date>-<profile>.{json,md}
bench: $(STAMP)
	$(BIN)/python benchmarks/run_all.py --profile full

bench-quick: $(STAMP)
	$(BIN)/python benchmarks/run_all.py --profile quick

bench-smoke: $(STAMP)
	$(BIN)/python benchmarks/run_all.py --profile smoke --out $${BENCH_OUT:-/tmp/crm-ml-bench-smoke}
