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

test:
	./scripts/setup.sh --browser
	.venv/bin/ruff check .
	.venv/bin/pytest -q

lint:
	.venv/bin/ruff check .
