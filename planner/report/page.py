"""The page both HTML reports share (the plan's and the buildout's): skeleton, style, cells.

One document, nothing fetched: CSS and a small script inline, charts as base64 PNG ``data:``
URIs. After the page loads, the script sets ``data-charts-total`` and ``data-charts-loaded``
(images decoded with a non-zero width) on ``<body>``, so a headless browser can check that
every chart rendered. Cell helpers return HTML (escaped) for the tables of either report.
"""

from __future__ import annotations

import base64
import math
from html import escape
from typing import Any


def number_cell(v: Any, digits: int = 4) -> str:
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "n/a"
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, int):
        return f"{v:,}"
    if isinstance(v, float):
        a = abs(v)
        if a >= 1000:
            return f"{v:,.0f}"
        if a >= 1:
            return f"{v:,.{max(digits - 1, 1)}f}".rstrip("0").rstrip(".")
        return f"{v:.{digits}g}"
    return escape(str(v))


def money(v: float | None, digits: int = 0) -> str:
    if v is None or not math.isfinite(v):
        return "n/a"
    return f"${v:,.{digits}f}"


def html_table(
    headers: list[str], rows: list[list[str]], numeric: set[int] | None = None, cls: str = "", header_html: bool = False
) -> str:
    """Cells are HTML already (escaped by the caller); headers are text, or HTML with ``header_html``."""
    numeric = numeric or set()
    head = "".join(
        f"<th{' class=num' if i in numeric else ''}>{h if header_html else escape(h)}</th>"
        for i, h in enumerate(headers)
    )
    body = "".join(
        "<tr>" + "".join(f"<td{' class=num' if i in numeric else ''}>{c}</td>" for i, c in enumerate(r)) + "</tr>"
        for r in rows
    )
    return f'<div class="tw"><table class="{cls}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div>'


def chart_figure(name: str, png: bytes, alt: str) -> str:
    data = base64.b64encode(png).decode("ascii")
    return (
        f'<figure><img class="chart" data-chart="{escape(name)}" alt="{escape(alt)}" '
        f'src="data:image/png;base64,{data}"><figcaption>{escape(alt)}</figcaption></figure>'
    )


def render_json(obj: Any, depth: int = 0) -> str:
    """Any JSON value as nested HTML: mappings as key/value tables, lists of mappings as tables."""
    if isinstance(obj, dict):
        if not obj:
            return "<em>(empty)</em>"
        rows = [[f"<b>{escape(str(k))}</b>", render_json(v, depth + 1)] for k, v in obj.items()]
        return html_table(["key", "value"], rows, cls="kv")
    if isinstance(obj, list):
        if not obj:
            return "<em>(none)</em>"
        if all(isinstance(x, dict) for x in obj):
            keys: list[str] = []
            for x in obj:
                keys += [k for k in x if k not in keys]
            rows = [[render_json(x.get(k), depth + 1) if k in x else "" for k in keys] for x in obj[:500]]
            return html_table(keys, rows)
        if all(not isinstance(x, (dict, list)) for x in obj):
            return escape(", ".join(plain(x) for x in obj[:200])) + (" ..." if len(obj) > 200 else "")
        return "<ul>" + "".join(f"<li>{render_json(x, depth + 1)}</li>" for x in obj[:200]) + "</ul>"
    return number_cell(obj) if isinstance(obj, (int, float)) and not isinstance(obj, bool) else escape(plain(obj))


def plain(x: Any) -> str:
    if x is None:
        return "null"
    if isinstance(x, bool):
        return "true" if x else "false"
    if isinstance(x, float):
        return f"{x:.6g}"
    return str(x)


CSS = """
:root { --fg:#1d2330; --muted:#5b6475; --line:#dde2ea; --accent:#2557a7; --bad:#b3261e; }
* { box-sizing: border-box; }
body { font: 15px/1.5 -apple-system, BlinkMacSystemFont, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
       color: var(--fg); margin: 0; background: #f6f7f9; }
main { max-width: 1100px; margin: 0 auto; padding: 24px 28px 60px; background: #fff; }
header h1 { margin: 0 0 4px; font-size: 26px; }
header p { margin: 0; color: var(--muted); }
nav { margin: 14px 0 8px; font-size: 14px; }
nav a { color: var(--accent); margin-right: 14px; text-decoration: none; }
h2 { font-size: 20px; border-bottom: 2px solid var(--line); padding-bottom: 4px; margin-top: 34px; }
h3 { font-size: 16px; margin-top: 22px; }
table { border-collapse: collapse; margin: 8px 0 14px; font-size: 13.5px; width: auto; max-width: 100%; }
th, td { border-bottom: 1px solid var(--line); padding: 5px 10px; text-align: left; vertical-align: top; }
th { background: #f0f3f7; font-weight: 600; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
table.kv td:first-child { white-space: nowrap; }
table.sources td:nth-child(2) { max-width: 640px; }
table.caps td:nth-child(-n+2) { white-space: nowrap; }
table.schedule td.num { white-space: normal; }
table.ledger th, table.ledger td { padding: 5px 6px; font-size: 12.5px; }
.tw { overflow-x: auto; max-width: 100%; }
code { font-size: 12.5px; background: #f0f3f7; padding: 1px 4px; border-radius: 3px; }
.callout { border-left: 5px solid var(--accent); background: #f3f7fd; padding: 4px 18px 10px; margin-top: 22px; }
.callout.bad { border-color: var(--bad); background: #fdf4f3; }
.callout h2 { border: 0; margin-top: 12px; }
.big { font-size: 22px; margin: 4px 0; }
.note { color: var(--muted); font-size: 12.5px; }
figure { margin: 10px 0 20px; }
figure img { max-width: 100%; height: auto; border: 1px solid var(--line); }
figcaption { color: var(--muted); font-size: 13px; }
details summary { cursor: pointer; color: var(--accent); }
footer { margin-top: 40px; color: var(--muted); font-size: 12.5px; }
@media print { body { background: #fff; } main { padding: 0; } }
"""

SCRIPT = """
window.addEventListener('load', function () {
  var imgs = document.querySelectorAll('img.chart');
  var ok = 0;
  imgs.forEach(function (img) { if (img.complete && img.naturalWidth > 0) { ok += 1; } });
  document.body.setAttribute('data-charts-total', String(imgs.length));
  document.body.setAttribute('data-charts-loaded', String(ok));
});
"""


def page(title: str, heading: str, description: str | None, sections: list[tuple[str, str, str]], footer: str) -> str:
    """The report as one HTML document: ``sections`` are (anchor, title in the navigation, HTML);
    an empty section is left out of the page and its navigation. ``footer`` is HTML."""
    nav = "".join(f'<a href="#{k}">{escape(name)}</a>' for k, name, body in sections if body)
    body = "".join(f'<div id="{k}">{html}</div>' for k, _, html in sections if html)
    desc = f"<p>{escape(description)}</p>" if description else ""
    return (
        "<!DOCTYPE html>\n<html lang=en><head><meta charset=utf-8>"
        '<meta name=viewport content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)}</title><style>{CSS}</style></head>"
        f"<body><main><header><h1>{escape(heading)}</h1>{desc}</header><nav>{nav}</nav>{body}"
        f"<footer>{footer}</footer></main>"
        f"<script>{SCRIPT}</script></body></html>\n"
    )
