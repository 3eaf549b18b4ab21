# Two commands do all set-up on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: venv demo test lint bench clean models models-router models-code models-vision models-vectors

$(STAMP): pyproject.toml plugins/enigma_router/pyproject.toml plugins/enigma_vision/pyproject.toml plugins/enigma_code/pyproject.toml \
		plugins/enigma_openai/pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --disable-pip-version-check --upgrade pip
	# torch 2.13.0 first: that CPU build is on local disk (any other version downloads gigabytes)
	$(BIN)/pip install -q --disable-pip-version-check torch==2.13.0
	$(BIN)/pip install -q --disable-pip-version-check hatchling -e ".[torch,dev,serve]" \
		-e "plugins/enigma_router[train]" -e "plugins/enigma_vision[faces]" -e plugins/enigma_code \
		-e plugins/enigma_openai
	touch $(STAMP)

venv: $(STAMP)

demo: $(STAMP)
	@$(BIN)/enigma plugins
	@$(BIN)/enigma data vision --synthetic 1 --out .cache/demo >/dev/null
	@for q in "hello there!" "write a function that reverses a string" \
		"what is in .cache/demo/synth_0_00000.png?" "draw me a cat wearing a hat"; do \
		echo "\$$ enigma route \"$$q\""; $(BIN)/enigma route "$$q" || exit 1; echo; done

bench: $(STAMP) $(RAY_STAMP)  ## Full-size benchmarks (router vs fastText/TF-IDF/MiniLM incl. oos sets, vision, code, serve, Ray)
	$(BIN)/pip install -q --disable-pip-version-check -e "plugins/enigma_router[bench]"
	bash bench/router/setup_baselines.sh
	$(BIN)/python bench/router/run.py
	$(BIN)/python bench/router/process.py
	$(BIN)/python bench/cli/startup.py
	$(BIN)/python bench/router/inprocess.py
	$(BIN)/python bench/router/new_intent.py
	$(BIN)/enigma bench vision
	$(BIN)/enigma bench code
	$(BIN)/python bench/serve/run.py
	$(BIN)/python bench/serve/ray_compare.py

models: models-router models-code models-vision  ## Rebuild every shipped default model (cards: models/)

models-router: $(STAMP)  ## The default router (seconds; deterministic)
	ENIGMA_HOME="$$(mktemp -d)" $(BIN)/enigma train router --seed 0 \
		--out plugins/enigma_router/enigma_router/default_model
	$(BIN)/enigma eval router --model plugins/enigma_router/enigma_router/default_model \
		--data data/specialized/router_heldout.txt

models-vectors:  ## The router's word vectors from all-MiniLM-L6-v2 (~25 s; needs bench/.venv-minilm; deterministic)
	test -x bench/.venv-minilm/bin/python || bash bench/router/setup_baselines.sh
	bench/.venv-minilm/bin/python bench/router/build_vectors.py \
		plugins/enigma_router/enigma_router/minilm_vectors.safetensors --dims 128

models-code: $(STAMP)  ## The default code model (~25 min on one CPU thread)
	$(BIN)/enigma data code --out runs/code/stdlib.jsonl
	ENIGMA_HOME="$$(mktemp -d)" $(BIN)/enigma train code --size tiny --epochs 7 --seed 0 \
		--out runs/code/tiny --threads 1
	$(BIN)/python -m enigma_code.export runs/code/tiny plugins/enigma_code/enigma_code/weights

models-vision: $(STAMP)  ## The default caption model (~40 min on two CPU threads)
	ENIGMA_HOME="$$(mktemp -d)" $(BIN)/enigma train vision --seed 0 --threads 2 \
		--out plugins/enigma_vision/enigma_vision/weights
	rm -rf plugins/enigma_vision/enigma_vision/weights/checkpoint

lint: $(STAMP)
	$(BIN)/ruff check enigma_core plugins tests examples
	$(BIN)/ruff format --check enigma_core plugins tests examples
	$(BIN)/lint-imports  # architecture contracts in pyproject.toml [tool.importlinter]

# Ray Serve (enigma-core[ray]) is ~490 MB and ~160 s to install: only the tests and benchmarks
# that need it install it, not `make venv`/`make demo`.
RAY_STAMP := $(VENV)/.installed-ray
$(RAY_STAMP): $(STAMP)
	$(BIN)/pip install -q --disable-pip-version-check -e ".[ray]"
	touch $(RAY_STAMP)

test: $(STAMP) $(RAY_STAMP)
	$(BIN)/ruff check enigma_core plugins tests examples
	$(BIN)/ruff format --check enigma_core plugins tests examples
	$(BIN)/lint-imports
	$(BIN)/python -m pytest -q

clean:
	rm -rf $(VENV) .pytest_cache build dist

# --- shared tokenizer (owner: tokenizer/formats engineer) -------------------------------------
# The shipped tokenizer's sha256 is baked into every trained model: rebuild it only on purpose.
# `make tokenizer` reproduces the shipped file byte for byte (sha256 08d329e9f0b8be74...8791):
# training is deterministic (one thread, no sampling, no paths in the model) and reads the frozen
# snapshot data/tokenizer_corpus/*.txt (= data/specialized/*.txt as of 09:11 UTC; hashes in
# enigma_core/assets/tokenizer.manifest.json) plus a 4 MB deterministic sample of this Python's
# stdlib (same Python version needed: 3.11.7; sentencepiece 0.2.3). ~15 s on one core.
# To build a NEW tokenizer from today's data: make tokenizer TOKENIZER_DATA='data/specialized/*.txt'
# (then refresh data/tokenizer_corpus/ and retrain every model).
ENIGMA ?= $(BIN)/enigma
TOKENIZER_DATA ?= data/tokenizer_corpus/*.txt
TOKENIZER_OUT ?= enigma_core/assets/tokenizer.model

.PHONY: tokenizer tokenizer-info
tokenizer: $(STAMP)  ## Rebuild the shared tokenizer (same inputs -> same sha256; new inputs -> retrain models)
	$(ENIGMA) tokenizer train --data $(TOKENIZER_DATA) --stdlib-sample 4000000 \
		--data-repeat 4 --vocab-size 8192 --out $(TOKENIZER_OUT)

tokenizer-info:  ## Show the shipped tokenizer's path, sha256, vocab size and special ids
	$(ENIGMA) tokenizer info
