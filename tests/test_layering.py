"""The package's layers: the metrics, the data sets and the responses module need neither torch nor the layers
above them; no import cycles; analyses, report and command line sit on top in that order."""

import ast
import json
import pkgutil
import subprocess
import sys
from pathlib import Path

import pytest

import topoanalysis.datasets
import topoanalysis.metrics

ANALYSIS_MODULES = ["topoanalysis.responses"] + [f"{package.__name__}.{m.name}"
                                                 for package in (topoanalysis.metrics, topoanalysis.datasets)
                                                 for m in pkgutil.iter_modules(package.__path__)]
FORBIDDEN = ("torch", "spikingjelly", "topoanalysis.running.recording", "topoanalysis.plotting", "topoanalysis.cli",
             "topoanalysis.models", "topoanalysis.training")


def _loaded_after_import(module: str) -> list[str]:
    """Modules from FORBIDDEN that importing ``module`` in a fresh interpreter loads."""
    code = (f"import json, sys; import {module}; "
            f"print(json.dumps([m for m in {list(FORBIDDEN)!r} if m in sys.modules]))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("module", ANALYSIS_MODULES)
def test_analysis_modules_import_nothing_above_them(module):
    assert _loaded_after_import(module) == []


def test_the_check_sees_a_violation():
    assert "torch" in _loaded_after_import("topoanalysis.running.recording")


# --- the import graph, read from the source: no cycles, and each layer imports only those below it ---

PACKAGE_ROOT = Path(topoanalysis.__file__).parent
LOWER = ("topoanalysis.datasets", "topoanalysis.metrics", "topoanalysis.sheets", "topoanalysis.stimuli",
         "topoanalysis.models", "topoanalysis.brain", "topoanalysis.training", "topoanalysis.plotting",
         "topoanalysis.running", "topoanalysis.responses")
UPPER = ("topoanalysis.analyses", "topoanalysis.report", "topoanalysis.cli")


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE_ROOT.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_module_name(path): path for path in sorted(PACKAGE_ROOT.rglob("*.py"))}


def _is_type_checking(node: ast.AST) -> bool:
    return isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)


def _targets(node: ast.AST, module: str) -> list[str]:
    """The package modules an import statement in ``module`` loads."""
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names if alias.name.startswith("topoanalysis")]
    if not isinstance(node, ast.ImportFrom):
        return []
    if node.level:
        package = module if MODULES[module].name == "__init__.py" else module.rsplit(".", 1)[0]
        base = ".".join(package.split(".")[:len(package.split(".")) - node.level + 1])
        source = f"{base}.{node.module}" if node.module else base
    else:
        source = node.module or ""
    if not source.startswith("topoanalysis"):
        return []
    return [f"{source}.{alias.name}" if f"{source}.{alias.name}" in MODULES else source for alias in node.names]


def _imports(module: str, *, lazy: bool = True) -> set[str]:
    """Package modules that ``module`` imports; ``lazy``: also inside functions (never TYPE_CHECKING blocks)."""
    nodes, stack = [], list(ast.parse(MODULES[module].read_text()).body)
    while stack:
        node = stack.pop()
        if _is_type_checking(node) or (not lazy and isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))):
            continue
        nodes.append(node)
        stack += [child for child in ast.iter_child_nodes(node) if isinstance(child, ast.stmt)]
    return {target for node in nodes for target in _targets(node, module) if target != module}


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index, low, stack, on_stack, found = {}, {}, [], set(), []

    def visit(node):
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in graph.get(node, ()):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in graph:
        if node not in index:
            visit(node)
    return found


def test_the_package_has_no_import_cycles():
    """Not even through imports inside functions (the report once ran its own command line)."""
    assert len(MODULES) > 50
    assert _cycles({module: _imports(module) for module in MODULES}) == []


def test_the_cycle_check_sees_a_cycle():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


@pytest.mark.parametrize("module", [m for m in MODULES if m.startswith(LOWER + ("topoanalysis.analyses",))])
def test_lower_layers_never_import_the_layers_above(module):
    above = UPPER if module.startswith(LOWER) else ("topoanalysis.report", "topoanalysis.cli")
    assert not [target for target in _imports(module) if target.startswith(above)]


def test_the_report_calls_analyses_not_the_command_line():
    report = [m for m in MODULES if m.startswith("topoanalysis.report")]
    assert report and not [m for m in report if any(t.startswith("topoanalysis.cli")
                                                       for t in _imports(m))]
