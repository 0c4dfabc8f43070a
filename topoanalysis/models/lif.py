"""A multi-step LIF neuron in plain tensor operations, for ``torch.compile`` to fuse.

The same neuron as the models' spikingjelly ``LIFNode`` (tau, input decay, threshold, hard
reset to 0, optionally detached reset, ATan surrogate gradient): at each step
``h = v + (x - v) / tau``, ``s = heaviside(h - v_threshold)`` (1 at and above threshold) and
``v = h * (1 - s)``, from ``v = 0``. The spike is ``heaviside + g - g.detach()`` with ``g`` the
ATan surrogate's primitive ``atan(pi / 2 * alpha * x) / pi + 1 / 2``, so the forward value is
the step and the gradient is ATan's ``alpha / 2 / (1 + (pi / 2 * alpha * x)^2)``, without an
autograd.Function that would break the compiled graph. It holds no state between calls
(every call starts from ``v = 0``, as the toolkit's forward passes do after ``reset_net``).
spikingjelly's ``LIFNode`` stays the tested reference: :func:`use_plain_lif` swaps it in.
"""

from __future__ import annotations

import math

import torch
from spikingjelly.activation_based import neuron, surrogate
from torch import nn

from ..errors import InputError


def atan_spike(x: torch.Tensor, alpha: float = 2.0) -> torch.Tensor:
    """``heaviside(x)`` forward, spikingjelly's ATan surrogate gradient backward."""
    primitive = torch.atan((math.pi / 2 * alpha) * x) / math.pi + 0.5
    return (x >= 0).to(x.dtype) + (primitive - primitive.detach())


class PlainLIF(nn.Module):
    """Multi-step LIF over ``[T, ...]`` inputs; see the module docstring."""

    checkpoint_type_name = "LIFNode"
    """Recorded as spikingjelly's class in checkpoints: it is the same neuron."""

    def __init__(self, tau: float = 2.0, v_threshold: float = 1.0, detach_reset: bool = True,
                 alpha: float = 2.0) -> None:
        super().__init__()
        self.tau, self.v_threshold, self.detach_reset = float(tau), float(v_threshold), detach_reset
        self.surrogate_function = surrogate.ATan(alpha)  # held as LIFNode holds it; only its alpha is used

    def forward(self, x_seq: torch.Tensor) -> torch.Tensor:
        v = torch.zeros_like(x_seq[0])
        spikes = []
        for x in x_seq.unbind(0):
            h = v + (x - v) / self.tau
            spike = atan_spike(h - self.v_threshold, self.surrogate_function.alpha)
            v = h * (1.0 - (spike.detach() if self.detach_reset else spike))
            spikes.append(spike)
        return torch.stack(spikes)

    def extra_repr(self) -> str:
        return f"tau={self.tau}, v_threshold={self.v_threshold}, detach_reset={self.detach_reset}"


def plain_twin(node: neuron.LIFNode) -> PlainLIF:
    """The :class:`PlainLIF` equal to a spikingjelly ``LIFNode`` (ValueError for settings it does not cover)."""
    if not (node.decay_input and node.v_reset == 0.0 and node.step_mode == "m"
            and isinstance(node.surrogate_function, surrogate.ATan)):
        raise InputError(f"no plain twin for {node!r}: it covers multi-step LIF with input decay, hard reset to 0 "
                         "and the ATan surrogate")
    return PlainLIF(node.tau, node.v_threshold, node.detach_reset, node.surrogate_function.alpha)


def use_plain_lif(model: nn.Module) -> int:
    """Replace every multi-step spikingjelly ``LIFNode`` in ``model`` by its :class:`PlainLIF` twin; returns how
    many. Single-step nodes (a recurrent network's, e.g. the CORnet-RT, which steps its areas one by one) stay."""
    swaps = [(parent, name, child) for parent in model.modules() for name, child in parent.named_children()
             if isinstance(child, neuron.LIFNode) and child.step_mode == "m"]
    for parent, name, child in swaps:
        setattr(parent, name, plain_twin(child))
    return len(swaps)


def is_spiking(model: nn.Module) -> bool:
    """Whether ``model`` has spiking neurons (a spikingjelly node or :class:`PlainLIF`), i.e. is not a ReLU network."""
    return any(isinstance(module, (neuron.BaseNode, PlainLIF)) for module in model.modules())
