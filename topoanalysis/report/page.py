"""One self-contained HTML page holding a report's figures, tables and provenance.

The page opens offline: figures are embedded as base64 PNG data URIs, styles and the
small load-check script are inline, and a Content-Security-Policy forbids every
network request. After ``window.load`` the script writes ``"<loaded>/<total>"`` to
``document.body.dataset.figuresLoaded`` so a headless browser can verify the figures.
"""

from __future__ import annotations

import base64
import html
import json
import math
import numbers
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import numpy as np
import pandas as pd

from ..errors import DataNotFoundError, InputError
from ..paths import atomic_path

MISSING = "\u2013"
"""What a missing value (NaN, None, NA) shows as in a table."""
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_KEY = re.compile(r"[A-Za-z][A-Za-z0-9_\-.:]*\Z")

_CSS = """
body { font-family: sans-serif; max-width: 72rem; margin: 2rem auto; padding: 0 1rem; line-height: 1.4; color: #222; }
section.table { overflow-x: auto; }
td { overflow-wrap: break-word; } td:first-child { min-width: 9rem; }
td[data-text="reproduced"], td[data-text="contradicted"], td[data-text="inconclusive"], td[data-text="not testable"],
td.num { white-space: nowrap; }
td[data-text="reproduced"] { background: #d9f2d9; font-weight: bold; }
td[data-text="contradicted"] { background: #f7d9d9; font-weight: bold; }
td[data-text="inconclusive"] { background: #fbeccb; font-weight: bold; }
td[data-text="not testable"] { background: #eeeeee; }
h1 { border-bottom: 2px solid #444; } h2 { border-bottom: 1px solid #bbb; margin-top: 2.5rem; }
dl.meta { display: grid; grid-template-columns: max-content 1fr; gap: .2rem 1rem; }
dl.meta dt { font-weight: bold; } dl.meta dd { margin: 0; }
pre { background: #f4f4f4; padding: .4rem; overflow-x: auto; margin: 0; }
figure { margin: 1.5rem 0; }
figure img { max-width: 100%; height: auto; border: 1px solid #ddd; box-sizing: border-box; }
.caption, figcaption { color: #444; font-size: .92rem; }
table { border-collapse: collapse; font-size: .9rem; } th, td { border: 1px solid #ccc; padding: .2rem .5rem; }
th { background: #eee; } td.num { text-align: right; font-variant-numeric: tabular-nums; }
"""

_SCRIPT = """
window.addEventListener("load", function () {
  var images = document.querySelectorAll("img[data-figure]");
  var loaded = 0;
  for (var i = 0; i < images.length; i++) {
    if (images[i].complete && images[i].naturalWidth > 0) { loaded += 1; }
  }
  document.body.dataset.figuresLoaded = loaded + "/" + images.length;
  var wide = [];
  var boxes = document.querySelectorAll("section");
  for (var j = 0; j < boxes.length; j++) {
    if (boxes[j].scrollWidth > boxes[j].clientWidth + 1) { wide.push(boxes[j].id || "section"); }
  }
  if (document.documentElement.scrollWidth > window.innerWidth + 1) { wide.push("page"); }
  document.body.dataset.overflow = wide.length ? wide.join(" ") : "none";
});
"""

_CSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'; script-src 'unsafe-inline'"


@dataclass(frozen=True)
class Figure:
    """A PNG figure to embed; ``key`` is its HTML id, ``pdf_name`` a PDF path relative to the page."""

    key: str
    title: str
    png_path: Path
    caption: str
    pdf_name: str | None = None


@dataclass(frozen=True)
class Table:
    """A table to render; numbers get 3 significant digits and missing values show as a dash."""

    key: str
    title: str
    frame: pd.DataFrame
    caption: str


@dataclass(frozen=True)
class Note:
    """A paragraph of text, e.g. why a figure is absent; ``link`` is an optional relative path it points to."""

    key: str
    title: str
    text: str
    link: str | None = None


@dataclass(frozen=True)
class Section:
    """A titled group of figures, tables and notes, e.g. everything belonging to one paper figure."""

    title: str
    items: Sequence[Figure | Table | Note]


def _esc(value: object) -> str:
    return html.escape(str(value), quote=True)


def format_cell(value: object) -> str:
    """Text of one table cell (not yet HTML-escaped).

    Floats get 3 significant digits (``.3g``), except magnitudes in [1e3, 1e15) which are
    rounded to whole numbers rather than written in scientific notation; integers and
    other objects are shown as they are; NaN, None and NA become an en dash.

    Examples
    --------
    >>> [format_cell(v) for v in (0.123456, 2.0, 12345.6, 1.5e-6, 7, float("nan"), "V1")]
    ['0.123', '2', '12346', '1.5e-06', '7', '–', 'V1']
    """
    if value is None or (np.ndim(value) == 0 and not isinstance(value, str) and pd.isna(value)):
        return MISSING
    if isinstance(value, (bool, np.bool_)) or isinstance(value, numbers.Integral):
        return str(value)
    if isinstance(value, numbers.Real):
        number = float(value)
        if math.isinf(number):
            return "\u221e" if number > 0 else "\u2212\u221e"
        return f"{number:.0f}" if 1e3 <= abs(number) < 1e15 else f"{number:.3g}"
    return str(value)


def _label(value: object) -> str:
    if isinstance(value, tuple):
        return " / ".join(format_cell(part) for part in value)
    return format_cell(value)


def _table_html(frame: pd.DataFrame) -> str:
    show_index = not (isinstance(frame.index, pd.RangeIndex) and frame.index.start == 0 and frame.index.step == 1)
    head = [f"<th>{_esc(_label(frame.index.name or ''))}</th>"] if show_index else []
    head += [f"<th>{_esc(_label(column))}</th>" for column in frame.columns]
    rows = []
    for index, row in zip(frame.index, frame.itertuples(index=False, name=None)):
        cells = [f'<th scope="row">{_esc(_label(index))}</th>'] if show_index else []
        for value in row:
            numeric = isinstance(value, numbers.Number) and not isinstance(value, (bool, np.bool_))
            text = _esc(format_cell(value))
            cells.append(f'<td class="num">{text}</td>' if numeric
                         else f'<td data-text="{text}">{text}</td>' if len(text) <= 40 else f"<td>{text}</td>")
        rows.append(f"<tr>{''.join(cells)}</tr>")
    return (f"<table>\n<thead><tr>{''.join(head)}</tr></thead>\n<tbody>\n" + "\n".join(rows)
            + "\n</tbody>\n</table>")


def png_data_uri(path: str | os.PathLike) -> str:
    """``data:image/png;base64,...`` of the PNG file at ``path``.

    Raises
    ------
    FileNotFoundError
        If ``path`` is not an existing file.
    ValueError
        If the file does not start with the PNG signature.
    """
    path = Path(path)
    if not path.is_file():
        raise DataNotFoundError(f"figure PNG not found: {path}")
    data = path.read_bytes()
    if not data.startswith(PNG_SIGNATURE):
        raise InputError(f"not a PNG file: {path}")
    return "data:image/png;base64," + base64.b64encode(data).decode("ascii")


def _relative_href(name: str, what: str) -> str:
    """``name`` as an href, after checking that it stays below the report's folder."""
    if not name or Path(name).is_absolute() or ".." in Path(name).parts or ":" in name or "\\" in name:
        raise InputError(f"{what} must be a relative path below the report's folder, got {name!r}")
    return _esc(quote(name))


def _figure_html(figure: Figure) -> str:
    key, title = _esc(figure.key), _esc(figure.title)
    pdf = ""
    if figure.pdf_name is not None:
        pdf = f' <a class="pdf" href="{_relative_href(str(figure.pdf_name), "pdf_name")}">PDF</a>'
    return (f'<figure id="{key}">\n<h3>{title}</h3>\n'
            f'<img src="{png_data_uri(figure.png_path)}" alt="{title}" data-figure="{key}">\n'
            f"<figcaption>{_esc(figure.caption)}{pdf}</figcaption>\n</figure>")


def _item_html(item: Figure | Table | Note) -> str:
    if isinstance(item, Figure):
        return _figure_html(item)
    if isinstance(item, Note):
        link = "" if item.link is None else \
            f' <a href="{_relative_href(item.link, "link")}">{_esc(item.link)}</a>'
        return (f'<section class="note" id="{_esc(item.key)}">\n<h3>{_esc(item.title)}</h3>\n'
                f"<p>{_esc(item.text)}{link}</p>\n</section>")
    if isinstance(item, Table):
        return (f'<section class="table" id="{_esc(item.key)}">\n<h3>{_esc(item.title)}</h3>\n'
                f"{_table_html(item.frame)}\n<p class=\"caption\">{_esc(item.caption)}</p>\n</section>")
    raise TypeError(f"report items must be Figure, Table or Note, got {type(item).__name__}")


def _metadata_html(metadata: Mapping[str, object]) -> str:
    entries = []
    for name, value in metadata.items():
        if isinstance(value, (Mapping, list, tuple, set)):
            shown = value if not isinstance(value, set) else sorted(value, key=str)
            body = f"<pre>{_esc(json.dumps(shown, indent=2, default=str, ensure_ascii=False))}</pre>"
        else:
            body = _esc(value)
        entries.append(f"<dt>{_esc(name)}</dt><dd>{body}</dd>")
    return '<dl class="meta">\n' + "\n".join(entries) + "\n</dl>" if entries else ""


def _check_keys(sections: Sequence[Section]) -> None:
    seen: set[str] = set()
    for section in sections:
        for item in section.items:
            if not _KEY.match(str(getattr(item, "key", ""))):
                raise InputError(f"invalid report item key {getattr(item, 'key', None)!r}: use letters, digits, "
                                 "'_', '-', '.', ':' and start with a letter")
            if item.key in seen:
                raise InputError(f"duplicate report item key {item.key!r}")
            seen.add(item.key)


def render_report(title: str, sections: Sequence[Section], metadata: Mapping[str, object], *,
                  lead: Section | None = None) -> str:
    """Build the complete HTML page as a string.

    Parameters
    ----------
    title : str
        Page title and top heading.
    sections : sequence of Section
        Figures and tables, in order; item keys must be unique HTML ids.
    metadata : mapping
        Provenance shown at the end in a definition list (checkpoints and hashes, versions,
        date, command line, parameters); mappings and lists are shown as indented JSON.
    lead : Section, optional
        Shown first, above the table of contents (e.g. the findings and headline numbers).

    Returns
    -------
    str
        A self-contained HTML document that makes no network requests.

    Raises
    ------
    FileNotFoundError
        If a figure's PNG file does not exist.
    ValueError
        If keys are invalid or repeated, a PNG is not a PNG, or a ``pdf_name`` is not a plain name.
    """
    _check_keys([*([lead] if lead is not None else []), *sections])
    toc, body = [], []
    top = ""
    if lead is not None:
        items = "\n".join(_item_html(item) for item in lead.items)
        top = f'<section id="lead">\n<h2>{_esc(lead.title)}</h2>\n{items}\n</section>'
    for number, section in enumerate(sections, start=1):
        links = "".join(f'<li><a href="#{_esc(item.key)}">{_esc(item.title)}</a></li>' for item in section.items)
        toc.append(f'<li><a href="#section-{number}">{_esc(section.title)}</a><ul>{links}</ul></li>')
        items = "\n".join(_item_html(item) for item in section.items)
        body.append(f'<section id="section-{number}">\n<h2>{_esc(section.title)}</h2>\n{items}\n</section>')
    return "\n".join([
        "<!DOCTYPE html>", '<html lang="en">', "<head>", '<meta charset="utf-8">',
        f'<meta http-equiv="Content-Security-Policy" content="{_CSP}">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{_esc(title)}</title>", f"<style>{_CSS}</style>", f"<script>{_SCRIPT}</script>",
        "</head>", "<body>", f"<h1>{_esc(title)}</h1>", top,
        '<nav id="contents">\n<h2>Contents</h2>\n<ul>' + "\n".join(toc)
        + '<li><a href="#provenance">Provenance</a></li></ul>\n</nav>',
        *body, f'<section id="provenance">\n<h2>Provenance</h2>\n{_metadata_html(metadata)}\n</section>',
        "</body>", "</html>", ""])


def write_report(path: str | os.PathLike, title: str, sections: Sequence[Section],
                 metadata: Mapping[str, object], *, lead: Section | None = None) -> Path:
    """Render the report and write it atomically to ``path`` as UTF-8; return ``path``.

    The page is rendered before anything is written, so a missing figure leaves no file.
    """
    path = Path(path)
    page = render_report(title, sections, metadata, lead=lead)
    with atomic_path(path) as tmp:
        tmp.write_text(page, encoding="utf-8")
    return path
