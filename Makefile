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

SOURCES := $(shell find tuivirt themes -name '*.py' -o -name '*.toml' -o -name '*.tcss' \
                -o -name '*.xml' 2>/dev/null)

# A regular (not editable) install: an editable one adds an import hook to every Python
# start, 10-17 ms of `tuivirt list`. Tests run `python -m tuivirt` from this tree anyway.
$(STAMP): pyproject.toml $(SOURCES) | deps
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q '.[dev]'
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
	$(PY) tests/bench/bench_console.py
	$(PY) tests/bench/bench_storage.py
	$(PY) tests/bench/bench_create.py
	$(PY) tests/bench/bench_images.py
	$(PY) tests/bench/bench_logs.py
	$(PY) tests/bench/bench_fleet.py
	$(PY) tests/bench/bench_fleet_ui.py --ssh-hosts 100

# The whole suite: the lab, lint, the benchmarks' figures, then every test.
test: $(STAMP) lab
	$(VENV)/bin/ruff check tuivirt tests
	$(VENV)/bin/mypy
	# Figures, not verdicts: a benchmark that breaks says so loudly but fails no build.
	$(PY) tests/bench/bench_list.py || echo "BENCHMARK FAILED: bench_list"
	$(PY) tests/bench/bench_connect.py || echo "BENCHMARK FAILED: bench_connect"
	$(PY) tests/bench/bench_ui.py --runs 5 || echo "BENCHMARK FAILED: bench_ui"
	$(PY) tests/bench/bench_console.py || echo "BENCHMARK FAILED: bench_console"
	$(PY) tests/bench/bench_storage.py || echo "BENCHMARK FAILED: bench_storage"
	$(PY) tests/bench/bench_create.py --runs 3 || echo "BENCHMARK FAILED: bench_create"
	$(PY) tests/bench/bench_images.py || echo "BENCHMARK FAILED: bench_images"
	$(PY) tests/bench/bench_logs.py || echo "BENCHMARK FAILED: bench_logs"
	$(PY) tests/bench/bench_fleet.py || echo "BENCHMARK FAILED: bench_fleet"
	$(PY) tests/bench/bench_fleet_ui.py --runs 3 --ssh-hosts 100 || echo "BENCHMARK FAILED: bench_fleet_ui"
	$(PY) -m pytest -p no:cacheprovider -q tests

clean:
	rm -rf $(VENV) build *.egg-info
