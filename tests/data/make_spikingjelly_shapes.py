"""Regenerate spikingjelly_spiking_resnet18_state_dict_shapes.json.

The fixture lists the state-dict keys and shapes of spikingjelly 2.0.0's own
``spiking_resnet18`` (LIFNode, tau 2.0, ATan, detach_reset). That module imports
torchvision only for ``load_state_dict_from_url`` (pretrained downloads), and torchvision
does not import beside the CPU torch wheel here, so this script executes the installed
module's source without that one import line. Run: ``python tests/data/make_spikingjelly_shapes.py``.
"""

import copy
import json
import types
from pathlib import Path

import spikingjelly.activation_based as sj
import torch
from spikingjelly.activation_based import layer, neuron, surrogate

source = (Path(sj.__path__[0]) / "model" / "spiking_resnet.py").read_text()
body = source.split("from .. import layer", 1)[1]
module = types.ModuleType("spikingjelly_spiking_resnet")
module.__dict__.update(torch=torch, nn=torch.nn, layer=layer, deepcopy=copy.deepcopy,
                       load_state_dict_from_url=None)
exec(compile(body, "spiking_resnet.py", "exec"), module.__dict__)
net = module.spiking_resnet18(spiking_neuron=neuron.LIFNode, tau=2.0,
                              surrogate_function=surrogate.ATan(), detach_reset=True)
shapes = {key: list(value.shape) for key, value in net.state_dict().items()}
out = Path(__file__).with_name("spikingjelly_spiking_resnet18_state_dict_shapes.json")
out.write_text(json.dumps(shapes, indent=1))
print(f"wrote {out} ({len(shapes)} keys)")
