"""The CPU a benchmark ran on, for its header: int8 speed depends on whether it has VNNI."""

from __future__ import annotations

import platform
from pathlib import Path


def describe() -> str:
    """E.g. ``"AMD EPYC, 2 cores, AVX2 without VNNI"`` (Linux; elsewhere the platform's processor name)."""
    import os

    cpuinfo = Path("/proc/cpuinfo")
    text = cpuinfo.read_text() if cpuinfo.is_file() else ""
    model = next((line.split(":", 1)[1].strip() for line in text.splitlines() if line.startswith("model name")),
                 platform.processor() or platform.machine())
    flags = set(next((line.split(":", 1)[1].split() for line in text.splitlines() if line.startswith("flags")), []))
    if {"avx512_vnni", "avx_vnni"} & flags:
        isa = "with VNNI (int8 at full speed)"
    elif "avx2" in flags:
        isa = "AVX2 without VNNI (int8 through exact uint8 kernels, slower)"
    else:
        isa = "instruction set unknown"
    return f"{model}, {os.cpu_count() or 1} cores, {isa}"
