"""Synthetic number plates for recogniser training: layouts per country, a renderer and crop effects.

``render_crop(rng)`` gives a detector-like 160x48 RGB crop with its label and country;
``render_plate(rng)`` the clean plate. Fonts come from the Debian packages listed in FONTS.txt.
"""

from numberplate.train.synth.fonts import FontsNotFoundError, check_fonts, font_packages
from numberplate.train.synth.layouts import LABEL_CHARSET, LAYOUTS, Layout, get_layout, pick_layout
from numberplate.train.synth.render import SynthPlate, render_crop, render_plate
from numberplate.train.synth.samples import write_samples

__all__ = ["LABEL_CHARSET", "LAYOUTS", "FontsNotFoundError", "Layout", "SynthPlate", "check_fonts", "font_packages",
           "get_layout", "pick_layout", "render_crop", "render_plate", "write_samples"]
