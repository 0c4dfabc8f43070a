"""The report: every paper figure and table for a topographic checkpoint and its baseline, in one page.

* :mod:`.build` - :func:`build_report` runs or reuses the analyses and writes the report;
* :mod:`.findings` - the paper's claims on a pair, judged by :mod:`.verdicts` (rules fixed in advance), and
  :mod:`.seed_findings` - the same over seeds;
* :mod:`.sections` - the findings, headline and figure sections;
* :mod:`.figures` - figures that combine analyses or show the stimuli;
* :mod:`.page` - the self-contained HTML page;
* :mod:`.comparison` and :mod:`.multi` - several models side by side (:func:`build_models_report`).
"""

from .build import ReportParams, analyses, build_report
from .multi import build_models_report

__all__ = ["ReportParams", "analyses", "build_models_report", "build_report"]
