"""Reading the public page as text, as a person would."""

from __future__ import annotations

import html
import re

from flask.testing import FlaskClient


def text_of(page: str) -> str:
    """The page's visible text: no style, no tags, entities decoded, whitespace collapsed."""
    page = re.sub(r"<style>.*?</style>", "", page, flags=re.S)
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page))).strip()


def page_text(client: FlaskClient, path: str) -> str:
    response = client.get(path)
    assert response.status_code == 200, response.get_data(as_text=True)
    return text_of(response.get_data(as_text=True))


def section(text: str, heading: str, next_heading: str) -> str:
    """The text between two headings of the page."""
    start = text.index(heading) + len(heading)
    return text[start : text.index(next_heading, start)].strip()
