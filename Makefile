# Convenience targets; the README's quick start needs only python3.
VENV := .venv
PY := $(VENV)/bin/python

.PHONY: install test lint bench clean

$(VENV)/bin/planner: pyproject.toml
	python3 -m venv $(VENV) && $(VENV)/bin/pip install -q -e '.[test]'

install: $(VENV)/bin/planner

test: install
	$(VENV)/bin/pytest

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports

bench: install
	$(PY) benchmarks/run_all.py

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .ruff_cache
