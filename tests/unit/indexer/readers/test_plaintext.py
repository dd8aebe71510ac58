"""indexer.readers.plaintext on inline texts: the three kinds of .txt it tells apart, and their locators."""

from __future__ import annotations

from indexer.readers.plaintext import is_numbered_blocks, read_plaintext, split_trailing_headings
from parasearch.types import NUMBERED, UNNUMBERED

# One numbered paragraph per block, with the document's symbol as a running header (hr/ reports).
BLOCKS = """A/HRC/99/1

1. The Special Rapporteur visited the country from 1 to 10 May.

2. She met with officials and civil society.

3. The Special Rapporteur recommends that the Government:

1. Adopt a national plan;

2. Train the police.

4. She thanks the Government for its cooperation.

A/HRC/99/1
"""


def test_numbered_blocks_keep_the_report_numbering_and_fold_restarted_lists() -> None:
    parsed = read_plaintext(BLOCKS, "A_HRC_99_1.txt")
    assert parsed.doc.symbol == "A/HRC/99/1"  # from the file name, as the text prints it as a running header
    ps = {p.para: p for p in parsed.paragraphs}
    assert list(ps) == ["1", "2", "3", "4"]
    assert all(p.kind == NUMBERED for p in ps.values())
    assert ps["3"].text == ("The Special Rapporteur recommends that the Government:\n1. Adopt a national plan;\n"
                            "2. Train the police.")
    assert ps["4"].text == "She thanks the Government for its cooperation."


def test_prose_is_segmented_like_markdown() -> None:
    text = ("Summary of the meeting\n\nThe meeting was opened by the Chair.\n\nTwo delegations spoke.\n\n"
            "1. The Working Group adopted its report.\n")
    parsed = read_plaintext(text, "note.txt")
    assert [(p.para, p.kind) for p in parsed.paragraphs] == [
        ("u-1-1", UNNUMBERED), ("u-1-2", UNNUMBERED), ("1", NUMBERED)]
    assert parsed.paragraphs[0].section == "Summary of the meeting"


def test_which_texts_are_numbered_blocks() -> None:
    assert is_numbered_blocks(["1. One.", "2. Two.", "3. Three.", "4. Four.", "Heading"])  # 4 of 5 numbered
    assert not is_numbered_blocks(["1. One.", "Prose here.", "More prose.", "Still prose."])
    assert not is_numbered_blocks(["1. One.", "2. Two."])  # too few to tell


def test_headings_glued_to_the_end_of_a_paragraph_are_cut_off() -> None:
    text = "The Special Rapporteur presents her conclusions and recommendations. II. Mandate A. History"
    assert split_trailing_headings(text) == (
        "The Special Rapporteur presents her conclusions and recommendations.", ["II. Mandate", "A. History"])
    assert split_trailing_headings("A paragraph that ends as it should.") == ("A paragraph that ends as it should.", [])
