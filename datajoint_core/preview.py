"""Previews of a query's first rows, as text (``repr``) and HTML (Jupyter), in the reference's
layout: blobs and JSON are shown as placeholders and not fetched."""

from __future__ import annotations

import html
from typing import TYPE_CHECKING, Any

from .errors import DataJointError

if TYPE_CHECKING:
    from .heading import Attribute

QueryExpression = Any  # any query expression (not imported: expression.py imports this module)

_STYLE = """<style type="text/css">
    .Table{border-collapse:collapse;}
    .Table th{background:#A0A0A0; color:#ffffff; padding:2px 4px; border:#f0e0e0 1px solid;
        font-weight:normal; font-family:monospace; font-size:75%; text-align:center;}
    .Table td{padding:2px 4px; border:#f0e0e0 1px solid; font-size:75%;}
    .Table tr:nth-child(odd){background:#ffffff; color:#000000;}
    .Table tr:nth-child(even){background:#f3f1ff; color:#000000;}
    #primary{font-weight:bold; color:black;}
    #nonprimary{font-weight:normal; color:white;}
    @media (prefers-color-scheme: dark){
        .Table th{background:#4a4a4a; color:#ffffff; border:#555555 1px solid;}
        .Table td{border:#555555 1px solid;}
        .Table tr:nth-child(odd){background:#2d2d2d; color:#e0e0e0;}
        .Table tr:nth-child(even){background:#3d3d3d; color:#e0e0e0;}
        #primary{color:#bd93f9;}
        #nonprimary{color:#e0e0e0;}
    }
</style>"""


def _placeholder(attr: Attribute) -> str | None:
    """What a preview shows instead of the value (None: the value itself)."""
    if attr.base_type.startswith("<"):
        return attr.base_type
    if attr.base_type == "json":
        return "json"
    if attr.base_type == "bytes":
        return "bytes"
    return None


def _rows(expr: QueryExpression, limit: int) -> tuple[list[dict[str, Any]], bool, int]:
    """The first ``limit`` rows (placeholders not fetched), whether there are more, the count."""
    shown = [a.name for a in expr.heading.attributes if _placeholder(a) is None]
    rows = expr.proj(*shown).to_dicts(limit=limit + 1)
    more = len(rows) > limit
    total = len(expr) if more else len(rows)
    return rows[:limit], more, total


def _value(expr: QueryExpression, row: dict[str, Any], name: str) -> str:
    attr = expr.heading[name]
    shown = _placeholder(attr)
    if shown is not None:
        return shown
    value = row[name]
    if value is None:  # as the reference's arrays show it: nan in a float column, else None
        return "nan" if getattr(attr.dtype, "__name__", "") == "float64" else "None"
    return str(value)


def preview(expr: QueryExpression, limit: int | None = None, width: int | None = None) -> str:
    """A text table of the first ``display.limit`` rows and the total count."""
    try:
        config = expr._display_config()
        limit = int(config["display.limit"]) if limit is None else limit
        width = int(config["display.width"]) if width is None else width
        rows, more, total = _rows(expr, limit)
    except DataJointError as err:
        return f"<{expr._label}: {err}>"
    names = expr.heading.names
    key = set(expr.primary_key)
    cells = [[_value(expr, r, n) for n in names] for r in rows]
    widths = [
        min(max([len(n), *(len(c[i]) for c in cells)]) + 4, width) for i, n in enumerate(names)
    ]

    def line(values: list[str]) -> str:
        return " ".join(v[:w].ljust(w) for v, w in zip(values, widths))

    header = line(["*" + n if n in key else n for n in names])
    rule = " ".join("+" + "-" * (w - 2) + "+" for w in widths)
    body = "\n".join(line(c) for c in cells)
    return f"{header}\n{rule}\n{body}" + ("\n   ...\n" if more else "\n") + f" (Total: {total})\n"


def preview_html(expr: QueryExpression) -> str:
    """The first ``display.limit`` rows as an HTML table (Jupyter's ``_repr_html_``)."""
    limit = int(expr._display_config()["display.limit"])
    rows, more, total = _rows(expr, limit)
    names = expr.heading.names
    key = set(expr.primary_key)
    head = "</th><th>".join(
        f'<span id="{"primary" if n in key else "nonprimary"}" '
        f'title="{html.escape(expr.heading[n].comment)}">{html.escape(n)}</span>'
        for n in names
    )
    body = "</tr><tr>".join(
        "".join(f"<td>{html.escape(_value(expr, r, n))}</td>" for n in names) for r in rows
    )
    return (
        f"{_STYLE}\n"
        '<div style="max-height:1000px;max-width:1500px;overflow:auto;">\n'
        f'<table border="1" class="Table"><thead><tr><th>{head}</th></tr></thead>'
        f"<tbody><tr>{body}</tr></tbody></table>\n"
        f"{'<p>...</p>' if more else ''}<p>Total: {total}</p></div>"
    )
