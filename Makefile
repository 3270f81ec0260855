# LSTM from scratch: build the book, run the tests.
#
#   make book            build the book into _build/html from the committed notebook outputs
#   make book EXECUTE=1  the same, but re-execute every chapter during the build
#   make test            unit tests, a student's install (pip install .) running the README's tour,
#                        then nbval on every chapter, then a clean (-W) book build
#   make outputs         re-execute the notebooks in place (NB=book/x.ipynb for one) and store outputs
#   make venv            create .venv and install requirements.txt and minilstm (-e .)
#   make clean           remove build outputs (keeps .venv); `make distclean` removes .venv too
#
# Each target creates .venv when it is missing. The install is redone only when
# requirements.txt or pyproject.toml change (stamp file .venv/.installed).

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
# Run every tool from the venv (the Jupyter kernel too), whatever is on the caller's PATH.
export PATH := $(CURDIR)/$(BIN):$(PATH)
export PIP_DISABLE_PIP_VERSION_CHECK := 1

# Stored notebook outputs are compared bit for bit, and a training run amplifies a last-bit
# difference into a different result. NumPy and OpenBLAS pick their SIMD kernels from the CPU
# (AVX2 here, AVX-512 elsewhere), which changes rounding: on x86-64, pin both to the AVX2 kernels
# (x86-64-v3, which every CPU of the last decade has), so that the outputs are the same on every
# such machine. Other architectures run with their own defaults. Notebook runs also fix the BLAS
# thread count (NB_THREADS): one thread rounds float32 products differently from two or more.
ifeq ($(shell uname -m),x86_64)
export OPENBLAS_CORETYPE        := Haswell
export NPY_DISABLE_CPU_FEATURES := X86_V4 AVX512_ICL AVX512_SPR
endif
NB_THREADS := OPENBLAS_NUM_THREADS=2

JB       := $(BIN)/jupyter-book
JB_FLAGS := -W -n --keep-going
BUILD    := _build
EXECUTE  ?= 0

# EXECUTE=1: jupyter-book 1 takes no flag for execution, but takes --config; build from a copy of
# _config.yml whose `execute_notebooks` is `force` (and rebuild every page).
EXEC_CONFIG := $(BUILD)/_config.execute.yml
ifeq ($(EXECUTE),1)
BOOK_FLAGS := --all --config $(EXEC_CONFIG)
else
BOOK_FLAGS :=
endif

# $(call step,title,command): print a header, run the command, report ok/FAILED with seconds.
define step
	@printf '\n==> %s\n' "$(1)"
	@start=$$(date +%s); \
	if $(2); then \
	  printf '==> ok: %s (%s s)\n' "$(1)" "$$(( $$(date +%s) - start ))"; \
	else \
	  rc=$$?; printf '==> FAILED (exit %s): %s\n' "$$rc" "$(1)"; exit $$rc; \
	fi
endef

.PHONY: help venv book outputs test test-unit test-install test-notebooks test-book clean distclean

help:
	@sed -n '3,10p' $(firstword $(MAKEFILE_LIST)) | sed 's/^# \{0,1\}//'

# ----------------------------------------------------------------------------- environment

venv: $(STAMP)

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# pip's output goes to $(VENV)/install.log and is shown only if the install fails.
$(STAMP): requirements.txt pyproject.toml | $(BIN)/python
	@echo "==> installing requirements.txt and minilstm (-e .) into $(VENV) (log: $(VENV)/install.log)"
	@start=$$(date +%s); \
	{ $(BIN)/python -m pip install --upgrade "pip>=23.1" \
	  && $(BIN)/python -m pip install -r requirements.txt -e . ; } > $(VENV)/install.log 2>&1 \
	  || { cat $(VENV)/install.log; echo "==> FAILED: pip install (see above)"; exit 1; }; \
	echo "==> ok: installed ($$(( $$(date +%s) - start )) s)"
	@touch $@

# ----------------------------------------------------------------------------- book

book: $(STAMP)
ifeq ($(EXECUTE),1)
	@mkdir -p $(BUILD)
	@sed -E 's/^([[:space:]]*execute_notebooks[[:space:]]*:[[:space:]]*).*/\1force/' _config.yml > $(EXEC_CONFIG)
	@grep -Eq '^[[:space:]]+execute_notebooks[[:space:]]*:[[:space:]]*force$$' $(EXEC_CONFIG) \
	  || { echo "Makefile: no 'execute_notebooks:' key found in _config.yml" >&2; exit 1; }
	@echo "==> EXECUTE=1: every chapter is re-executed ($(EXEC_CONFIG): execute_notebooks: force)"
endif
	$(call step,API page: book/make_api.py writes book/api.md from the docstrings,$(API_PAGE))
	$(call step,$(strip jupyter-book build $(JB_FLAGS) $(BOOK_FLAGS) .),env -u MPLBACKEND $(NB_THREADS) $(JB) build $(JB_FLAGS) $(BOOK_FLAGS) .)
	@echo
	@echo "The book is at: file://$(CURDIR)/$(BUILD)/html/index.html"

# Store fresh outputs in the notebooks (what nbval then compares against): each notebook is run
# top to bottom in one kernel, in its own folder, without execution timestamps in the metadata.
NB ?= $(wildcard book/*.ipynb)
define EXECUTE_NOTEBOOK
import os, sys, nbformat, nbclient
path = sys.argv[1]
nb = nbformat.read(path, as_version=4)
for cell in nb.cells:
    cell.metadata.pop("execution", None)
client = nbclient.NotebookClient(nb, timeout=int(sys.argv[2]), record_timing=False,
                                 resources={"metadata": {"path": os.path.dirname(path) or "."}})
client.execute()
nbformat.write(nb, path)
endef
export EXECUTE_NOTEBOOK

outputs: $(STAMP)
	@for nb in $(NB); do \
	  echo "==> executing $$nb"; \
	  env -u MPLBACKEND $(NB_THREADS) $(BIN)/python -c "$$EXECUTE_NOTEBOOK" "$$nb" $(CELL_TIMEOUT); \
	done

# ----------------------------------------------------------------------------- tests

UNIT_TESTS     := MPLBACKEND=Agg $(BIN)/python -m pytest tests
# Kernels must use matplotlib's inline backend: MPLBACKEND is unset for them (Agg would turn
# plt.show() into a warning on stderr). A cell that runs longer than CELL_TIMEOUT seconds fails;
# keep it equal to `execute: timeout` in _config.yml (the same budget in EXECUTE=1 builds).
CELL_TIMEOUT   := 120
NOTEBOOK_TESTS := env -u MPLBACKEND $(NB_THREADS) $(BIN)/python -m pytest --nbval book/ --nbval-sanitize-with book/sanitize.cfg \
                  --nbval-cell-timeout=$(CELL_TIMEOUT) -p no:cacheprovider
# book/api.md is not stored: it is written from today's docstrings before every build, so that a
# new module or a changed docstring needs no regenerated file in the commit.
API_PAGE       := $(BIN)/python book/make_api.py
BOOK_TEST      := $(API_PAGE) && $(JB) build $(JB_FLAGS) --all .
# A fresh virtual environment, `pip install .` (not editable) into it, then the README's tour.
INSTALL_TEST   := $(BIN)/python tests/check_install.py

# In this order, stopping at the first failure:
# (a) unit tests of the package, headless matplotlib;
# (b) the package installed as a student would (pip install . into a fresh venv), the README's tour;
# (c) every chapter re-executed, each stored output compared with the fresh one (strict nbval);
# (d) the whole book from scratch, where any Sphinx warning fails.
test: $(STAMP)
	$(call step,[1/4] unit tests: pytest tests,$(UNIT_TESTS))
	$(call step,[2/4] install: pip install . into a fresh venv and run the README's tour,$(INSTALL_TEST))
	$(call step,[3/4] notebooks: pytest --nbval book/ (stored outputs must match a fresh run),$(NOTEBOOK_TESTS))
	$(call step,[4/4] book: jupyter-book build $(JB_FLAGS) --all .,$(BOOK_TEST))
	@printf '\n==> make test: all passed\n'

# The four parts one at a time.
test-unit: $(STAMP)
	$(call step,[1/4] unit tests: pytest tests,$(UNIT_TESTS))

test-install: $(STAMP)
	$(call step,[2/4] install: pip install . into a fresh venv and run the README's tour,$(INSTALL_TEST))

test-notebooks: $(STAMP)
	$(call step,[3/4] notebooks: pytest --nbval book/ (stored outputs must match a fresh run),$(NOTEBOOK_TESTS))

test-book: $(STAMP)
	$(call step,[4/4] book: jupyter-book build $(JB_FLAGS) --all .,$(BOOK_TEST))

# ----------------------------------------------------------------------------- cleaning

clean:
	rm -rf $(BUILD) .pytest_cache
	find . -path ./$(VENV) -prune -o -type d \( -name __pycache__ -o -name .ipynb_checkpoints \) -print0 \
	  | xargs -0 rm -rf

distclean: clean
	rm -rf $(VENV) *.egg-info
