"""HTTP response models: what clients of the service get, documented in OpenAPI."""

from __future__ import annotations

from pydantic import BaseModel, Field

from parasearch.settings import Mode
from service.answer import ANSWER_K

LANGUAGE_DESCRIPTION = "The language of this version of the document (ISO 639-1)"
URL_DESCRIPTION = (
    "The document view of this language version, at the paragraph's anchor `#para-<locator>`: "
    "`/documents/{symbol}?language={language}#para-{para}` (the symbol's slashes kept, other characters "
    "percent-encoded; prefixed with the service's root path when it is mounted under one)"
)
VERSIONS_DESCRIPTION = (
    "The other languages the same document (symbol) is indexed in, each linking to the same paragraph's anchor "
    "in that version (in the UN's order: ar, zh, en, fr, ru, es, then others). The same symbol and paragraph "
    "locator in several languages is one citation"
)


class VersionLink(BaseModel):
    """Another language version of a document, or of one paragraph of it."""

    language: str = Field(examples=["en"], description="ISO 639-1 code of the version")
    url: str = Field(examples=["/documents/S/RES/2672%20(2023)?language=en#para-3"],
                     description="The document view of that version (at the paragraph's anchor, for a paragraph)")


class Citation(BaseModel):
    symbol: str = Field(examples=["CTOC/COP/WG.2/2013/5"])
    para: str = Field(description="Paragraph locator as printed: '14', 'preamble-3', 'annex-5'", examples=["9"])
    citation: str = Field(examples=["CTOC/COP/WG.2/2013/5, para. 9"], description=(
        "Symbol and paragraph: the same in every language version"))
    language: str | None = Field(default=None, examples=["en"], description=LANGUAGE_DESCRIPTION)
    url: str | None = Field(default=None, examples=["/documents/CTOC/COP/WG.2/2013/5?language=en#para-9"],
                            description=URL_DESCRIPTION)


class ModeScore(BaseModel):
    rank: int
    score: float


class SearchResult(BaseModel):
    """One paragraph, in one language version; the other versions of the same citation are in ``versions``."""

    model_config = {"json_schema_extra": {"examples": [{
        "rank": 1, "score": 3.21, "symbol": "S/RES/2672 (2023)", "para": "3",
        "citation": "S/RES/2672 (2023), para. 3", "language": "fr",
        "url": "/documents/S/RES/2672%20(2023)?language=fr#para-3",
        "versions": [{"language": "en", "url": "/documents/S/RES/2672%20(2023)?language=en#para-3"}],
        "text": "Décide de prolonger ...", "snippet": "Décide de prolonger ...", "title": "Résolution 2672 (2023)",
        "date": "2023-01-09", "body": "Security Council", "type": "resolution", "section": "", "also_in": [],
        "scores": {"fused": {"rank": 1, "score": 3.21}},
    }]}}

    rank: int
    score: float = Field(description="Re-ranker, fused (hybrid) or single-mode score; higher is better")
    symbol: str
    para: str
    citation: str = Field(description="Symbol and paragraph: the same in every language version")
    text: str = Field(description="The paragraph's text in this version's `language`")
    snippet: str = Field(description="The text, HTML-escaped, with matching query terms in <mark>")
    title: str
    date: str | None
    body: str | None
    type: str | None
    language: str = Field(examples=["fr"], description=(
        "The language of the version shown (ISO 639-1): the query's language (`SearchResponse.language`) when the "
        "paragraph is indexed in it, else that of the best-scoring version"))
    url: str = Field(examples=["/documents/S/RES/2672%20(2023)?language=fr#para-3"], description=URL_DESCRIPTION)
    versions: list[VersionLink] = Field(default_factory=list, description=VERSIONS_DESCRIPTION)
    section: str
    also_in: list[Citation] = Field(
        default_factory=list, description="The same paragraph, word for word, in other documents"
    )
    scores: dict[str, ModeScore] = Field(
        default_factory=dict, description="Per-mode rank and score (dense, bm25, fused, rerank, reference)"
    )
    relevance: float | None = Field(default=None, ge=0, le=1, description=(
        "The calibrated probability that this paragraph is relevant to the query, from the learned re-ranker's "
        "score; null when the search was not re-ranked"))
    weak: bool = Field(default=False, description=(
        "True when the evidence for this result is weak (`relevance` below one half): shown as a possible match, "
        "not as one"))


class ReferenceInfo(BaseModel):
    named: str | None = Field(description="The document the query names, as recognised")
    para: str | None
    found: bool


class FacetValue(BaseModel):
    value: str = Field(examples=["Security Council"], description="The filter's value (a year as four digits)")
    paragraphs: int = Field(description="Results (citations) with this value among the ranked results counted")
    documents: int = Field(description="Distinct documents (language versions) among those results")


class SearchFacets(BaseModel):
    """How the ranked results of a search spread over each filter's values: the counts a filter can show beside
    each of its choices. Counted over the same ranked list the pages are cut from (``SearchResponse.pool``
    results, the filters applied), so they cost the search nothing more."""

    body: list[FacetValue] = Field(default_factory=list, description="Most results first")
    type: list[FacetValue] = Field(default_factory=list, description="Most results first")
    language: list[FacetValue] = Field(default_factory=list, description="Most results first")
    year: list[FacetValue] = Field(default_factory=list, description="Newest first")


class SearchResponse(BaseModel):
    query: str
    mode: str
    took_ms: float
    results: list[SearchResult]
    offset: int = Field(default=0, description="The position of the first result in the ranked list (0-based)")
    sort: str = Field(default="relevance", examples=["relevance"], description=(
        "`relevance` (the search's order) or `date` (the ranked list re-ordered by document date, newest first; "
        "each result keeps its `rank` by relevance)"))
    pool: int | None = Field(default=None, description=(
        "How many results the ranked list the page was cut from holds (the plain search's, carried on through "
        "the candidates it retrieved: about 100 to 200); null for a plain search (no offset, sort or facets "
        "asked for)"))
    has_more: bool | None = Field(default=None, description=(
        "Whether results follow this page (ask for `offset` + `k`); null for a plain search"))
    facets: SearchFacets | None = Field(default=None, description="With `facets=true`: each filter's values "
                                                                  "among the ranked results, with counts")
    reference: ReferenceInfo | None = None
    notice: str | None = Field(default=None, description="Something the user should know about the results")
    language: str | None = Field(default=None, examples=["fr"], description=(
        "The language the query is written in, when the index holds several and it is clear (hybrid search "
        "prefers paragraphs in it, and a result indexed in several languages is shown in it); null otherwise"))
    years: list[int] = Field(default_factory=list, examples=[[2024]], description=(
        "The years the query names ('in 2024', 'from 2020 to 2023', 'eightieth session'): hybrid search "
        "prefers documents of those years, and shows a repeated paragraph from one of them"))
    state: str | None = Field(default=None, examples=["answer"], description=(
        "How sure the service is of its first result: `answer` (likely right: held out, 9 in 10 so labelled are "
        "gold), `closest` (shown, but possibly not answering), `not_found` (nothing matches well); null when the "
        "search was not re-ranked"))
    confidence: float | None = Field(default=None, ge=0, le=1, description=(
        "The calibrated probability that the first result is right; null when the search was not re-ranked"))


class ParagraphOut(BaseModel):
    symbol: str
    para: str
    citation: str
    kind: str
    section: str
    text: str
    n_tokens: int


class DocumentSummary(BaseModel):
    symbol: str
    title: str
    date: str | None
    body: str | None
    type: str | None
    language: str
    n_paragraphs: int


class DocumentOut(DocumentSummary):
    versions: list[VersionLink] = Field(default_factory=list, description=(
        "The other languages this document (symbol) is indexed in, each linking to that version "
        "(`/documents/{symbol}?language=xx`; add `#para-<locator>` for a paragraph)"),
        examples=[[{"language": "fr", "url": "/documents/S/RES/2672%20(2023)?language=fr"}]])
    paragraphs: list[ParagraphOut]


class DocumentList(BaseModel):
    total: int
    documents: list[DocumentSummary]


class SymbolSuggestion(BaseModel):
    """An indexed document whose symbol completes what was typed."""

    symbol: str = Field(examples=["S/RES/2672 (2023)"])
    title: str
    date: str | None
    languages: list[str] = Field(examples=[["en", "fr"]], description="The languages it is indexed in, UN order")
    url: str = Field(examples=["/documents/S/RES/2672%20(2023)"], description="Its document view")


class SymbolSuggestions(BaseModel):
    prefix: str = Field(description="What was typed, as received")
    suggestions: list[SymbolSuggestion] = Field(description=(
        "Symbols that start with it (compared without case, spaces or width), then symbols in which it starts a "
        "part after a slash (`79/191` finds `A/RES/79/191`); newest first within each; one per symbol"))


class Health(BaseModel):
    status: str
    documents: int
    paragraphs: int
    vectors: int = Field(description="Vectors of the first model (its dense arm)")
    model: str = Field(description="The first model (dense arm) the index was built with")
    models: list[str] = Field(default_factory=list, examples=[["multilingual-e5-small", "all-MiniLM-L6-v2"]],
                              description="Every model the index was built with, one dense arm each, fused with "
                                          "BM25 at query time")
    index_type: str
    built_at: str
    generation: str | None = Field(default=None, description="The index generation being served (a new one is "
                                                              "switched to once published)")


class ErrorOut(BaseModel):
    detail: str


# -- Answers (POST /answer, POST /answer/stream) ------------------------------------------------


class AnswerFilters(BaseModel):
    symbol: list[str] = Field(default_factory=list, description="Exact symbol or prefix (`CTOC/COP`)")
    body: list[str] = Field(default_factory=list, description="e.g. `General Assembly`")
    type: list[str] = Field(default_factory=list, description="e.g. `resolution`, `report`")
    language: list[str] = Field(default_factory=list, description="ISO 639-1, e.g. `en`")
    date_from: str | None = Field(default=None, description="YYYY, YYYY-MM or YYYY-MM-DD, inclusive")
    date_to: str | None = Field(default=None, description="YYYY, YYYY-MM or YYYY-MM-DD, inclusive")


class AnswerRequest(BaseModel):
    question: str = Field(min_length=1, max_length=1000, examples=["What did the Working Group recommend on "
                                                                     "protecting witnesses' families?"])
    k: int = Field(default=ANSWER_K, ge=1, le=20, description="Passages retrieved and given to the answerer")
    filters: AnswerFilters | None = None
    mode: Mode = Field(default=Mode.HYBRID, description="Retrieval mode")


class AnswerCitationOut(Citation):
    """The paragraph backing a sentence, in the language version quoted (the question's, when indexed)."""

    passage: int = Field(description="Number (1-based rank) of the passage in `passages` that backs the sentence")
    versions: list[VersionLink] = Field(default_factory=list, description=VERSIONS_DESCRIPTION)


class AnswerSentenceOut(BaseModel):
    text: str
    citations: list[AnswerCitationOut]
    supported: bool = Field(
        default=True, description="False: no citation could be backed; the sentence is not part of `answer`"
    )
    score: float | None = Field(default=None, description="Extractive: cosine similarity to the question")


class ListItemOut(Citation):
    """One line of a list answer: a document and the paragraph that answers for it."""

    date: str | None = Field(description="The document's date (lines are newest first)")
    title: str
    text: str = Field(description="The cited paragraph's text")


class AnswerResponse(BaseModel):
    question: str
    answer: str = Field(description="The backed sentences, each followed by its citations in brackets")
    found: bool = Field(description="False when the documents do not contain an answer")
    method: str = Field(examples=["extractive", "llm", "extractive (llm failed: timeout)"])
    took_ms: float
    sentences: list[AnswerSentenceOut]
    passages: list[SearchResult] = Field(description="The retrieved passages, best first (numbered from 1)")
    confidence: dict[str, float] = Field(default_factory=dict, description=(
        "The evidence behind `found` and `state`: `probability` (calibrated: that the lead passage is right; "
        "present when the search was re-ranked), `score` (compared with the not-found threshold), `sentence`, "
        "`dense`, `coverage`"))
    state: str = Field(default="answer", examples=["answer"], description=(
        "`answer` (likely right: held out, 9 in 10 leads so labelled are gold), `closest` (the closest passage, "
        "shown but possibly not answering the question), `not_found` (the documents do not answer it)"))
    items: list[ListItemOut] = Field(default_factory=list, description=(
        "For a question whose answer spans documents ('Which resolutions renewed ...'): one line per document, "
        "newest first, each citing its paragraph; empty otherwise"))
