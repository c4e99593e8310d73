# Two entry points, each building (or reusing) its own virtual environment:
#   make demo   the main job: fdep quickstart (synthetic data, train original + fdep, test, HTML report)
#   make test   the whole test suite (what CI runs)
PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin
STAMP   = $(VENV)/.fdep-installed
# torch first (default: the CPU build available here); TORCH_SPEC holds pip arguments, "" skips this step.
TORCH_SPEC ?= torch==2.13.0

.PHONY: venv demo test lint clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	@if [ -n "$(TORCH_SPEC)" ] && ! $(BIN)/python -c "import torch" 2>/dev/null; then \
		$(BIN)/python -m pip install -q $(TORCH_SPEC) || \
		$(BIN)/python -m pip install -q $(TORCH_SPEC) --index-url https://download.pytorch.org/whl/cpu; \
	fi
	$(BIN)/python -m pip install -q -e ".[dev]"
	@touch $(STAMP)

venv: $(STAMP)

demo: $(STAMP)
	$(BIN)/fdep quickstart --out runs/quickstart --overwrite

test: $(STAMP)
	$(BIN)/python -m pytest -q -n 2

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks

clean:
	rm -rf $(VENV) build *.egg-info
