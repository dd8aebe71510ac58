"""Shared types: documents, paragraphs and citations.

Every module of the pipeline (corpus -> indexer -> index files -> service ->
clients) speaks these types; nothing else defines a document or a citation.

Paragraph locators (``Paragraph.para``) are short, URL-safe strings:

* ``"14"``            numbered paragraph 14 of the document body
                      -> ``SYMBOL, para. 14``
* ``"preamble-3"``    third preambular (unnumbered) paragraph of a resolution
                      -> ``SYMBOL, preamble, para. 3``
* ``"annex-5"``       paragraph 5 of an annex (numbering restarted there)
                      -> ``SYMBOL, annex, para. 5``
* ``"annex-II-5"``    paragraph 5 of annex II -> ``SYMBOL, annex II, para. 5``
* ``"sect-II-4"``     paragraph 4 of section II, where every section restarts the
                      numbering (Fifth Committee resolutions) -> ``SYMBOL, section II, para. 4``
* ``"u-3-2"``         second unnumbered paragraph of the document's 3rd section
                      (0 = before any heading) -> ``SYMBOL, section 3, unnumbered para. 2``
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from typing import NotRequired, TypedDict

from parasearch.errors import DocumentError as DocumentError  # the readers raise it; defined with the other errors

# The kinds of paragraph, named by how the document itself numbers them.
# The six official languages of the United Nations (ISO 639-1), in the order its documents list them (by English
# name), and their names in English.
UN_LANGUAGES = ("ar", "zh", "en", "fr", "ru", "es")
LANGUAGE_NAMES = {"ar": "Arabic", "zh": "Chinese", "en": "English", "fr": "French", "ru": "Russian", "es": "Spanish"}


def language_order(code: str) -> tuple[int, str]:
    """Sort key for language versions: the six UN languages in the UN's order, then any other by code."""
    return (UN_LANGUAGES.index(code), "") if code in UN_LANGUAGES else (len(UN_LANGUAGES), code)


NUMBERED = "numbered"
PREAMBLE = "preamble"
ANNEX = "annex"
UNNUMBERED = "unnumbered"
PARAGRAPH_KINDS = (NUMBERED, PREAMBLE, ANNEX, UNNUMBERED)


@dataclass
class Document:
    """One source document and its metadata."""

    symbol: str
    title: str = ""
    date: str | None = None  # ISO 8601 (YYYY-MM-DD) when known; YYYY when only the year is (year_from_symbol)
    body: str | None = None  # e.g. "General Assembly", "Security Council"
    type: str | None = None  # e.g. "resolution", "report", "draft resolution"
    language: str = "en"  # ISO 639-1
    source: str = ""  # path of the file it was read from


@dataclass
class Paragraph:
    """One citable paragraph, with the locator the document prints."""

    para: str  # locator, see module docstring
    text: str
    kind: str = NUMBERED
    section: str = ""  # heading path, " > "-joined, e.g. "II. Recommendations > A. Assistance"


@dataclass
class ParsedDocument:
    doc: Document
    paragraphs: list[Paragraph] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


_ANNEX_RE = re.compile(r"^annex(?:-([A-Za-z0-9]+))?-(\d+[a-z]?)$")
_PRE_RE = re.compile(r"^preamble-(\d+)$")
_UNNUM_RE = re.compile(r"^u-(\d+)-(\d+)$")
_SECT_RE = re.compile(r"^sect-([A-Za-z0-9.]+)-(\d+[a-z]?)$")


def locator_label(para: str) -> str:
    """Human form of a locator: "14" -> "para. 14", "preamble-3" -> "preamble, para. 3"."""
    if m := _PRE_RE.match(para):
        return f"preamble, para. {m.group(1)}"
    if m := _ANNEX_RE.match(para):
        annex = f"annex {m.group(1)}" if m.group(1) else "annex"
        return f"{annex}, para. {m.group(2)}"
    if m := _SECT_RE.match(para):
        return f"section {m.group(1)}, para. {m.group(2)}"
    if m := _UNNUM_RE.match(para):
        sec = int(m.group(1))
        where = "introduction" if sec == 0 else f"section {sec}"
        return f"{where}, unnumbered para. {m.group(2)}"
    return f"para. {para}"


def citation(symbol: str, para: str) -> str:
    """The citation shown to users: ``CTOC/COP/WG.2/2013/5, para. 14``."""
    return f"{symbol}, {locator_label(para)}"


def normalize_symbol(symbol: str) -> str:
    """Canonical key for comparing symbols: case, spacing and width folded.

    ``S/RES/2672 (2023)`` == ``s/res/2672(2023)``; ``CTOC/COP/WG.2/2013/CRP. 1``
    == ``ctoc/cop/wg.2/2013/crp.1``.
    """
    s = unicodedata.normalize("NFKC", symbol).lower()
    return re.sub(r"\s+", "", s)


_HRC_SESSION = re.compile(r"^A/HRC/(\d{1,2})/", re.IGNORECASE)
_GA_SESSION = re.compile(r"^A/(\d{2})/\d", re.IGNORECASE)  # A/65/162: a document of the 65th session
_YEAR_IN_SYMBOL = re.compile(r"^E/CN\.\d+/((?:19|20)\d\d)/", re.IGNORECASE)  # E/CN.4/2001/66


def year_from_symbol(symbol: str) -> int | None:
    """The year a document was issued in, as its symbol tells it; None when it does not.

    * ``A/HRC/40/59``: Human Rights Council, 40th session; three sessions a year since June 2006 -> 2019;
    * ``A/65/162``: General Assembly, 65th session, which opens in September 1945 + 65; reports to it
      are issued in the months before -> 2010;
    * ``E/CN.4/2001/66``: the year is in the symbol -> 2001.
    """
    if m := _HRC_SESSION.match(symbol):
        return 2006 + (int(m.group(1)) - 1) // 3
    if m := _GA_SESSION.match(symbol):
        return 1945 + int(m.group(1))
    if m := _YEAR_IN_SYMBOL.match(symbol):
        return int(m.group(1))
    return None


def normalize_text(text: str) -> str:
    """Key for detecting the same paragraph repeated across documents."""
    s = unicodedata.normalize("NFKC", text).lower()
    s = re.sub(r"[\u2018\u2019\u201c\u201d\"'`]", "", s)
    s = re.sub(r"[^\w]+", " ", s)
    return s.strip()


# -- the index manifest (``manifest.json`` of a generation, see parasearch.indexfiles) ----------------------------


class ModelRecord(TypedDict):
    """A dense arm's model, as the manifest records it (``indexer.embed.describe``)."""

    name: str
    path: str  # where it was loaded from on the machine that built the index (see config.recorded_model)
    identity: str  # name@hash of the model's files
    dim: int
    max_tokens: int  # word pieces per window
    backend: str  # "torch", "onnx", "onnx-int8"
    query_prompt: str
    passage_prompt: str
    languages: list[str] | None  # the languages its arm serves (None: any)


class ManifestCounts(TypedDict):
    documents: int
    paragraphs: int
    vectors: int  # of the first arm
    vectors_per_model: list[int]
    dead_vectors_per_model: NotRequired[list[int]]  # tombstoned by updates, per arm (written by an update)


class ManifestProblem(TypedDict):
    path: str
    reason: str


class ManifestAnalysis(TypedDict):
    version: int  # parasearch.analysis.ANALYSIS_VERSION the BM25 terms were analysed with
    bm25: str


class ManifestUpdate(TypedDict):
    """The last incremental update (``indexer.update``)."""

    base: str  # the generation it was made from
    added: list[str]
    replaced: list[str]
    removed: list[str]
    seconds: dict[str, float]


class Manifest(TypedDict):
    """What ``manifest.json`` holds, as ``indexer.build`` writes it and ``indexer.update`` rewrites it.

    The keys marked NotRequired may be missing from an index written by an earlier version (read them with
    ``.get``); ``update`` is there once an index has been updated.
    """

    format: int  # parasearch.indexfiles.FORMAT_VERSION
    model: ModelRecord  # the first arm's
    models: NotRequired[list[ModelRecord]]  # every dense arm, in order (the first is "model")
    index_type: NotRequired[str]  # the first arm's FAISS index: "flat" or "hnsw"
    index_types: NotRequired[list[str]]  # per arm
    index_type_requested: NotRequired[str]  # "auto", "flat" or "hnsw"
    analysis: NotRequired[ManifestAnalysis]
    embedding_context: NotRequired[str]  # what paragraphs were embedded with (indexer.context); absent: "none"
    built_at: str  # UTC, ISO 8601
    counts: ManifestCounts
    build_seconds: NotRequired[dict[str, float]]
    files: NotRequired[dict[str, str]]  # source path -> sha256 of its content
    problems: NotRequired[list[ManifestProblem]]
    update: NotRequired[ManifestUpdate]
