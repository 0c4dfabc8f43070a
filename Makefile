# The two commands a newcomer needs: `make demo` (main job) and `make test` (tests).
# Both build .venv from the pinned lock on first use.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: venv demo test test-slow lint bench docs clean

venv: $(STAMP)

$(STAMP): requirements.lock requirements-test.lock requirements-build.lock pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --no-deps -r requirements-build.lock -r requirements.lock -r requirements-test.lock >$(VENV)/pip.log 2>&1 \
		|| { grep -v 'neither a file nor a directory' $(VENV)/pip.log; exit 1; }
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e .
	touch $(STAMP)

# The bundled spiking ResNet pair (the default checkpoint and its baseline), the bundled ReLU pair in three seeds
# (seed-level findings for the ReLU family; the spiking pairs are one seed each) and the spiking CORnet-RT pair.
SNN_TOPO := checkpoints/tsresnet18_cifar10_a05b05.pt
SNN_BASE := checkpoints/sresnet18_cifar10_baseline.pt
ANN_TOPO := checkpoints/tresnet18_cifar10_a05.pt
ANN_BASE := checkpoints/resnet18_cifar10_baseline.pt
ANN_TOPO_1 := checkpoints/tresnet18_cifar10_a05_seed1.pt
ANN_BASE_1 := checkpoints/resnet18_cifar10_baseline_seed1.pt
ANN_TOPO_2 := checkpoints/tresnet18_cifar10_a05_seed2.pt
ANN_BASE_2 := checkpoints/resnet18_cifar10_baseline_seed2.pt
CORNET_TOPO := checkpoints/tscornet_cifar10_a05b05.pt
CORNET_BASE := checkpoints/scornet_cifar10_baseline.pt

demo: $(STAMP)
	$(BIN)/topoanalysis report --models $(SNN_TOPO) $(SNN_BASE) $(ANN_TOPO) $(ANN_BASE) \
		$(ANN_TOPO_1) $(ANN_BASE_1) $(ANN_TOPO_2) $(ANN_BASE_2) $(CORNET_TOPO) $(CORNET_BASE) \
		--baseline-of $(SNN_TOPO)=$(SNN_BASE) --baseline-of $(ANN_TOPO)=$(ANN_BASE) \
		--baseline-of $(ANN_TOPO_1)=$(ANN_BASE_1) --baseline-of $(ANN_TOPO_2)=$(ANN_BASE_2) \
		--baseline-of $(CORNET_TOPO)=$(CORNET_BASE) \
		--group relu=$(ANN_TOPO),$(ANN_TOPO_1),$(ANN_TOPO_2) --out reports/bundled

test: $(STAMP)
	$(BIN)/python -m pytest

test-slow: $(STAMP)
	$(BIN)/python -m pytest -m slow

lint: $(STAMP)
	$(BIN)/ruff check topoanalysis tests benchmarks

bench: $(STAMP)
	$(BIN)/python benchmarks/record_speed.py

# The documentation site (Sphinx, numpydoc, the executed example gallery) -> docs/_build/html/index.html.
# Warnings are errors: a broken example or a dangling reference fails the build. -E rereads every page,
# so a warning of an unchanged page is not hidden by the saved environment of an earlier build.
DOCS_STAMP := $(VENV)/.docs-installed

$(DOCS_STAMP): requirements-docs.lock $(STAMP)
	$(BIN)/python -m pip install --quiet --no-deps -r requirements-docs.lock >$(VENV)/pip-docs.log 2>&1 \
		|| { grep -v 'neither a file nor a directory' $(VENV)/pip-docs.log; exit 1; }
	touch $(DOCS_STAMP)

docs: $(STAMP) $(DOCS_STAMP)
	$(BIN)/sphinx-build -E -W --keep-going -b html docs docs/_build/html

clean:
	rm -rf $(VENV)
