"""Context at index time: what a paragraph is embedded with.

A paragraph such as "Decides to extend the mandate until 15 March 2023" says little without its document. With a
context, each paragraph is embedded after its document's title (``title``) and also its section heading
(``title+section``), one line each, so that the dense arms see what the paragraph is about. Only the vectors
change: BM25, the stored text, snippets, token counts and citations are the paragraph's own text, and queries
are embedded as before. A paragraph longer than the model's window keeps the context in its first window.

The choice is recorded in the index manifest (``embedding_context``; an index built before it was recorded has
none) and an incremental update embeds the documents it adds the same way. The embedding cache keys on the text
embedded, so a context is embedded once (and the first build with another context embeds everything again).
"""

from __future__ import annotations

from parasearch.types import ParsedDocument

CONTEXTS = ("none", "title", "title+section")
# The default since 2026-12-06: over the full English index it raised the dev questions' nDCG@10, in the fused
# order and re-ranked (cross-validated); docs/evaluation.md, "Context at index time".
DEFAULT_CONTEXT = "title+section"
MAX_CONTEXT_WORDS = 24  # a long title or heading path is cut: the paragraph must keep most of the window


def _clip(text: str, words: int = MAX_CONTEXT_WORDS) -> str:
    parts = text.split()
    return " ".join(parts[:words]) + (" …" if len(parts) > words else "")


def embedding_text(title: str, section: str, text: str, context: str) -> str:
    """The text a paragraph is embedded as, under ``context`` (one of :data:`CONTEXTS`)."""
    if context not in CONTEXTS:
        raise ValueError(f"embedding context must be one of {', '.join(CONTEXTS)}, not {context!r}")
    lines = []
    if context != "none" and title.strip():
        lines.append(_clip(title))
    if context == "title+section" and section.strip():
        lines.append(_clip(section.replace(" > ", ": ")))
    return "\n".join([*lines, text]) if lines else text


def embedding_texts(docs: list[tuple[ParsedDocument, str]], context: str) -> list[str]:
    """Every paragraph of ``docs``, in order, as it is embedded under ``context``."""
    return [embedding_text(parsed.doc.title or "", p.section, p.text, context)
            for parsed, _ in docs for p in parsed.paragraphs]
