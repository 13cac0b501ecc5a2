# tuivirt: `make run` opens the console; `make test` brings the lab up and runs everything.
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: run test lab lab-down lint bench deps clean

run: $(STAMP)
	$(VENV)/bin/tuivirt

# Build dependencies of libvirt-python (it compiles against libvirt-dev).
deps:
	@if ! pkg-config --exists libvirt 2>/dev/null || ! command -v gcc >/dev/null; then \
	    echo "installing libvirt-dev, pkg-config, gcc (needs root)"; \
	    apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
	        --no-install-recommends libvirt-dev pkg-config gcc python3-dev; \
	fi

$(STAMP): pyproject.toml | deps
	python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	touch $(STAMP)

lab:
	bash tests/lab/up

lab-down:
	bash tests/lab/down

lint: $(STAMP)
	$(VENV)/bin/ruff check tuivirt tests
	$(VENV)/bin/mypy

bench: $(STAMP) lab
	$(PY) tests/bench/bench_list.py
	$(PY) tests/bench/bench_connect.py
	$(PY) tests/bench/bench_ui.py

# The whole suite: the lab, lint, the benchmarks' figures, then every test.
test: $(STAMP) lab
	$(VENV)/bin/ruff check tuivirt tests
	$(VENV)/bin/mypy
	$(PY) tests/bench/bench_list.py
	$(PY) tests/bench/bench_connect.py
	$(PY) tests/bench/bench_ui.py --runs 5
	$(PY) -m pytest -p no:cacheprovider -q tests

clean:
	rm -rf $(VENV) build *.egg-info
