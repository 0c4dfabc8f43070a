"""ResNet-34 and ResNet-50, spiking (spikingjelly's ``spiking_resnet34/50``), SEW (``sew_resnet34/50``) and ReLU.

The same implementation as ResNet-18 (:class:`~.resnet.SpikingResNet`) with more blocks: ResNet-34 has basic
blocks 3-4-6-3, ResNet-50 bottleneck blocks 3-4-6-3 (1x1, 3x3 with the stride, 1x1, expansion 4; a
downsampling shortcut wherever the channels change, so also in ``layer1.0``). Key names are the zoo's
(torchvision's). Each depth is its own :class:`~.family.Family`; the areas extend TDANN's ResNet-18 map
(:func:`~.resnet.stage_areas`, our extension): layer1 retina, layer2 V1, layer3's first three blocks V2 and its
last three V4, layer4 IT. :meth:`~.checkpoints.CheckpointSpec.layer_for` then reads V1 from the first V1 block,
``layer2.0``, as for ResNet-18, and IT from the last IT block, ``layer4.2`` (ResNet-18: ``layer4.1``): the
network's last block, before the pool and classifier, as in TDANN.
"""

from __future__ import annotations

from .resnet import BasicBlock, Bottleneck, SpikingResNet, resnet_family


class SpikingResNet34(SpikingResNet):
    """ResNet-34 (basic blocks, 3-4-6-3) with spiking neurons or ReLUs; parameters as
    :class:`~.resnet.SpikingResNet`.

    Examples
    --------
    >>> import torch
    >>> net = SpikingResNet34(num_classes=10, stem="cifar", width=0.0625, timesteps=2)
    >>> net.feature_layers[-1], tuple(net(torch.rand(2, 3, 16, 16)).shape)
    ('layer4.2', (2, 10))
    """

    depths = (3, 4, 6, 3)
    block = BasicBlock


class SpikingResNet50(SpikingResNet):
    """ResNet-50 (bottleneck blocks, 3-4-6-3) with spiking neurons or ReLUs; parameters as
    :class:`~.resnet.SpikingResNet` (the classifier reads ``8 * 4 * round(64 * width)`` features).

    Examples
    --------
    >>> net = SpikingResNet50(num_classes=10, stem="cifar", width=0.0625, timesteps=2)
    >>> net.fc.in_features
    128
    """

    depths = (3, 4, 6, 3)
    block = Bottleneck


FAMILY34 = resnet_family("resnet34", "ResNet-34", SpikingResNet34)
FAMILY50 = resnet_family("resnet50", "ResNet-50", SpikingResNet50)
