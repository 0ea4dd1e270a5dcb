"""PlateNet: a compact anchor-free plate detector (TTFNet/CenterNet-style head on a small FPN)."""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F


class ConvBNAct(nn.Sequential):
    """Convolution, batch norm and ReLU."""

    def __init__(self, cin: int, cout: int, k: int = 3, s: int = 1, groups: int = 1, act: bool = True):
        layers: list[nn.Module] = [
            nn.Conv2d(cin, cout, k, s, k // 2, groups=groups, bias=False),
            nn.BatchNorm2d(cout),
        ]
        if act:
            layers.append(nn.ReLU(inplace=True))
        super().__init__(*layers)


def _stage(cin: int, cout: int, depth: int) -> nn.Sequential:
    """A stride-2 conv followed by ``depth`` plain 3x3 convs (dense convs train fast on CPU)."""
    return nn.Sequential(ConvBNAct(cin, cout, 3, 2), *[ConvBNAct(cout, cout) for _ in range(depth)])


# The modules a heatmap-only fine-tune trains (the rest is frozen, batch-norm statistics included).
HEAT_BRANCH = ("heat_head", "heat")


class PlateNet(nn.Module):
    """Plain conv backbone to stride 32, top-down FPN to stride 8, heatmap + box-distance head at stride 8.

    Outputs, for an input of shape (B, 3, H, W) in [0, 1]:
      heat: (B, 1, H/8, W/8) plate-centre logits (the exported model applies the sigmoid),
      box:  (B, 4, H/8, W/8) distances left, top, right, bottom from the cell centre, in input pixels.
    """

    def __init__(self, width: int = 48, channels: tuple[int, ...] = (16, 32, 64, 96, 128), depth: int = 1,
                 heat_head: bool = False):
        """``heat_head``: the heatmap reads its own head layer instead of sharing the box's (see
        :data:`HEAT_BRANCH`: a heatmap-only fine-tune leaves the boxes exactly as they were)."""
        super().__init__()
        c1, c2, c3, c4, c5 = channels
        self.stem = ConvBNAct(3, c1, 3, 2)
        self.s4 = _stage(c1, c2, depth)
        self.s8 = _stage(c2, c3, depth)
        self.s16 = _stage(c3, c4, depth)
        self.s32 = _stage(c4, c5, depth)
        self.lat32 = ConvBNAct(c5, width, 1)
        self.lat16 = ConvBNAct(c4, width, 1)
        self.lat8 = ConvBNAct(c3, width, 1)
        self.smooth16 = ConvBNAct(width, width)
        self.smooth8 = ConvBNAct(width, width)
        self.head = ConvBNAct(width, width)
        self.heat_head: nn.Module | None = ConvBNAct(width, width) if heat_head else None
        self.heat = nn.Conv2d(width, 1, 1)
        self.box = nn.Conv2d(width, 4, 1)
        with torch.no_grad():
            self.heat.bias.fill_(-4.6)  # type: ignore[union-attr]  # prior: a plate centre is rare
            self.box.bias.zero_()  # type: ignore[union-attr]

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x = (x - 0.45) / 0.25
        c8 = self.s8(self.s4(self.stem(x)))
        c16 = self.s16(c8)
        c32 = self.s32(c16)
        p16 = self.smooth16(self.lat16(c16) + F.interpolate(self.lat32(c32), size=c16.shape[-2:], mode="nearest"))
        p8 = self.smooth8(self.lat8(c8) + F.interpolate(p16, size=c8.shape[-2:], mode="nearest"))
        h = self.head(p8)
        heat = self.heat(self.heat_head(p8) if self.heat_head is not None else h)
        # Distances in units of 16 px through a softplus keep them positive and well scaled.
        return heat, F.softplus(self.box(h)) * 16.0


def tune_heat_only(model: PlateNet) -> None:
    """Freeze every parameter outside :data:`HEAT_BRANCH`; call :func:`train_mode` instead of ``train()``."""
    for name, param in model.named_parameters():
        param.requires_grad = name.split(".")[0] in HEAT_BRANCH


def train_mode(model: PlateNet, heat_only: bool) -> None:
    """``model.train()``, with the frozen modules of a heatmap-only fine-tune kept in eval mode
    (their batch-norm statistics must not move, or the boxes would)."""
    model.train()
    if heat_only:
        for name, module in model.named_children():
            if name not in HEAT_BRANCH:
                module.eval()


def count_parameters(model: nn.Module) -> int:
    """Number of trainable parameters."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)
