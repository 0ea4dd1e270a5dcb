"""Synthetic number plates for recogniser training: layouts per country, a renderer and crop effects."""

from numberplate.train.synth.fonts import FontsNotFoundError, check_fonts, font_packages
from numberplate.train.synth.layouts import LABEL_CHARSET, LAYOUTS, Layout, get_layout
from numberplate.train.synth.render import SynthPlate, render_crop, render_plate

__all__ = ["LABEL_CHARSET", "LAYOUTS", "FontsNotFoundError", "Layout", "SynthPlate", "check_fonts", "font_packages",
           "get_layout", "render_crop", "render_plate"]
