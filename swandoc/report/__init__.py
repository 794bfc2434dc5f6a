"""Renderers: one Report, several formats."""
from __future__ import annotations

from ..model import Report

FORMATS = ("text", "json", "html")


def render(report: Report, fmt: str = "text") -> str:
    if fmt == "text":
        from .text import render_text
        return render_text(report)
    if fmt == "json":
        from .json import render_json
        return render_json(report)
    if fmt == "html":
        from .html import render_html
        return render_html(report)
    raise ValueError(f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}")
