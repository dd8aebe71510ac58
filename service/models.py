"""HTTP response models: what clients of the service get, documented in OpenAPI."""

from __future__ import annotations

from pydantic import BaseModel, Field

from service.answer import ANSWER_K


class Citation(BaseModel):
    symbol: str = Field(examples=["CTOC/COP/WG.2/2013/5"])
    para: str = Field(description="Paragraph locator as printed: '14', 'preamble-3', 'annex-5'", examples=["9"])
    citation: str = Field(examples=["CTOC/COP/WG.2/2013/5, para. 9"])


class ModeScore(BaseModel):
    rank: int
    score: float


class SearchResult(BaseModel):
    rank: int
    score: float = Field(description="Fused (hybrid) or single-mode score; higher is better")
    symbol: str
    para: str
    citation: str
    text: str
    snippet: str = Field(description="The text, HTML-escaped, with matching query terms in <mark>")
    title: str
    date: str | None
    body: str | None
    type: str | None
    language: str
    section: str
    also_in: list[Citation] = Field(
        default_factory=list, description="The same paragraph, word for word, in other documents"
    )
    scores: dict[str, ModeScore] = Field(
        default_factory=dict, description="Per-mode rank and score (dense, bm25, fused, reference)"
    )


class ReferenceInfo(BaseModel):
    named: str | None = Field(description="The document the query names, as recognised")
    para: str | None
    found: bool


class SearchResponse(BaseModel):
    query: str
    mode: str
    took_ms: float
    results: list[SearchResult]
    reference: ReferenceInfo | None = None
    notice: str | None = Field(default=None, description="Something the user should know about the results")
    language: str | None = Field(default=None, examples=["fr"], description=(
        "The language the query is written in, when the index holds several and it is clear (hybrid search "
        "prefers paragraphs in it); null otherwise"))
    years: list[int] = Field(default_factory=list, examples=[[2024]], description=(
        "The years the query names ('in 2024', 'from 2020 to 2023', 'eightieth session'): hybrid search "
        "prefers documents of those years, and shows a repeated paragraph from one of them"))


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
    paragraphs: list[ParagraphOut]


class DocumentList(BaseModel):
    total: int
    documents: list[DocumentSummary]


class Health(BaseModel):
    status: str
    documents: int
    paragraphs: int
    vectors: int
    model: str
    index_type: str
    built_at: str


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
    mode: str = Field(default="hybrid", pattern="^(hybrid|dense|bm25)$", description="Retrieval mode")


class AnswerCitationOut(Citation):
    passage: int = Field(description="Number (1-based rank) of the passage in `passages` that backs the sentence")


class AnswerSentenceOut(BaseModel):
    text: str
    citations: list[AnswerCitationOut]
    supported: bool = Field(
        default=True, description="False: no citation could be backed; the sentence is not part of `answer`"
    )
    score: float | None = Field(default=None, description="Extractive: cosine similarity to the question")


class AnswerResponse(BaseModel):
    question: str
    answer: str = Field(description="The backed sentences, each followed by its citations in brackets")
    found: bool = Field(description="False when the documents do not contain an answer")
    method: str = Field(examples=["extractive", "llm", "extractive (llm failed: timeout)"])
    took_ms: float
    sentences: list[AnswerSentenceOut]
    passages: list[SearchResult] = Field(description="The retrieved passages, best first (numbered from 1)")
    confidence: dict[str, float] = Field(default_factory=dict, description="The evidence behind `found`")
