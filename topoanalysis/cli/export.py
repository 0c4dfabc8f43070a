"""``topoanalysis export``: a checkpoint in another project's format.

``export brainscore-plugin --ckpt X.pt --out DIR [--identifier NAME] [--requirement LINE]``: a
Brain-Score vision model plugin folder (``__init__.py`` registering the model, ``model.py`` building it
from the checkpoint copied in, ``requirements.txt``, ``test.py``, ``README.md``), ready to add under
``brainscore_vision/models/NAME/`` or to upload on brain-score.org. See
:mod:`topoanalysis.brain.plugin_export`.
"""

from __future__ import annotations

import argparse


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser("export", help="write a checkpoint in another project's format (a Brain-Score "
                                                  "model plugin)")
    kinds = parser.add_subparsers(dest="kind", required=True, metavar="KIND")
    plugin = kinds.add_parser("brainscore-plugin", help="a Brain-Score vision model plugin folder holding the "
                                                        "checkpoint")
    plugin.add_argument("--ckpt", required=True, help="checkpoint to export (the toolkit's format)")
    plugin.add_argument("--out", required=True, metavar="DIR",
                        help="plugin folder to write (new, empty, or an earlier export, replaced whole)")
    plugin.add_argument("--identifier", default=None, metavar="NAME",
                        help="the model's Brain-Score identifier and package name (default: the checkpoint's "
                             "file stem)")
    plugin.add_argument("--requirement", default=None, metavar="LINE",
                        help="requirements.txt line installing topoanalysis, e.g. 'topoanalysis @ "
                             "git+https://HOST/OWNER/topoanalysis@TAG' (default: topoanalysis==<this version>; "
                             "topoanalysis is not on PyPI)")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from ..brain.plugin_export import export_plugin

    written = export_plugin(args.ckpt, args.out, identifier=args.identifier, requirement=args.requirement)
    print(f"wrote {len(written)} files to {args.out}/: {', '.join(path.name for path in written)}; its README.md "
          "says how to submit it to Brain-Score")
    return 0
