"""The report on two tiny checkpoints: every figure rendered from results, the cache reused."""

import shutil
import types
from dataclasses import dataclass, replace
from pathlib import Path

import pandas as pd
import pytest

from topoanalysis.analyses import registry
from topoanalysis.analyses.base import Result, Runtime, model_files
from topoanalysis.analyses.registry import Analysis
from topoanalysis.analyses.robustness import RobustnessParams
from topoanalysis.analyses.temporal import TemporalParams
from topoanalysis.datasets.resolver import SHARED_DATA_DIR
from topoanalysis.models.checkpoints import save_checkpoint
from topoanalysis.report import ReportParams, analyses, build_report
from topoanalysis.report.findings import NOT_TESTABLE, VERDICTS
from topoanalysis.testing import tiny_checkpoint

pytestmark = pytest.mark.skipif(not (SHARED_DATA_DIR / "cifar10-jpeg.zip").is_file(),
                                reason="the shared data (CIFAR-10, fLoc, neural data) is not available")
QUICK = ReportParams(temporal=TemporalParams(n_per_class=2, timesteps=(1, 2), fisher_images=4),
                     robustness=RobustnessParams(n_per_class=2, pgd_steps=2))
CPU = Runtime(device="cpu")
FIGURES = {"temporal", "gratings", "v1_maps", "v1_summary", "it_tmaps", "it_summary", "it_overlap",
           "accuracy_vs_smoothness", "brain_layer_sweep", "robustness"}


@dataclass(frozen=True)
class ToyParams:
    scale: float = 1.0


@dataclass
class ToyResult(Result):
    analysis = "toy"

    def figures(self) -> dict:
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots()
        ax.bar(self.table("sizes")["model"], self.table("sizes")["n_parameters"])
        return {"toy_sizes": fig}


def _toy_run(models, params, runtime):
    files = model_files(models)
    sizes = [{"model": name, "n_parameters": params.scale * sum(p.numel() for p in file.load()[0].parameters())}
             for name, file in files.items()]
    return ToyResult({"models": {name: {} for name in files}}, {"sizes": pd.DataFrame(sizes)})


def _toy_cli() -> types.ModuleType:
    cli = types.ModuleType("toy_cli")
    cli.add_parser = lambda subparsers: subparsers.add_parser("toy", help="count parameters (a registered toy)")
    return cli


TOY = Analysis(name="toy", title="Toy analysis", params=ToyParams, result=ToyResult, run=_toy_run,
               check_data=lambda params: None, data_sets=lambda params: [], cli=_toy_cli())


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    """The report on two tiny checkpoints, with a toy analysis registered: one entry is all it takes."""
    registry.register(TOY)
    try:
        yield _build(tmp_path_factory)
    finally:
        registry.unregister("toy")


def _build(tmp_path_factory):
    folder = tmp_path_factory.mktemp("report")
    paths = []
    for name, seed in (("tiny_topo", 0), ("tiny_base", 1)):
        model, spec = tiny_checkpoint(seed, calibrate_on="floc")
        paths.append(folder / f"{name}.pt")
        save_checkpoint(paths[-1], model, spec)
    lines, reads = [], []
    from topoanalysis.models import checkpoints

    def counted(path, *args, **kwargs):
        reads.append(Path(path).name)
        return load(path, *args, **kwargs)

    load = checkpoints.load_checkpoint
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(checkpoints, "load_checkpoint", counted)
        html = build_report(*paths, folder / "out", params=QUICK, runtime=CPU, cache_dir=folder / "cache",
                            log=lines.append)
    return folder, paths, html, lines, reads


def test_each_checkpoint_is_read_once_per_report(report):
    assert sorted(report[4]) == ["tiny_base.pt", "tiny_topo.pt"]


def test_a_registered_analysis_reaches_the_report_and_the_cli(report, capsys):
    from topoanalysis.cli.main import build_parser

    folder, _, html, _, _ = report
    text = html.read_text()
    assert "Toy analysis" in text and 'id="toy_sizes"' in text and 'id="table-toy-sizes"' in text
    assert (folder / "out" / "figures" / "toy_sizes.png").is_file()
    assert "toy" in build_parser().parse_args(["toy"]).command


def test_every_figure_and_table_is_rendered(report):
    folder, _, html, lines, _ = report
    figures = folder / "out" / "figures"
    for stem in FIGURES:
        assert (figures / f"{stem}.png").stat().st_size > 1000 and (figures / f"{stem}.pdf").is_file(), stem
    assert (folder / "out" / "table1_brain.csv").is_file() and (folder / "out" / "table_robustness.csv").is_file()
    findings = pd.read_csv(folder / "out" / "findings.csv")
    assert len(findings) == 11 and set(findings["verdict"]) <= set(VERDICTS)
    assert findings.set_index("key").loc["fisher_modes", "verdict"] == NOT_TESTABLE  # a ResNet has no inter-area links
    assert {"effect", "ci_low", "ci_high", "paper_effect", "chance", "uncertainty"} <= set(findings.columns)
    accuracy = findings[findings["claim"] == "Topography costs no accuracy"].iloc[0]
    assert accuracy["verdict"] == NOT_TESTABLE  # tiny untrained checkpoints: their cards record no accuracy
    text = html.read_text()
    # the page opens with the findings and headline numbers; provenance comes last
    assert text.index('id="findings"') < text.index('id="headline"') < text.index('id="contents"') \
        < text.index('id="provenance"')
    assert text.count("data:image/png;base64,") == len(FIGURES) + 1  # and the registered toy's
    assert "tiny_topo" in text and "tiny_base" in text and "sha256" in text
    assert not any("cached" in line for line in lines)  # a cold run


def test_the_report_page_fits_a_1300_px_window(report):
    from test_report_html import OVERFLOW, _dom

    assert OVERFLOW.search(_dom(report[2])).group(1) == "none"


def test_rerun_hits_the_cache_and_one_change_recomputes_one_analysis(report):
    folder, paths, _, _, _ = report
    lines = []
    build_report(*paths, folder / "out", params=QUICK, runtime=CPU, cache_dir=folder / "cache", log=lines.append)
    assert sum("cached" in line for line in lines) == len(analyses())
    lines = []
    changed = replace(QUICK, temporal=replace(QUICK.temporal, timesteps=(1, 3)))
    build_report(*paths, folder / "out2", params=changed, runtime=CPU, cache_dir=folder / "cache", log=lines.append)
    recomputed = [line.split(":")[0] for line in lines if "running" in line]
    assert recomputed == ["temporal"]


def test_report_html_loads_every_figure_in_a_browser(report):
    from test_report_html import figures_loaded

    _, _, html, _, _ = report
    loaded, total = figures_loaded(html)
    assert total == len(FIGURES) + 1 and loaded == total  # and the registered toy's


def test_same_names_are_refused(report, tmp_path):
    _, paths, _, _, _ = report
    copy = tmp_path / paths[0].name
    shutil.copy2(paths[0], copy)
    with pytest.raises(ValueError, match="same name"):
        build_report(paths[0], copy, tmp_path / "out", params=QUICK, runtime=CPU, cache_dir=tmp_path / "cache")
