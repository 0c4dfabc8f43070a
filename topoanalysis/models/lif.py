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

:func:`make_neuron` builds the neurons every feed-forward family offers (:data:`NEURONS`): spikingjelly's
``LIFNode``, ``IFNode`` and ``ParametricLIFNode`` (PLIF, Fang et al. 2021: a learnable time constant per
layer) or a ReLU. Only the fixed-tau LIF has a plain twin: IF and PLIF neurons are never swapped.
"""

from __future__ import annotations

import math

import torch
from spikingjelly.activation_based import neuron, surrogate
from torch import nn

from ..errors import InputError

SPIKING_NEURONS = ("lif", "if", "plif")
"""spikingjelly's ``LIFNode``, ``IFNode`` and ``ParametricLIFNode``, all with a hard reset to 0."""
NEURONS = (*SPIKING_NEURONS, "relu")
"""What a network's ``neuron_kind`` may be: a spiking neuron, or ``"relu"`` for the non-spiking twin."""
SURROGATES = {"atan": surrogate.ATan, "sigmoid": surrogate.Sigmoid}


def make_neuron(kind: str, *, tau: float, v_threshold: float, surrogate_name: str, detach_reset: bool,
                step_mode: str = "m") -> nn.Module:
    """One layer of neurons of ``kind`` (:data:`NEURONS`).

    ``"lif"``: ``LIFNode(tau)``, ``h = v + (x - v) / tau``; ``"if"``: ``IFNode``, ``h = v + x`` (``tau`` is not
    used); ``"plif"``: ``ParametricLIFNode(init_tau=tau)``, ``h = v + (x - v) sigmoid(w)`` with ``w`` a learnable
    parameter (a state-dict key, ``<layer>.w``) that starts at ``-log(tau - 1)``, so ``tau`` must exceed 1; the three
    with input decay where it applies, threshold ``v_threshold``, hard reset to 0, the surrogate gradient
    :data:`SURROGATES` ``[surrogate_name]`` and ``step_mode`` ``"m"`` (``[T, ...]`` inputs) or ``"s"``.
    ``"relu"``: ``nn.ReLU()``.
    """
    if kind not in NEURONS:
        raise InputError(f"unknown neuron_kind {kind!r}; valid: {', '.join(NEURONS)}")
    if surrogate_name not in SURROGATES:
        raise InputError(f"unknown surrogate {surrogate_name!r}; valid: {', '.join(SURROGATES)}")
    if kind == "relu":
        return nn.ReLU()
    common = {"v_threshold": float(v_threshold), "v_reset": 0.0, "surrogate_function": SURROGATES[surrogate_name](),
              "detach_reset": detach_reset, "step_mode": step_mode}
    if kind == "if":
        return neuron.IFNode(**common)
    if kind == "plif":
        if not tau > 1.0:
            raise InputError(f"a PLIF neuron's initial tau must be above 1 (its w starts at -log(tau - 1)), got {tau}; "
                             "pass tau > 1", parameter="tau")
        return neuron.ParametricLIFNode(init_tau=float(tau), decay_input=True, **common)
    return neuron.LIFNode(tau=tau, decay_input=True, **common)


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
    many. Single-step nodes (a recurrent network's, e.g. the CORnet-RT, which steps its areas one by one) stay, and
    so does every other neuron: the class must be ``LIFNode`` itself (IF, PLIF or any subclass of ``LIFNode`` follow
    other equations, so swapping them would change the network)."""
    swaps = [(parent, name, child) for parent in model.modules() for name, child in parent.named_children()
             if type(child) is neuron.LIFNode and child.step_mode == "m"]
    for parent, name, child in swaps:
        setattr(parent, name, plain_twin(child))
    return len(swaps)


def is_spiking(model: nn.Module) -> bool:
    """Whether ``model`` has spiking neurons (a spikingjelly node or :class:`PlainLIF`), i.e. is not a ReLU network."""
    return any(isinstance(module, (neuron.BaseNode, PlainLIF)) for module in model.modules())
