# aidflow — the README's commands. Every target creates .venv and installs what it needs.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
SMALL := scenarios/small_routers.yaml
FLAGSHIP ?= scenarios/fpv_drones_2024_2025.yaml

.PHONY: demo test bench bench-suite check clean

$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -c constraints.txt -e ".[dev,dist]"
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/aidflow validate $(FLAGSHIP)
	$(BIN)/aidflow graph $(FLAGSHIP)
	$(BIN)/aidflow run $(FLAGSHIP) --out runs/demo --overwrite --report

test: $(STAMP)
	$(BIN)/python -m pytest -n 2 --dist loadfile

bench: $(STAMP)
	$(BIN)/python -m pytest benchmarks -p no:xdist --benchmark-only --benchmark-autosave \
		--benchmark-columns=min,median,max,rounds --benchmark-sort=name
	$(BIN)/python benchmarks/compare_table.py

# three workloads x (plain SimPy, engine, CLI) at 10^4, 10^5, 10^6 lots; SIZES=10000,100000 for less
SIZES ?= 10000,100000,1000000
bench-suite: $(STAMP)
	$(BIN)/python benchmarks/suite.py --sizes $(SIZES)

check: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
