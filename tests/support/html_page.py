"""An HTML page read back with the standard library's parser, for the tests of the html
format: its elements with their attributes, its text, its style and script."""

from __future__ import annotations

from dataclasses import dataclass
from html.parser import HTMLParser

# Elements that fetch what their src/href (or data, poster, srcset) names.
LOADING = {
    "script",
    "link",
    "img",
    "iframe",
    "frame",
    "object",
    "embed",
    "source",
    "track",
    "video",
    "audio",
    "image",
    "use",
    "input",
    "base",
    "meta",
}
URL_ATTRIBUTES = {"src", "href", "xlink:href", "data", "poster", "srcset", "action", "background"}


@dataclass
class Element:
    tag: str
    attrs: dict[str, str | None]
    text: str = ""  # the text directly inside (for <style>, <script>, <title>, <td> ...)


class Page(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[Element] = []
        self.texts: list[str] = []
        self._open: list[Element] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        element = Element(tag, dict(attrs))
        self.elements.append(element)
        if tag not in ("meta", "br", "input", "link", "img", "source"):
            self._open.append(element)

    def handle_endtag(self, tag: str) -> None:
        while self._open:
            if self._open.pop().tag == tag:
                break

    def handle_data(self, data: str) -> None:
        self.texts.append(data)
        if self._open:
            self._open[-1].text += data

    def all(self, tag: str) -> list[Element]:
        return [e for e in self.elements if e.tag == tag]

    def by_id(self, ident: str) -> Element:
        (element,) = [e for e in self.elements if e.attrs.get("id") == ident]
        return element

    @property
    def text(self) -> str:
        return "".join(self.texts)


def parse(document: str) -> Page:
    page = Page()
    page.feed(document)
    page.close()
    return page
