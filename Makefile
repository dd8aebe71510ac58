# The two commands (see README): `make run` and `make test`.
PORT ?= 8000
INDEX ?= .index/default

.PHONY: setup run index serve test lint

setup:
	./scripts/setup.sh

index: setup
	.venv/bin/parasearch index corpus --index $(INDEX)

run: index
	.venv/bin/parasearch serve --index $(INDEX) --port $(PORT)

# One line per test file as it runs (with the share done), then the slowest tests: the suite takes minutes.
test:
	./scripts/setup.sh --browser
	.venv/bin/ruff check .
	.venv/bin/mypy
	.venv/bin/pytest --durations=5

lint:
	.venv/bin/ruff check .
	.venv/bin/mypy
