"""VerifierNet: a small CNN that tells a plate's surroundings from a sign's, a badge's or a lamp's."""

from __future__ import annotations

import torch
from torch import nn

from numberplate.train.detect.model import ConvBNAct

DEFAULT_CHANNELS = (16, 32, 64, 128)


class VerifierNet(nn.Module):
    """Stride-2 stages (each a downsampling conv and one plain conv), global average pool, one logit.

    Takes uint8 NHWC RGB, as the shipped graph does, so inference needs no pre-processing beyond the window.
    """

    def __init__(self, channels: tuple[int, ...] = DEFAULT_CHANNELS):
        super().__init__()
        layers: list[nn.Module] = []
        cin = 3
        for i, c in enumerate(channels):
            layers.append(ConvBNAct(cin, c, 3, 2))
            if i:
                layers.append(ConvBNAct(c, c))
            cin = c
        self.features = nn.Sequential(*layers)
        self.head = nn.Linear(cin, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Plate logits (N,) of uint8 (N, H, W, 3) windows."""
        x = x.permute(0, 3, 1, 2).float() / 127.5 - 1.0
        return self.head(self.features(x).mean((2, 3))).squeeze(1)
