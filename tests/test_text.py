"""User text shown literally: nnplay.text.literal against a corpus of Markdown payloads, read back
with a decoder written here from the CommonMark rules (not from the helper)."""

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from nnplay.text import literal

# What a shared link, a file name or a CSV header might carry into a message box.
PAYLOADS = {
    "link": "[Re-login](//ev.il/x)",
    "image": "![x](//ev.il/pixel.png)",
    "colour": ":red[**URGENT**]",
    "background": ":blue-background[URGENT]",
    "latex": "$\\alert$",
    "display latex": "$$\\frac{URGENT}{1}$$",
    "emphasis": "__import__",
    "emoji and icon": ":smile: :material/warning: URGENT",
    "html": "<img src=//ev.il/p.png onerror=alert(1)><b>URGENT</b>",
    "backticks": "``code`` `URGENT`",
    "autolinks": "https://ev.il/a www.ev.il me@ev.il URGENT",
    "heading": "# URGENT",
    "lines": "URGENT\n\n- item\n    indented\n===",
    "very long": "**URGENT** " * 400,
}

ASCII_PUNCTUATION = set("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~")
AUTOLINK = re.compile(r"www\.|://|@[\w-]", re.IGNORECASE)  # what GFM would make a link of


def shown(markdown: str) -> str:
    """The text CommonMark displays for Markdown made only of plain characters, backslash escapes,
    backslash hard breaks and no-break indents; word joiners are invisible."""
    out, i = [], 0
    while i < len(markdown):
        ch, nxt = markdown[i], markdown[i + 1 : i + 2]
        if ch == "\\" and (nxt in ASCII_PUNCTUATION or nxt == "\n"):
            out.append(nxt)
            i += 2
        else:
            out.append(ch)
            i += 1
    lines = "".join(out).replace("\u2060", "").split("\n")
    return "\n".join(" " * (len(line) - len(line.lstrip("\u00a0"))) + line.lstrip("\u00a0") for line in lines)


def live_markup(markdown: str) -> list[str]:
    """Problems that would let Markdown act: punctuation left unescaped, a bare address GFM would link."""
    problems, i = [], 0
    while i < len(markdown):
        if markdown[i] == "\\" and i + 1 < len(markdown):
            i += 2
            continue
        if markdown[i] in ASCII_PUNCTUATION:
            problems.append(f"unescaped {markdown[i]!r} at {i}")
        i += 1
    unescaped = re.sub(r"\\(.)", r"\1", markdown, flags=re.DOTALL)  # escapes do not stop GFM autolinks
    problems += [f"autolink {m.group()!r}" for m in AUTOLINK.finditer(unescaped)]
    return problems


@pytest.mark.parametrize("name", list(PAYLOADS))
def test_a_payload_shows_as_itself_with_no_live_markup(name):
    markdown = literal(PAYLOADS[name])
    assert live_markup(markdown) == []
    assert shown(markdown) == PAYLOADS[name]


# Carriage returns become line breaks, a tab of an indent becomes one space, and the helper's own
# invisible characters are dropped by the decoder: everything else must come back as it was.
@given(st.text(st.characters(exclude_characters="\r\t\u2060\u00a0")))
def test_any_text_shows_as_itself(text):
    markdown = literal(text)
    assert live_markup(markdown) == []
    assert shown(markdown) == text


def test_a_caret_stays_on_its_own_line_under_the_expression():
    message = "name '__import__' is not allowed\n  __import__('os')\n  ^"
    assert shown(literal(message)).split("\n") == message.split("\n")
    assert literal(message).split("\\\n")[2] == "\u00a0\u00a0\\^"


def test_plain_words_are_left_alone():
    assert literal("Loaded the model") == "Loaded the model"
