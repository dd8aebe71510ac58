"""The language a query is written in, among the languages of the indexed documents.

A delegate who asks in French should be answered from the French version of a
resolution when the index holds one. :class:`QueryLanguage` identifies the query's
language with py3langid (langid.py's model, shipped inside the package: no download),
restricted to the languages the index actually holds, and reports it only when the
model is sure (``MIN_CONFIDENCE``): short keyword queries and document symbols
(``A/RES/79/191 para 59``) are often ambiguous and then get no preference.

:func:`script_of` tells which script a query is written in (Latin, Cyrillic, Arabic, Han), and
:func:`unindexed_script` whether that is a script none of the index's languages is written in: BM25 cannot
match such a query's words, so its results come from meaning (dense search) only.
"""

from __future__ import annotations

from collections.abc import Iterable

MIN_CONFIDENCE = 0.9

LATIN, CYRILLIC, ARABIC, HAN = "Latin", "Cyrillic", "Arabic", "Han"
# The scripts languages are written in (ISO 639-1): the six UN languages and common others. A language not listed
# is of unknown script, and an index holding one never reports a query's script as absent.
LANGUAGE_SCRIPTS: dict[str, frozenset[str]] = {
    **{code: frozenset({LATIN}) for code in (
        "en fr es de it pt nl ca eu gl ga cy mt sq sv da no nb nn is fi et lv lt pl cs sk sl hr bs hu ro tr az "
        "uz id ms tl sw so ha yo ig zu xh af vi la eo").split()},
    **{code: frozenset({CYRILLIC}) for code in "ru uk be bg mk kk ky tg mn".split()},
    "sr": frozenset({CYRILLIC, LATIN}),
    **{code: frozenset({ARABIC}) for code in "ar fa ur ps ug".split()},
    "ku": frozenset({ARABIC, LATIN}),
    "zh": frozenset({HAN}),
    "ja": frozenset({HAN}),  # kanji: Han runs are analysed alike in every language (parasearch.analysis)
}
# What a notice calls the language of a query in a script the index lacks.
SCRIPT_LANGUAGE_NAMES = {HAN: "Chinese", ARABIC: "Arabic", CYRILLIC: "Russian", LATIN: "English, French or Spanish"}
# A Han character carries about as much as a short word: it counts for this many letters of another script.
HAN_WEIGHT = 3


def _script_of_char(c: str) -> str | None:
    o = ord(c)
    if o < 0x250:
        return LATIN if c.isalpha() else None
    if 0x400 <= o <= 0x52F or 0x1C80 <= o <= 0x1C8F or 0x2DE0 <= o <= 0x2DFF or 0xA640 <= o <= 0xA69F:
        return CYRILLIC
    if 0x600 <= o <= 0x6FF or 0x750 <= o <= 0x77F or 0x8A0 <= o <= 0x8FF or 0xFB50 <= o <= 0xFDFF \
            or 0xFE70 <= o <= 0xFEFF:
        return ARABIC if c.isalpha() else None
    if 0x3400 <= o <= 0x4DBF or 0x4E00 <= o <= 0x9FFF or 0xF900 <= o <= 0xFAFF or 0x20000 <= o <= 0x3134F:
        return HAN
    if 0x1E00 <= o <= 0x1EFF or 0xFF21 <= o <= 0xFF5A:  # Latin Extended Additional (Vietnamese), full-width
        return LATIN if c.isalpha() else None
    return "Other" if c.isalpha() else None


def script_of(text: str) -> str | None:
    """The script most of ``text``'s letters are written in: ``"Latin"``, ``"Cyrillic"``, ``"Arabic"`` or ``"Han"``.

    None when it has no letters, or when most are in another script (Greek, Devanagari, kana...). Words with
    digits or slashes (symbols such as ``S/RES/2672``, ``A/79/L.5``) are not counted: they are written alike in
    every language. A Han character counts for ``HAN_WEIGHT`` letters.
    """
    counts: dict[str, float] = {}
    for word in text.split():
        if any(ch.isdigit() or ch == "/" for ch in word):
            continue
        for ch in word:
            script = _script_of_char(ch)
            if script is not None:
                counts[script] = counts.get(script, 0) + (HAN_WEIGHT if script == HAN else 1)
    if not counts:
        return None
    script = max(counts, key=counts.__getitem__)
    return None if script == "Other" or counts[script] * 2 <= sum(counts.values()) else script


def unindexed_script(text: str, languages: Iterable[str]) -> str | None:
    """``text``'s script (:func:`script_of`) when none of ``languages`` (the index's document languages, ISO 639-1)
    is written in it, else None; None too when the script is unclear or a language's script is unknown.

    ``unindexed_script("安理会的决定", ["en", "fr"]) == "Han"``: the engine can then say that the index holds no
    documents in ``SCRIPT_LANGUAGE_NAMES["Han"]`` (Chinese) and that results come from meaning (dense search) only.
    """
    script = script_of(text)
    if script is None:
        return None
    known: set[str] = set()
    for lang in languages:
        if not lang:
            continue
        scripts = LANGUAGE_SCRIPTS.get(lang.lower().split("-")[0].split("_")[0])
        if scripts is None:
            return None
        known |= scripts
    return script if known and script not in known else None


class QueryLanguage:
    """Identifies queries among ``languages`` (ISO 639-1 codes, e.g. the index's document languages).

    The model (about 0.4 s to load) is loaded only when the index holds two or more
    languages; each instance has its own, restricted to its languages, so engines over
    different indexes never share state.
    """

    def __init__(self, languages: list[str], also: Iterable[str] = ()) -> None:
        # Candidates: the index's languages and ``also`` (the six UN languages, for the engine): a question in
        # Chinese over English documents is recognised as Chinese, and searched by meaning across languages.
        self.languages = sorted({lang for lang in (*languages, *also) if lang})
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
        """Whether there is a choice to make: at least two known candidate languages."""
        return self._ident is not None

    def detect(self, text: str) -> str | None:
        """The query's language among the candidates, or None when there is no choice or the model is unsure."""
        if self._ident is None or not text.strip():
            return None
        lang, prob = self._ident.classify(text)
        return lang if prob >= MIN_CONFIDENCE else None
