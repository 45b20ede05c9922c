"""Template hygiene that Django does not enforce: its `{# #}` comments end at the line's end, and a comment
spread over two lines is printed on the page as text."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

BASE = Path(__file__).resolve().parents[1]
TEMPLATES = sorted((BASE / "templates").rglob("*.html"))
MULTILINE_COMMENT = re.compile(r"\{#(?:(?!#\}).)*\n", re.DOTALL)


@pytest.mark.parametrize("path", TEMPLATES, ids=lambda p: str(p.relative_to(BASE / "templates")))
def test_no_comment_spans_lines(path: Path) -> None:
    match = MULTILINE_COMMENT.search(path.read_text())
    assert match is None, f"a {{# #}} comment spans lines: use {{% comment %}} ({match.group(0)[:60]!r})"


def test_the_portal_home_shows_no_template_syntax(client_for, tenant) -> None:
    page = client_for(tenant).get("/").content.decode()
    assert "{#" not in page and "{%" not in page
