"""PlateOCR: a small plain-conv CNN that reads a plate crop into a fixed number of character slots."""

from __future__ import annotations

import torch
from torch import nn

from numberplate.recognition.alphabet import ALPHABET, MAX_SLOTS
from numberplate.train.detect.model import ConvBNAct, count_parameters

# 64 px of height leaves ~25 px per line on two-line plates; 160 px of width gives a 10-character
# plate ~14 px per character. The 2.5 aspect sits between the real crops' 2 (us, br) and 4 (cn, tunisia),
# so no source is stretched by more than ~1.6x.
INPUT_HEIGHT = 64
INPUT_WIDTH = 160

__all__ = ["INPUT_HEIGHT", "INPUT_WIDTH", "PlateOCR", "count_parameters"]


def _stage(cin: int, cout: int, depth: int) -> nn.Sequential:
    """A stride-2 conv followed by ``depth`` plain 3x3 convs."""
    return nn.Sequential(ConvBNAct(cin, cout, 3, 2), *[ConvBNAct(cout, cout) for _ in range(depth)])


class PlateOCR(nn.Module):
    """Plain conv backbone to stride 16, a flattened 4x10 feature map, and one classifier per slot.

    The whole (small) feature map is flattened rather than averaged, so the head knows where each
    feature sits: slot *k* is "the k-th character in reading order", wherever the plate's layout
    puts it (single-line or two-line). By default each slot's logits are a linear read-out of the
    flattened map: a shared hidden layer in between (``hidden``) made the model learn far slower
    (fitting 256 crops: 3% exact after 200 steps with 256 hidden units, 76% without).

    Input: (B, H, W, 3) uint8 RGB, the crop resized to ``INPUT_HEIGHT`` x ``INPUT_WIDTH`` (normalised
    inside the graph, so inference only resizes). Output: (B, max_slots, len(alphabet)) logits (the
    exported model applies the softmax).

    Args:
        channels: widths at stride 2, 4, 8 and 16.
        depth: extra 3x3 convs after the stride-2 conv of the stride 4, 8 and 16 stages.
        head_channels: the 1x1 bottleneck before flattening (keeps the first dense layer small).
        hidden: width of a dense layer shared by all slots; 0 reads the slots straight off the feature map.
        dropout: dropout before each dense layer.
        max_slots: characters the model reads at most.
        vocab: alphabet size, pad included.
        input_size: (height, width) of the input; both multiples of 16.
    """

    def __init__(
        self,
        channels: tuple[int, ...] = (32, 48, 96, 160),
        depth: tuple[int, ...] = (1, 2, 2),
        head_channels: int = 32,
        hidden: int = 0,
        dropout: float = 0.1,
        max_slots: int = MAX_SLOTS,
        vocab: int = len(ALPHABET),
        input_size: tuple[int, int] = (INPUT_HEIGHT, INPUT_WIDTH),
    ):
        super().__init__()
        c1, c2, c3, c4 = channels
        d2, d3, d4 = depth
        self.max_slots, self.vocab, self.input_size = max_slots, vocab, input_size
        self.backbone = nn.Sequential(
            ConvBNAct(3, c1, 3, 2),  # stride 2
            _stage(c1, c2, d2),  # stride 4
            _stage(c2, c3, d3),  # stride 8
            _stage(c3, c4, d4),  # stride 16
            ConvBNAct(c4, head_channels, 1),
        )
        cells = (input_size[0] // 16) * (input_size[1] // 16)
        layers: list[nn.Module] = [nn.Flatten(), nn.Dropout(dropout)]
        width = head_channels * cells
        if hidden:
            layers += [nn.Linear(width, hidden), nn.ReLU(inplace=True), nn.Dropout(dropout)]
            width = hidden
        self.head = nn.Sequential(*layers, nn.Linear(width, max_slots * vocab))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x.permute(0, 3, 1, 2).float()
        x = (x - 115.0) / 64.0
        return self.head(self.backbone(x)).view(-1, self.max_slots, self.vocab)
