"""Plain-text and markdown checks for correspondence texts (SPEC.md §4.4).

Pure: no Flask, no SQL. Both parsers are built once at import time.
"""

from __future__ import annotations

from collections.abc import Iterable

from markdown_it import MarkdownIt
from markdown_it.token import Token

# Plain text: CommonMark + pipe tables, list parsing off (so `123. Text`, `- x` stay paragraphs).
_PLAIN_PARSER = MarkdownIt("commonmark").enable("table").disable("list")
# Markdown bodies: CommonMark + the GFM table and strikethrough extensions.
_MARKDOWN_PARSER = MarkdownIt("commonmark").enable(["table", "strikethrough"])

# Block structures that make a text "not plain".
_PLAIN_REJECTED_BLOCKS = frozenset({"heading_open", "blockquote_open", "hr", "table_open", "html_block"})
_HTML_TOKENS = frozenset({"html_block", "html_inline"})


def _walk(tokens: Iterable[Token]) -> Iterable[Token]:
    """All tokens, depth first, including inline children."""
    for token in tokens:
        yield token
        if token.children:
            yield from _walk(token.children)


# Without any of these, a text can hold no heading, block quote, table, HTML or autolink, and a single
# line that is not made only of `-`, `*`, `_` and blanks is no thematic break: it is plain text
# without parsing. The parser decides everything else (tests/unit/test_text_rules.py compares both).
_PLAIN_MARKERS = frozenset("#>|<=\n\r")
_BREAK_CHARACTERS = " \t-*_"


def _surely_plain(text: str) -> bool:
    return _PLAIN_MARKERS.isdisjoint(text) and text.strip(_BREAK_CHARACTERS) != ""


def is_plain_text(text: str | None) -> bool:
    """True when `text` carries no markup beyond tolerated inline emphasis/links.

    Like the original service, backticks and backslashes are removed first (so HTML inside
    backticks still counts as HTML). Rejected: HTML tags, autolinks, ATX/setext headings,
    block quotes, thematic breaks and pipe tables.
    """
    if not text:
        return True
    stripped = text.replace("`", "").replace("\\", "")
    return _surely_plain(stripped) or _parsed_as_plain(stripped)


def _parsed_as_plain(text: str) -> bool:
    for token in _walk(_PLAIN_PARSER.parse(text)):
        if token.type in _PLAIN_REJECTED_BLOCKS or token.type == "html_inline":
            return False
        if token.type == "link_open" and token.markup == "autolink":
            return False
    return True


def is_markdown(text: str) -> bool:
    """True unless `text` contains raw HTML outside code spans and code blocks."""
    # Raw HTML (blocks, inline tags, autolinks) starts with `<`: without one there is nothing to find.
    return not text or "<" not in text or _parsed_without_html(text)


def _parsed_without_html(text: str) -> bool:
    return not any(token.type in _HTML_TOKENS for token in _walk(_MARKDOWN_PARSER.parse(text)))
