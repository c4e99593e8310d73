# Two entry points, each building (or reusing) its own virtual environment:
#   make demo   the main job: fdep quickstart (synthetic data, train original + fdep, test, HTML report)
#   make test   the whole test suite (what CI runs): builds and checks the wheel, installs it without
#               extras into a second, small environment ($(CORE)) and runs the suite, whose
#               tests/test_core_install.py runs fdep's core commands there
PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin
STAMP   = $(VENV)/.fdep-installed
# the core install: `pip install fdep` without extras, no torch (kept between runs; only fdep is reinstalled)
CORE   ?= .venv-core
DIST    = build/dist
# torch first (default: the CPU build available here); TORCH_SPEC holds pip arguments, "" skips this step.
TORCH_SPEC ?= torch==2.13.0

.PHONY: venv demo test lint clean dist core

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	@if [ -n "$(TORCH_SPEC)" ] && ! $(BIN)/python -c "import torch" 2>/dev/null; then \
		$(BIN)/python -m pip install -q $(TORCH_SPEC) || \
		$(BIN)/python -m pip install -q $(TORCH_SPEC) --index-url https://download.pytorch.org/whl/cpu; \
	fi
	$(BIN)/python -m pip install -q -e ".[all,dev]"
	@touch $(STAMP)

venv: $(STAMP)

demo: $(STAMP)
	$(BIN)/fdep quickstart --out runs/quickstart --overwrite

test: $(STAMP) core
	FDEP_CORE_VENV=$(CORE) $(BIN)/python -m pytest -q -n 2

# sdist and wheel from this checkout, checked as PyPI would (twine check --strict)
dist: $(STAMP)
	rm -rf $(DIST) && mkdir -p build
	@$(BIN)/python -m build --no-isolation --outdir $(DIST) . > build/dist.log 2>&1 || { cat build/dist.log; exit 1; }
	$(BIN)/twine check --strict $(DIST)/*

# the wheel installed without extras: its dependencies once (pip's cache), then fdep itself every time
core: dist
	@test -x $(CORE)/bin/python || $(PYTHON) -m venv $(CORE)
	$(CORE)/bin/python -m pip install -q $(DIST)/*.whl
	$(CORE)/bin/python -m pip install -q --no-deps --force-reinstall $(DIST)/*.whl

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks release

clean:
	rm -rf $(VENV) $(CORE) build *.egg-info
