# Quick start: `make ui` (set up, then open the browser UI on the default scenario)
# and `make test` (set up, then run the test suite). Both install what they need.
.PHONY: setup ui run test lint bench

setup:
	@bash scripts/bootstrap.sh

ui: setup
	.venv/bin/guanxi ui

run: setup
	.venv/bin/guanxi run baseline

test: setup
	.venv/bin/ruff check .
	.venv/bin/ruff format --check .
	.venv/bin/python -m pytest -n 2

bench: setup
	.venv/bin/python benchmarks/run_baseline.py
