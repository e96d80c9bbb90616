"""User text as Markdown that shows it literally.

The app's message boxes (Streamlit's warning, error, info, caption...) render Markdown, with
Streamlit's additions: ``:red[...]`` colours, ``:material/x:`` icons, emoji shortcodes and ``$...$``
LaTeX. A URL value, a file name, a CSV header or cell, an expression, shown in one of them
unescaped, could put a link, an image from any host or styled text into the app's own words.
"""

from __future__ import annotations

import re

# CommonMark lets a backslash escape any ASCII punctuation character, and an escaped character is
# plain text to every construct, Streamlit's directives and LaTeX included (checked in Chromium).
_PUNCTUATION = re.compile(r"([!-/:-@\[-`{-~])")
# GFM turns bare web and mail addresses into links after escapes are resolved, so a backslash
# cannot stop it; an invisible word joiner inside the pattern does.
_AUTOLINK = re.compile(r"www(?=\.)|:(?=//)|@", re.IGNORECASE)
_WORD_JOINER = "\u2060"


def literal(text: str) -> str:
    """``text`` as Markdown that renders to ``text``: every ASCII punctuation character escaped,
    bare addresses kept from becoming links, and each line break and line indent kept (so an
    expression's error caret stays under its line)."""
    text = _AUTOLINK.sub(lambda m: m.group() + _WORD_JOINER, str(text))
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    return "\\\n".join(_line(line) for line in lines)  # a backslash before a newline is a hard break


def _line(line: str) -> str:
    body = line.lstrip(" \t")
    # Markdown drops a line's indent (or makes it a code block); no-break spaces are kept as they are.
    return "\u00a0" * (len(line) - len(body)) + _PUNCTUATION.sub(r"\\\1", body)
