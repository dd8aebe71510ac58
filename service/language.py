"""The language a query is written in, among the languages of the indexed documents.

A delegate who asks in French should be answered from the French version of a
resolution when the index holds one. :class:`QueryLanguage` identifies the query's
language with py3langid (langid.py's model, shipped inside the package: no download),
restricted to the languages the index actually holds, and reports it only when the
model is sure (``MIN_CONFIDENCE``): short keyword queries and document symbols
(``A/RES/79/191 para 59``) are often ambiguous and then get no preference.
"""

from __future__ import annotations

MIN_CONFIDENCE = 0.9


class QueryLanguage:
    """Identifies queries among ``languages`` (ISO 639-1 codes, e.g. the index's document languages).

    The model (about 0.4 s to load) is loaded only when the index holds two or more
    languages; each instance has its own, restricted to its languages, so engines over
    different indexes never share state.
    """

    def __init__(self, languages: list[str]) -> None:
        self.languages = sorted({lang for lang in languages if lang})
        self._ident = None
        if len(self.languages) > 1:
            from py3langid.langid import MODEL_DIR, MODEL_FILE, LanguageIdentifier

            ident = LanguageIdentifier.from_modelpath(MODEL_DIR / MODEL_FILE, norm_probs=True)
            self.languages = [lang for lang in self.languages if lang in set(ident.nb_classes)]
            if len(self.languages) > 1:
                ident.set_languages(self.languages)
                self._ident = ident

    @property
    def active(self) -> bool:
        """Whether there is a choice to make: at least two known languages in the index."""
        return self._ident is not None

    def detect(self, text: str) -> str | None:
        """The query's language, or None when the index has one language or the model is unsure."""
        if self._ident is None or not text.strip():
            return None
        lang, prob = self._ident.classify(text)
        return lang if prob >= MIN_CONFIDENCE else None
