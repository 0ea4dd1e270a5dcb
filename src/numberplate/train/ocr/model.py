"""PlateOCR: a small plain-conv CNN that reads a plate crop into a fixed number of character slots.

Two heads read the slots off the stride-16 feature map: ``linear`` (the map flattened, one linear
read-out per slot) and ``attention`` (learned slot queries that attend over the map's cells, a tiny
transformer decoder). The attention head aligns slots with characters far better: the linear head's
typical errors are shifted or doubled characters (``FHG521`` read ``FHGG52``).
"""

from __future__ import annotations

import math

import torch
from torch import nn

from numberplate.recognition.alphabet import ALPHABET, MAX_SLOTS
from numberplate.train.detect.model import ConvBNAct, count_parameters

# 64 px of height leaves ~25 px per line on two-line plates; 160 px of width gives a 10-character
# plate ~14 px per character. The 2.5 aspect sits between the real crops' 2 (us, br) and 4 (cn, tunisia),
# so no source is stretched by more than ~1.6x.
INPUT_HEIGHT = 64
INPUT_WIDTH = 160

__all__ = ["INPUT_HEIGHT", "INPUT_WIDTH", "PlateOCR", "SlotDecoder", "count_parameters"]


def _stage(cin: int, cout: int, depth: int) -> nn.Sequential:
    """A stride-2 conv followed by ``depth`` plain 3x3 convs."""
    return nn.Sequential(ConvBNAct(cin, cout, 3, 2), *[ConvBNAct(cout, cout) for _ in range(depth)])


class _Attention(nn.Module):
    """Multi-head attention from plain linear layers and matmuls (exports to any ONNX opset, no fused kernels)."""

    def __init__(self, dim: int, heads: int):
        super().__init__()
        self.heads, self.scale = heads, 1.0 / math.sqrt(dim // heads)
        self.q, self.k, self.v, self.out = (nn.Linear(dim, dim) for _ in range(4))

    def forward(self, x: torch.Tensor, memory: torch.Tensor) -> torch.Tensor:
        # Shapes from Python ints and -1 for the batch only: the exported graph then reshapes by constants
        # instead of computing shapes at run time (session 15: ~0.2 ms of the OCR's 2 on a CPU). ``x`` may
        # hold one row for the whole batch (the slot queries), broadcast against ``memory``'s batch.
        d, h = self.q.in_features, self.heads
        n, m = int(x.shape[1]), int(memory.shape[1])

        def split(t: torch.Tensor, length: int) -> torch.Tensor:
            return t.reshape(-1, length, h, d // h).transpose(1, 2)

        q, k, v = split(self.q(x), n), split(self.k(memory), m), split(self.v(memory), m)
        weights = torch.softmax(q @ k.transpose(-1, -2) * self.scale, dim=-1)
        return self.out((weights @ v).transpose(1, 2).reshape(-1, n, d))


class _Block(nn.Module):
    """Pre-norm transformer block: self-attention, optional cross-attention to a memory, MLP."""

    def __init__(self, dim: int, heads: int, cross: bool, dropout: float):
        super().__init__()
        self.norm1, self.attn = nn.LayerNorm(dim), _Attention(dim, heads)
        self.cross = _Attention(dim, heads) if cross else None
        self.norm2: nn.LayerNorm | None = nn.LayerNorm(dim) if cross else None
        self.norm_mem: nn.LayerNorm | None = nn.LayerNorm(dim) if cross else None
        self.norm3 = nn.LayerNorm(dim)
        self.mlp = nn.Sequential(nn.Linear(dim, 2 * dim), nn.GELU(), nn.Dropout(dropout), nn.Linear(2 * dim, dim))
        self.drop = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor, memory: torch.Tensor | None = None) -> torch.Tensor:
        y = self.norm1(x)
        x = x + self.drop(self.attn(y, y))
        if self.cross is not None and memory is not None:
            assert self.norm2 is not None and self.norm_mem is not None
            x = x + self.drop(self.cross(self.norm2(x), self.norm_mem(memory)))
        return x + self.drop(self.mlp(self.norm3(x)))


class SlotDecoder(nn.Module):
    """Learned slot queries read a feature map: one self-attention block over the cells, then decoder blocks.

    Input: (B, C, H, W) features. Output: (B, slots, vocab) logits. Cells carry a learned position
    embedding, so slot *k* can find the k-th character in reading order on one- or two-line plates.
    """

    def __init__(self, cin: int, cells: int, dim: int = 128, heads: int = 4, layers: int = 2,
                 slots: int = MAX_SLOTS, vocab: int = len(ALPHABET), dropout: float = 0.1):
        super().__init__()
        self.proj = nn.Conv2d(cin, dim, 1)
        self.pos = nn.Parameter(torch.randn(1, cells, dim) * 0.02)
        self.queries = nn.Parameter(torch.randn(1, slots, dim) * 0.02)
        self.encoder = _Block(dim, heads, cross=False, dropout=dropout)
        self.decoder = nn.ModuleList(_Block(dim, heads, cross=True, dropout=dropout) for _ in range(layers))
        self.norm = nn.LayerNorm(dim)
        self.classify = nn.Linear(dim, vocab)

    def forward(self, feats: torch.Tensor) -> torch.Tensor:
        cells = self.proj(feats).reshape(-1, self.proj.out_channels, self.pos.shape[1]).transpose(1, 2)
        memory = self.encoder(cells + self.pos)
        # In eval (and the exported graph) the queries stay one row, broadcast to the batch by the first
        # cross-attention, so the queries' first self-attention is a constant; training keeps a row per
        # plate (dropout differs per plate).
        x = self.queries.expand(feats.shape[0], -1, -1) if self.training else self.queries
        for block in self.decoder:
            x = block(x, memory)
        return self.classify(self.norm(x))


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
        head: ``linear`` (flattened map, a linear read-out per slot) or ``attention`` (:class:`SlotDecoder`).
        head_channels: the 1x1 bottleneck before flattening (keeps the first dense layer small; linear head).
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
        head: str = "linear",
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
        stages = [
            ConvBNAct(3, c1, 3, 2),  # stride 2
            _stage(c1, c2, d2),  # stride 4
            _stage(c2, c3, d3),  # stride 8
            _stage(c3, c4, d4),  # stride 16
        ]
        cells = (input_size[0] // 16) * (input_size[1] // 16)
        if head == "attention":
            self.backbone = nn.Sequential(*stages)
            self.head: nn.Module = SlotDecoder(c4, cells, slots=max_slots, vocab=vocab, dropout=dropout)
            return
        if head != "linear":
            raise ValueError(f"unknown OCR head {head!r} (linear or attention)")
        self.backbone = nn.Sequential(*stages, ConvBNAct(c4, head_channels, 1))
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
