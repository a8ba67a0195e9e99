"""Reading XML label files safely: no DTDs, no entities (``defusedxml``-like, by refusing
them), errors with the line."""

from __future__ import annotations

from xml.etree import ElementTree

from labelyard.importers import FormatError


def parse_xml(name: str, raw: bytes) -> ElementTree.Element:
    """The root element of ``raw``; ``FormatError`` with the line of a syntax error."""
    if b"<!DOCTYPE" in raw or b"<!ENTITY" in raw:
        raise FormatError(name, "DTDs and entities are not accepted")
    try:
        return ElementTree.fromstring(raw)
    except ElementTree.ParseError as exc:
        line, column = exc.position
        raise FormatError(f"{name}:{line}", f"broken XML at column {column}: {exc}") from None


def text_of(element: ElementTree.Element, path: str) -> str:
    """The stripped text of ``path`` under ``element`` ("" when absent)."""
    found = element.find(path)
    return (found.text or "").strip() if found is not None else ""
