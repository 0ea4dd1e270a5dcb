"""The CPU a benchmark ran on, for its header: int8 speed depends on whether it has VNNI."""

from __future__ import annotations

import os
import platform
from pathlib import Path


def describe() -> str:
    """E.g. ``"AMD EPYC, 2 cores, AVX2 without VNNI"`` (Linux; elsewhere the platform's processor name)."""
    cpuinfo = Path("/proc/cpuinfo")
    lines = cpuinfo.read_text().splitlines() if cpuinfo.is_file() else []
    # Every core repeats the same fields; any one's will do.
    fields = {key.strip(): value.strip() for key, _, value in (line.partition(":") for line in lines)}
    model = fields.get("model name") or platform.processor() or platform.machine()
    flags = set(fields.get("flags", "").split())
    if {"avx512_vnni", "avx_vnni"} & flags:
        isa = "with VNNI (int8 at full speed)"
    elif "avx2" in flags:
        isa = "AVX2 without VNNI (7-bit int8 weights at full speed; 8-bit ones through slower exact kernels)"
    else:
        isa = "instruction set unknown"
    return f"{model}, {os.cpu_count() or 1} cores, {isa}"
