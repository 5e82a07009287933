"""Keyword intents: the word-set prefilter never rejects a keyword the exact scan would find."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from modelrouter.selection.matching import _contains_word
from modelrouter.text import words_of

_ALPHABET = st.sampled_from(list("ab c-_+.é中\n1"))


@given(text=st.text(_ALPHABET, max_size=40), keyword=st.text(_ALPHABET, min_size=1, max_size=6))
def test_prefilter_is_a_necessary_condition(text: str, keyword: str) -> None:
    # Given any text and keyword, When the exact whole-word scan finds the keyword,
    # Then every word of the keyword is in the text's word set (so skipping on a miss is safe)
    if keyword.strip() and _contains_word(text, keyword):
        assert words_of(keyword) <= words_of(text)


def test_whole_words_only() -> None:
    # Given "bug" as a keyword, Then it matches "a bug-fix" and "bug." but not "debugger"
    assert _contains_word("a bug-fix", "bug")
    assert _contains_word("found a bug.", "bug")
    assert not _contains_word("the debugger", "bug")
    assert _contains_word("stack trace here", "stack trace")


def test_words_of_handles_non_ascii() -> None:
    assert words_of("grüße, 世界 and c++") == frozenset({"grüße", "世界", "and", "c"})
