# Two commands do all set-up on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: venv demo test lint bench clean

$(STAMP): pyproject.toml plugins/enigma_router/pyproject.toml plugins/enigma_vision/pyproject.toml plugins/enigma_code/pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --disable-pip-version-check --upgrade pip
	# torch 2.13.0 first: that CPU build is on local disk (any other version downloads gigabytes)
	$(BIN)/pip install -q --disable-pip-version-check torch==2.13.0
	$(BIN)/pip install -q --disable-pip-version-check hatchling -e ".[torch,dev]" \
		-e plugins/enigma_router -e plugins/enigma_vision -e plugins/enigma_code
	touch $(STAMP)

venv: $(STAMP)

demo: $(STAMP)
	@$(BIN)/enigma plugins
	@for q in "hello there!" "write a function that reverses a string" \
		"describe a photo with a person smiling on a beach at sunset" "draw me a cat wearing a hat"; do \
		echo "\$$ enigma route \"$$q\""; $(BIN)/enigma route "$$q" || exit 1; echo; done

lint: $(STAMP)
	$(BIN)/ruff check enigma_core plugins tests

test: $(STAMP)
	$(BIN)/ruff check enigma_core plugins tests
	$(BIN)/python -m pytest -q

clean:
	rm -rf $(VENV) .pytest_cache build dist
