"""Plain-text and markdown rules (SPEC.md §4.4)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.domain.text_rules import (
    _parsed_as_plain,
    _parsed_without_html,
    _surely_plain,
    is_markdown,
    is_plain_text,
)


@pytest.mark.parametrize(
    "text",
    [
        "Error #404 not found.",
        "123. Text",  # list parsing disabled
        "1.234 is a number",
        "This *is not* markdown and _should_ be accepted",
        "Use the `--force` flag",
        "TEST\\'S TESTVERKSTED AS",
        "a\tb   c\n\nd\ne",
        "",
        None,
        "[text](https://x.no)",
        "- dash at start",
        "- # not a heading, lists are not parsed",
        "5 > 3 and 2 < 4",
    ],
)
def test_plain_text_accepted(text: str | None) -> None:
    assert is_plain_text(text)


@pytest.mark.parametrize(
    "text",
    [
        "# test",  # ATX heading
        "<h1>test</h1>",  # HTML block
        "hello <b>x</b>",  # inline HTML
        "Title\n===",  # setext heading
        "Title\n---",  # setext heading (level 2)
        "> quote",  # block quote
        "---",  # thematic breaks
        "***",
        "___",
        "| a | b |\n|---|---|",  # pipe table
        "<https://example.com>",  # autolink
        "`<h1>x</h1>`",  # backticks are stripped first, as in the original service
        "`# Title`",  # ... so backtick-wrapped markdown is markdown
        "``> quote``",
        "\\# test",  # ... and so are backslashes
    ],
)
def test_plain_text_rejected(text: str) -> None:
    assert not is_plain_text(text)


@pytest.mark.parametrize(
    "text",
    [
        "# Heading\n\nSome *emphasis* and **bold**.",
        "- a\n- b\n\n1. one\n2. two",
        "| a | b |\n|---|---|\n| 1 | 2 |",
        "**bold** and a [link](https://a.no)",
        "![image](https://a.no/x.png)",
        "<https://example.com>",
        "`<h1>x</h1>`",
        "```\n<div>html in a fence</div>\n```",
        "    <b>indented code</b>",
        "&#8212;",
        "~~strike~~",
        "",
    ],
)
def test_markdown_accepted(text: str) -> None:
    assert is_markdown(text)


@pytest.mark.parametrize(
    "text",
    [
        "<h1>test</h1>",  # html_block
        "Some text with <b>inline</b> html",  # html_inline in a paragraph
        "- item with <span>html</span>",  # html_inline inside a list item
        "<!-- comment -->",
    ],
)
def test_markdown_rejects_raw_html(text: str) -> None:
    assert not is_markdown(text)


# The shortcuts that skip the parser must never disagree with it: texts built mostly from the
# characters markdown gives meaning to, where a wrong shortcut would show.
_MARKUP_HEAVY = st.text(
    alphabet=st.sampled_from(list("#>|<=-*_`\\!&[]()   \t\n\r\x0b\x0c:/.1aZæ\u2028\u00a0")), max_size=40
)


@settings(max_examples=3000, deadline=None, database=None)
@given(_MARKUP_HEAVY)
def test_plain_text_shortcut_agrees_with_the_parser(text: str) -> None:
    if _surely_plain(text):
        assert _parsed_as_plain(text), repr(text)


@settings(max_examples=3000, deadline=None, database=None)
@given(_MARKUP_HEAVY)
def test_markdown_shortcut_agrees_with_the_parser(text: str) -> None:
    if "<" not in text:
        assert _parsed_without_html(text), repr(text)


@pytest.mark.parametrize("text", ["---", " * * *", "___", "Title\n===", "a | b\n--|--", "<b>x</b>"])
def test_texts_the_shortcut_leaves_to_the_parser(text: str) -> None:
    assert not _surely_plain(text)
    assert not is_plain_text(text)
