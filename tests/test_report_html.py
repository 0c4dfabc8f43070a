"""The self-contained HTML report: embedding, escaping, atomic writing and a real headless-browser load check."""

from __future__ import annotations

import base64
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

from topoanalysis.report.page import Figure, Note, Section, Table, format_cell, render_report, write_report

DATA_URI = re.compile(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"')
LOADED = re.compile(r'data-figures-loaded="(\d+)/(\d+)"')
OVERFLOW = re.compile(r'data-overflow="([^"]*)"')


def _png(path: Path, values) -> Path:
    fig, ax = plt.subplots(figsize=(1.5, 1.5))
    ax.plot(values)
    fig.savefig(path, dpi=40)
    plt.close(fig)
    return path


@pytest.fixture
def sections(tmp_path):
    maps = _png(tmp_path / "maps.png", [0, 1, 0])
    rsa = _png(tmp_path / "rsa.png", [3, 1, 2])
    frame = pd.DataFrame({"layer": ["V1", "IT"], "r": [0.123456, np.nan], "n": [12, 7], "big": [12345.6, 2.0]})
    return [
        Section("Figure 1: temporal dynamics", [
            Figure("fig1_maps", "Figure 1a: preference maps", maps, "Computed with <b>& T=4 steps", "maps.pdf"),
            Table("tab1_fits", "Table 1: fits", frame, "Spearman r per layer"),
        ]),
        Section("Figure 2: RSA", [Figure("fig2_rsa", "Figure 2: RSA", rsa, "RDM correlation")]),
    ]


METADATA = {"date": "2024-05-01", "command": "topoanalysis report --out x",
            "checkpoints": {"tsresnet18.pt": {"sha256": "ab" * 32}}, "versions": ["numpy 2", "torch 2"]}


def test_render_embeds_figures_tables_and_escapes(sections):
    page = render_report("Report <1>", sections, METADATA)
    payloads = DATA_URI.findall(page)
    assert len(payloads) == 2
    assert base64.b64decode(payloads[0]) == sections[0].items[0].png_path.read_bytes()
    assert base64.b64decode(payloads[1]) == sections[1].items[0].png_path.read_bytes()
    assert "Computed with &lt;b&gt;&amp; T=4 steps" in page and "<b>&" not in page
    assert "<title>Report &lt;1&gt;</title>" in page
    for cell in ("0.123", "\u2013", "12346", ">2<", "V1", "IT"):
        assert cell in page
    for key in ("fig1_maps", "tab1_fits", "fig2_rsa"):
        assert f'href="#{key}"' in page and f'id="{key}"' in page
    assert 'data-figure="fig1_maps"' in page and 'alt="Figure 1a: preference maps"' in page
    assert '<a class="pdf" href="maps.pdf">PDF</a>' in page
    assert "ab" * 32 in page and "tsresnet18.pt" in page and "topoanalysis report --out x" in page
    assert "figuresLoaded" in page
    # results first, provenance (paths, hashes, versions) last
    assert page.index('id="fig1_maps"') < page.index('id="provenance"') < page.index("tsresnet18.pt")


def test_page_makes_no_network_requests(sections):
    page = render_report("R", sections, METADATA)
    assert "http://" not in page and "https://" not in page
    for target in re.findall(r'(?:src|href)\s*=\s*"([^"]*)"', page):
        assert target.startswith(("data:image/png;base64,", "#")) or re.fullmatch(r"[\w.%-]+", target), target
    assert "url(" not in page and "@import" not in page


def test_format_cell():
    assert [format_cell(v) for v in (0.123456, 2.0, 12345.6, 1.5e-6, np.int64(7), None, pd.NA, "x")] == \
        ["0.123", "2", "12346", "1.5e-06", "7", "\u2013", "\u2013", "x"]


def test_write_report_is_atomic(sections, tmp_path):
    out = tmp_path / "site" / "report.html"
    assert write_report(out, "R", sections, METADATA) == out
    assert out.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    assert sorted(p.name for p in out.parent.iterdir()) == ["report.html"]


def test_missing_png_raises_and_writes_nothing(tmp_path):
    missing = tmp_path / "gone.png"
    bad = [Section("S", [Figure("f", "F", missing, "c")])]
    with pytest.raises(FileNotFoundError, match=re.escape(str(missing))):
        render_report("R", bad, {})
    with pytest.raises(FileNotFoundError, match="gone.png"):
        write_report(tmp_path / "out" / "r.html", "R", bad, {})
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


def test_rejects_bad_input(sections, tmp_path):
    fig = sections[0].items[0]
    with pytest.raises(ValueError, match="duplicate"):
        render_report("R", [Section("S", [fig, fig])], {})
    with pytest.raises(ValueError, match="pdf_name"):
        render_report("R", [Section("S", [Figure("f", "F", fig.png_path, "c", "../x.pdf")])], {})
    with pytest.raises(ValueError, match="link must be a relative path"):
        render_report("R", [Section("S", [Note("n", "N", "text", link="/etc/passwd")])], {})
    text = tmp_path / "fake.png"
    text.write_text("not a png")
    with pytest.raises(ValueError, match="not a PNG"):
        render_report("R", [Section("S", [Figure("f", "F", text, "c")])], {})


def _dom(html_path: Path, width_px: int = 1300) -> str:
    """The page's DOM after load in headless Chromium, in a window ``width_px`` wide."""
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        pytest.skip("chromium not installed (apt-get install chromium)")
    with tempfile.TemporaryDirectory() as profile:
        result = subprocess.run(
            [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
             "--allow-file-access-from-files", "--virtual-time-budget=5000", f"--user-data-dir={profile}",
             f"--window-size={width_px},900", "--dump-dom", Path(html_path).resolve().as_uri()],
            capture_output=True, text=True, timeout=120)
    assert LOADED.search(result.stdout), (f"no data-figures-loaded in the DOM (rc={result.returncode}): "
                                          f"{result.stderr[-2000:]}")
    return result.stdout


def figures_loaded(html_path: Path) -> tuple[int, int]:
    """``(loaded, total)`` figures as counted by the page's own script in headless Chromium."""
    match = LOADED.search(_dom(html_path))
    return int(match.group(1)), int(match.group(2))


def test_a_findings_table_fits_a_1300_px_window(tmp_path):
    from topoanalysis.report.sections import DETAIL_COLUMNS, FINDINGS_COLUMNS

    long = "a long explanation of a verdict with its interval and the sample that would decide it " * 3
    tables = [Table(key, "F", pd.DataFrame([{column: "inconclusive" if column == "verdict" else
                                             f"{column} IT-RSA-Kriegeskorte2008 " + long for column in columns}] * 3),
                    "c") for key, columns in (("findings", FINDINGS_COLUMNS), ("details", DETAIL_COLUMNS))]
    page = write_report(tmp_path / "wide.html", "R", [Section("S", tables)], METADATA)
    assert OVERFLOW.search(_dom(page)).group(1) == "none"


def test_figures_load_in_headless_chromium(sections, tmp_path):
    good = write_report(tmp_path / "report.html", "R", sections, METADATA)
    assert figures_loaded(good) == (2, 2)
    page = good.read_text(encoding="utf-8")
    garbage = base64.b64encode(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4).decode("ascii")
    corrupt = tmp_path / "corrupt.html"
    corrupt.write_text(page.replace(DATA_URI.findall(page)[1], garbage), encoding="utf-8")
    assert figures_loaded(corrupt) == (1, 2)


def test_a_note_is_escaped_text_with_an_optional_relative_link():
    note = Note("why", "Not applicable", "a <ReLU> network", link="pairs/a b.html")
    page = render_report("R", [Section("S", [note])], {})
    assert '<section class="note" id="why">' in page and "a &lt;ReLU&gt; network" in page
    assert 'href="pairs/a%20b.html"' in page
