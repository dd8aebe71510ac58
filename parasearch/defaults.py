"""The bundled models' names and parasearch's own cache directories.

A leaf module (it imports nothing from the project), so that :mod:`parasearch.config`, whose
``resolve_model`` converts multilingual-e5-small on first use, and that converter,
:mod:`indexer.e5_model`, can both import it without an import cycle.
"""

from __future__ import annotations

import os
from pathlib import Path

MINILM_MODEL = "all-MiniLM-L6-v2"  # English
E5_MODEL = "multilingual-e5-small"  # the six UN languages and ~100 more
REPO_ROOT = Path(__file__).resolve().parents[1]  # the checkout (or the installed packages' root)


def user_cache_dir(name: str, override: Path | None = None) -> Path:
    """Where parasearch keeps a cache of its own (converted models, ONNX exports): ``override`` (a setting) when
    given, else ``$XDG_CACHE_HOME/parasearch/<name>`` (default ``~/.cache/parasearch/<name>``)."""
    if override:
        return Path(override).expanduser()
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "parasearch" / name
