"""Plate designs as data: sizes, colours, bands, small texts, character lines and text patterns per country."""

from __future__ import annotations

import string
from dataclasses import dataclass, field, replace
from typing import Literal

import numpy as np

from numberplate.train.synth.rand import randint, weighted_index

RGB = tuple[int, int, int]
ItemKind = Literal["char", "gap", "dash", "dot", "word", "seal", "logo", "stack", "mark"]

WHITE: RGB = (245, 245, 242)
BLACK: RGB = (20, 20, 22)
EU_BLUE: RGB = (0, 51, 153)
EU_YELLOW: RGB = (255, 204, 0)

LETTERS = string.ascii_uppercase
DIGITS = string.digits
# Province abbreviations that start every Chinese registration.
CN_PROVINCES = "京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼"
# Every character a label may contain.
LABEL_CHARSET = frozenset(LETTERS + DIGITS + CN_PROVINCES)
# The Arabic word for Tunisia in presentation forms, left to right as it appears, so that no shaping
# engine is needed to draw it joined: seen-final, noon-initial, waw-final, teh-initial.
TUNIS_AR = "\ufeb2\ufee7\ufeee\ufe97"
TUNIS_LABEL = "T"
# The letters ن ت (isolated forms, left to right) of Tunisian plates numbered in the "NT" series: read as ``N``.
TUNIS_NT_AR = "\ufe95 \ufee5"
TUNIS_NT_LABEL = "N"
WORD_LABELS = {TUNIS_AR: TUNIS_LABEL, TUNIS_NT_AR: TUNIS_NT_LABEL}
# Emirate names printed between or beside the registration on UAE plates (not part of it): the Latin
# name and the Arabic one, the latter in presentation forms, in visual order (دبي, عجمان).
EMIRATE_MARKS = {"DUBAI": "\ufef2\ufe91\ufea9", "AJMAN": "\ufee5\ufe8e\ufee4\ufea0\ufecb"}


@dataclass(frozen=True)
class Scheme:
    """Colours of one design variant.

    Attributes:
        background: Plate colour (top colour when ``gradient`` is set).
        text: Colour of the registration characters.
        border: Colour of a printed or raised border line; None draws none.
        gradient: Bottom colour of a vertical background gradient.
        caption: Colour of the small texts; None picks the text colour or a random print colour.
        weight: Relative probability among the layout's schemes.
    """

    background: RGB
    text: RGB
    border: RGB | None = None
    gradient: RGB | None = None
    caption: RGB | None = None
    weight: float = 1.0


@dataclass(frozen=True)
class LineSpec:
    """Where one line of registration characters sits, in fractions of the plate size.

    Attributes:
        y: Vertical centre of the characters.
        height: Character height (fraction of plate height).
        x0: Left limit of the line.
        x1: Right limit of the line.
        pitch: Fixed character cell width as a fraction of the character height (monospaced plates).
        condense: Range of the factor applied to the fonts' natural character widths.
        spacing: Range of the gap between characters, as a fraction of the character height.
    """

    y: float
    height: float
    x0: float = 0.05
    x1: float = 0.95
    pitch: float | None = None
    condense: tuple[float, float] = (0.72, 0.95)
    spacing: tuple[float, float] = (0.04, 0.14)


@dataclass(frozen=True)
class Band:
    """A vertical band at one end of the plate, e.g. the EU blue band with stars and country letters.

    Attributes:
        side: "left" or "right".
        width: Band width as a fraction of plate width.
        colour: Fill colour; None leaves the plate colour (an unfilled code column, as on Indian plates).
        codes: Country or region codes printed at the bottom of the band (one picked at random).
        code_colour: Colour of that code.
        stars: Draw the EU ring of twelve stars.
        probability: Chance that a rendered plate has the band.
    """

    side: Literal["left", "right"]
    width: float
    colour: RGB | None
    codes: tuple[str, ...] = ()
    code_colour: RGB = WHITE
    stars: bool = False
    probability: float = 1.0


@dataclass(frozen=True)
class Caption:
    """Small printed text that is not part of the registration (state name, slogan, city, "BRASIL").

    Attributes:
        texts: Candidates, one picked at random.
        y: Vertical centre (fraction of plate height).
        height: Text height (fraction of plate height).
        x0: Left limit.
        x1: Right limit.
        colour: Text colour; None uses the scheme's caption colour.
        font: Font group name (see ``fonts.FONT_GROUPS``).
        bar: Colour of a full-width strip behind the text; None draws none.
        bar_height: Height of that strip (fraction of plate height).
        probability: Chance that a rendered plate carries the caption.
    """

    texts: tuple[str, ...]
    y: float
    height: float
    x0: float = 0.08
    x1: float = 0.92
    colour: RGB | None = None
    font: str = "sans"
    bar: RGB | None = None
    bar_height: float = 0.0
    probability: float = 1.0


ART_KINDS = frozenset({"sun", "mountains", "waves", "stripes", "blotches"})
"""Background art a layout may name (``Layout.art``), drawn by ``render._Painter.art``."""
EXTRAS = frozenset({"mercosul", "stickers", "chakra", "ru_region", "ua_flag"})
"""Special decorations a layout may name (``Layout.extras``), drawn by ``render``."""


@dataclass(frozen=True)
class Layout:
    """One plate design: geometry, colours, decorations and the registration patterns.

    Patterns use ``@`` letter (from ``letters``), ``#`` digit, ``!`` non-zero digit, ``*`` letter or
    digit, ``%`` Chinese province, ``$`` region code (from ``regions``), ``~`` the Arabic word for
    Tunisia (labelled ``T``), ``=`` the letters ن ت of the Tunisian NT series (labelled ``N``), literal
    ``A-Z0-9``; drawn but not labelled: space (gap), ``-`` dash, ``.`` dot, ``o`` seal sticker, ``^``
    emblem, ``&`` the emirate's name in Arabic over Latin (one of ``marks``); ``[..]`` two characters
    stacked (labelled top then bottom), ``{..}`` a stacked pair that is not part of the registration;
    ``|`` starts the next line.

    Attributes:
        name: Unique layout name.
        country: Country code written into samples (``us``, ``br``, ``tn``, ``cn``, ``de``...).
        size_mm: Plate width and height in millimetres (sets the aspect ratio).
        patterns: Registration patterns, one picked at random (repeat one to weight it).
        lines: One ``LineSpec`` per pattern line.
        schemes: Colour variants.
        fonts: Font groups for the characters.
        letters: Letters ``@`` draws from.
        regions: Codes ``$`` draws from.
        marks: Names ``&`` draws from (keys of ``EMIRATE_MARKS``).
        bands: Bands at the plate ends.
        captions: Small texts.
        art: Background art the renderer may add ("sun", "mountains", "waves", "stripes", "blotches").
        extras: Special decorations ("mercosul", "stickers", "chakra", "ru_region": the rule and flag of
            Russia's region field, "ua_flag": Ukraine's flag in the band).
        bolts: Bolt positions (x, y) as fractions of the plate size.
        radius: Corner radius as a fraction of plate height.
        border_width: Border line width as a fraction of plate height.
        emboss: Chance of raised characters with a shadow and highlight.
        stroke: Range [lo, hi) of extra stroke width (pixels at the glyph render size) to embolden the font.
        dash: Range of a dash's width as a fraction of the character height.
        bare_one: Chance that the plate's typeface draws ``1`` as a bare upright (the UK's Charles
            Wright face): drawn with the font's ``I``, still labelled ``1``.
        read_order: The order in which the lines make up the label, when it is not top to bottom
            (square Tunisian plates: the series on the bottom line is read before the number above).
        weight: Relative probability when a layout is picked at random.
    """

    name: str
    country: str
    size_mm: tuple[int, int]
    patterns: tuple[str, ...]
    lines: tuple[LineSpec, ...]
    schemes: tuple[Scheme, ...]
    fonts: tuple[str, ...] = ("plate",)
    letters: str = LETTERS
    regions: tuple[str, ...] = ()
    marks: tuple[str, ...] = ()
    bands: tuple[Band, ...] = ()
    captions: tuple[Caption, ...] = ()
    art: tuple[str, ...] = ()
    extras: tuple[str, ...] = ()
    bolts: tuple[tuple[float, float], ...] = ()
    radius: float = 0.06
    border_width: float = 0.02
    emboss: float = 0.4
    stroke: tuple[int, int] = (0, 4)
    dash: tuple[float, float] = (0.22, 0.4)
    bare_one: float = 0.0
    read_order: tuple[int, ...] = ()
    weight: float = 1.0

    def __post_init__(self) -> None:
        # A misspelt decoration would otherwise draw nothing, silently.
        for attribute, names, known in (("art", self.art, ART_KINDS), ("extras", self.extras, EXTRAS)):
            unknown = sorted(set(names) - known)
            if unknown:
                raise ValueError(f"layout {self.name!r}: unknown {attribute} {', '.join(unknown)}; "
                                 f"known: {', '.join(sorted(known))}")

    @property
    def stacked(self) -> bool:
        """Whether the registration runs over two rows (some line lies wholly below another): motorcycle and
        square plates, not Russia's region number beside its main line."""
        return any(b.y - b.height / 2 >= a.y + a.height / 2 for a in self.lines for b in self.lines)


@dataclass(frozen=True)
class Item:
    """One drawn element of a line: a character, a gap, a dash, a stacked pair, the Arabic word..."""

    kind: ItemKind
    text: str = ""
    in_label: bool = False


@dataclass(frozen=True)
class PlateText:
    """A generated registration: what to draw, line by line, and the label it reads as."""

    lines: tuple[tuple[Item, ...], ...] = field(default_factory=tuple)
    read_order: tuple[int, ...] = ()

    @property
    def line_labels(self) -> tuple[str, ...]:
        """Label of each line, top to bottom; within a line left to right (a stacked pair: top then bottom)."""
        out = []
        for line in self.lines:
            parts = []
            for item in line:
                if item.in_label:
                    parts.append(WORD_LABELS[item.text] if item.kind == "word" else item.text)
            out.append("".join(parts))
        return tuple(out)

    @property
    def label(self) -> str:
        """The whole label in reading order: the lines in ``read_order`` (default top to bottom)."""
        labels = self.line_labels
        return "".join(labels[i] for i in self.read_order or range(len(labels)))


_DRAWN_ONLY: dict[str, ItemKind] = {" ": "gap", "-": "dash", ".": "dot", "o": "seal", "^": "logo"}


def _draw_char(token: str, layout: Layout, rng: np.random.Generator) -> str:
    if token == "@":
        return layout.letters[randint(rng, 0, len(layout.letters))]
    if token == "#":
        return DIGITS[randint(rng, 0, 10)]
    if token == "!":
        return DIGITS[randint(rng, 1, 10)]
    if token == "*":
        pool = layout.letters + DIGITS
        return pool[randint(rng, 0, len(pool))]
    if token == "%":
        return CN_PROVINCES[randint(rng, 0, len(CN_PROVINCES))]
    if token in LABEL_CHARSET:
        return token
    raise ValueError(f"layout {layout.name!r}: unknown pattern token {token!r}")


def generate_text(layout: Layout, rng: np.random.Generator, pattern: str | None = None) -> PlateText:
    """Fill one of the layout's patterns with random characters.

    Args:
        layout: The plate design.
        rng: Source of randomness.
        pattern: A pattern to use instead of a random one of ``layout.patterns``.

    Returns:
        The items to draw per line and, through ``label``, the text they read as.

    Raises:
        ValueError: when the pattern has an unknown token or a different line count than the layout.
    """
    if pattern is None:
        pattern = layout.patterns[randint(rng, 0, len(layout.patterns))]
    lines: list[tuple[Item, ...]] = []
    line: list[Item] = []
    i = 0
    while i < len(pattern):
        token = pattern[i]
        if token == "|":
            lines.append(tuple(line))
            line = []
        elif token in "[{":
            close = "]" if token == "[" else "}"
            end = pattern.index(close, i)
            pair = "".join(_draw_char(t, layout, rng) for t in pattern[i + 1:end])
            line.append(Item("stack", pair, in_label=token == "["))
            i = end
        elif token == "$":
            region = layout.regions[randint(rng, 0, len(layout.regions))]
            line.extend(Item("char", c, in_label=True) for c in region)
        elif token == "&":
            if not layout.marks:
                raise ValueError(f"layout {layout.name!r}: pattern token '&' needs the layout's marks")
            line.append(Item("mark", layout.marks[randint(rng, 0, len(layout.marks))]))
        elif token == "~":
            line.append(Item("word", TUNIS_AR, in_label=True))
        elif token == "=":
            line.append(Item("word", TUNIS_NT_AR, in_label=True))
        elif token in _DRAWN_ONLY:
            line.append(Item(_DRAWN_ONLY[token]))
        else:
            line.append(Item("char", _draw_char(token, layout, rng), in_label=True))
        i += 1
    lines.append(tuple(line))
    if len(lines) != len(layout.lines):
        raise ValueError(f"layout {layout.name!r}: pattern {pattern!r} has {len(lines)} lines, "
                         f"the layout {len(layout.lines)}")
    return PlateText(tuple(lines), layout.read_order)


# --- Europe -----------------------------------------------------------------------------------------

_EU_WHITE = (Scheme(WHITE, BLACK, border=BLACK, weight=3.0), Scheme((250, 250, 250), BLACK),
             Scheme((236, 236, 228), (30, 30, 30), border=(30, 30, 30)))


def _eu(country: str, code: str, patterns: tuple[str, ...], *, regions: tuple[str, ...] = (),
        letters: str = LETTERS, schemes: tuple[Scheme, ...] = _EU_WHITE, right_band: Band | None = None,
        weight: float = 1.0) -> Layout:
    bands = [Band("left", 0.085, EU_BLUE, (code,), stars=True, probability=0.92)]
    if right_band is not None:
        bands.append(right_band)
    x1 = 0.965 - (right_band.width if right_band else 0.0)
    return Layout(name=f"eu_{country}", country=country, size_mm=(520, 110), patterns=patterns,
                  lines=(LineSpec(y=0.52, height=0.68, x0=0.115, x1=x1, condense=(0.66, 0.85)),),
                  schemes=schemes, letters=letters, regions=regions, bands=tuple(bands), radius=0.08,
                  border_width=0.025, emboss=0.5, weight=weight)


_FR_DEPTS = tuple(f"{d:02d}" for d in (13, 31, 33, 35, 44, 59, 67, 69, 75, 77, 78, 83, 91, 92, 93, 94, 95))
_IT_PROV = ("RM", "MI", "TO", "NA", "FI", "BO", "GE", "VE", "PA", "BA")

EUROPE: tuple[Layout, ...] = (
    # German numbers never start with 0; Polish series leave out B, D, I, O and Z; Romanian letters
    # have no Q and never start with I or O (formats/data/de.json, pl.json, ro.json).
    _eu("de", "D", ("$ o @@ !##", "$ o @ !###", "$ o @@ !#", "$ o @ !##", "$ o @@ !###"),
        regions=("B", "M", "HH", "K", "F", "S", "D", "DO", "E", "H", "HB", "N", "L", "DD", "KA", "MA", "BO",
                 "WI", "MS", "AC", "BN", "OB", "RE", "GE", "KI", "MZ", "FR", "UL", "A", "SB"), weight=1.5),
    # SIV (France) leaves out I, O and U; Italy I, O, Q and U (formats/data/fr.json, it.json).
    _eu("fr", "F", ("@@-###-@@",), right_band=Band("right", 0.085, EU_BLUE, _FR_DEPTS, probability=0.95),
        letters="ABCDEFGHJKLMNPQRSTVWXYZ", weight=1.2),
    _eu("it", "I", ("@@ ###@@",), right_band=Band("right", 0.075, EU_BLUE, _IT_PROV, probability=0.6),
        letters="ABCDEFGHJKLMNPRSTVWXYZ"),
    _eu("es", "E", ("#### @@@",), letters="BCDFGHJKLMNPRSTVWXYZ"),
    _eu("nl", "NL", ("@@-###-@", "##-@@@-#", "#-@@@-##", "@@-##-@@", "##-@@-@@", "#-@@-###"),
        letters="BDFGHJKLNPRSTVXZ", schemes=(Scheme((247, 195, 0), BLACK, border=BLACK, weight=3.0),
                                              Scheme((240, 205, 40), (25, 25, 25)))),
    _eu("pl", "PL", ("$ #####", "$ ####@", "$ ###@@", "$@ ####", "$@ ###@@"),
        regions=("WA", "WX", "KR", "PO", "GD", "WR", "LU", "SK", "EL", "DW", "SZ", "BI"),
        letters="ACEFGHJKLMNPRSTUVWXY"),
    _eu("ro", "RO", ("$ ## @@@", "B ### @@@"),
        regions=("B", "CJ", "IF", "TM", "IS", "BV", "CT", "AG", "PH", "DJ", "SB", "BH", "AR", "MM"),
        letters="ABCDEFGHJKLMNPRSTUVWXYZ"),
    # Belgium's series digit (1 since 2010, 2 since 2021), Austria's and Czechia's numbers never start with 0
    # (formats/data/be.json, at.json, cz.json).
    _eu("be", "B", ("1-@@@-###", "2-@@@-###", "@@@-###"),
        schemes=(Scheme(WHITE, (170, 20, 45), border=(170, 20, 45)),)),
    _eu("pt", "P", ("##-@@-##", "@@-##-@@", "##-##-@@"),
        right_band=Band("right", 0.07, EU_YELLOW, ("19", "20", "21", "22"), code_colour=BLACK, probability=0.4)),
    _eu("at", "A", ("$ !##@@", "$ !#@@@", "$ !###@", "$ !####@"),
        regions=("W", "G", "L", "S", "K", "I", "WU", "GU", "LL", "BN")),
    _eu("cz", "CZ", ("!@# ####", "!@@ ####"), letters="ABCEHJKLMPSTUZ"),
)

_UK_LETTERS = "ABCDEFGHJKLMNOPRSTUVWXY"  # no I, Q or Z in UK series
_UK_REGIONS = tuple("ABCDEFGHKLMNOPRSVWXY")  # a current plate's first letter (its region; X: personal export)

UK: tuple[Layout, ...] = (
    Layout(name="uk", country="gb", size_mm=(520, 111), patterns=("$@## @@@",), letters=_UK_LETTERS,
           regions=_UK_REGIONS,
           lines=(LineSpec(y=0.5, height=0.7, x0=0.1, x1=0.95, condense=(0.75, 0.9)),),
           schemes=(Scheme((252, 208, 0), BLACK, weight=1.2), Scheme((255, 196, 20), BLACK, border=BLACK),
                    Scheme(WHITE, BLACK), Scheme((250, 250, 250), BLACK, border=BLACK)),
           bands=(Band("left", 0.08, EU_BLUE, ("UK", "GB"), probability=0.5),), radius=0.05, emboss=0.2,
           bare_one=0.8, weight=1.5),
)

# --- United States ----------------------------------------------------------------------------------

US_STATES = ("ALABAMA", "ALASKA", "ARIZONA", "ARKANSAS", "CALIFORNIA", "COLORADO", "CONNECTICUT", "DELAWARE",
             "FLORIDA", "GEORGIA", "HAWAII", "IDAHO", "ILLINOIS", "INDIANA", "IOWA", "KANSAS", "KENTUCKY",
             "LOUISIANA", "MAINE", "MARYLAND", "MASSACHUSETTS", "MICHIGAN", "MINNESOTA", "MISSISSIPPI",
             "MISSOURI", "MONTANA", "NEBRASKA", "NEVADA", "NEW HAMPSHIRE", "NEW JERSEY", "NEW MEXICO", "NEW YORK",
             "NORTH CAROLINA", "NORTH DAKOTA", "OHIO", "OKLAHOMA", "OREGON", "PENNSYLVANIA", "RHODE ISLAND",
             "SOUTH CAROLINA", "SOUTH DAKOTA", "TENNESSEE", "TEXAS", "UTAH", "VERMONT", "VIRGINIA", "WASHINGTON",
             "WEST VIRGINIA", "WISCONSIN", "WYOMING", "WASHINGTON, D.C.")
US_SLOGANS = ("Land of Lincoln", "The Empire State", "Garden State", "Sunshine State", "Live Free or Die",
              "Great Lakes", "Grand Canyon State", "The Silver State", "Ocean State", "Green Mountain State",
              "Famous Potatoes", "Land of Enchantment", "Peach State", "The Lone Star State", "America's Dairyland",
              "The Spirit of America", "First in Flight", "Wild, Wonderful", "visitPA.com", "Vacationland",
              "10,000 Lakes", "Taxation Without Representation", "Aloha State", "Sportsman's Paradise",
              "Heart of Dixie", "Big Sky Country", "The Natural State", "Colorful Colorado", "dmv.ca.gov",
              "Explore Minnesota", "In God We Trust", "The First State", "Virginia is for Lovers", "ANY COUNTY",
              "JACKSON", "FULTON COUNTY", "Pure Michigan", "Constitution State", "Discover Ohio")
_US_INK = ((20, 40, 120), (160, 20, 30), BLACK, (20, 90, 40))

US: tuple[Layout, ...] = (
    Layout(name="us", country="us", size_mm=(305, 152),
           patterns=("###@@@", "@@@####", "#@@@###", "@@@-####", "### ###", "@@@ ###", "@@@ ####", "##@ @##",
                     "@@ #####", "#@####@", "##@###@", "@@@^####", "###-@@@", "@@@@@", "@@@@@@", "@@@@@@@",
                     "#@@@@#", "####{@@}", "{##}^###@", "@@#-###", "#@@ ###", "### @@#", "@@ ####", "####"),
           lines=(LineSpec(y=0.54, height=0.46, x0=0.06, x1=0.94, condense=(0.6, 0.82), spacing=(0.04, 0.16)),),
           schemes=(Scheme(WHITE, (20, 40, 120), weight=3.0), Scheme(WHITE, (160, 20, 30), weight=1.5),
                    Scheme(WHITE, BLACK, weight=2.0), Scheme(WHITE, (20, 90, 40)),
                    Scheme((250, 215, 40), BLACK, weight=0.8), Scheme((20, 40, 110), (250, 200, 40), weight=0.7),
                    Scheme((25, 50, 130), WHITE, weight=0.6), Scheme((20, 100, 50), WHITE, weight=0.5),
                    Scheme((25, 25, 25), WHITE, weight=0.4), Scheme((110, 20, 35), WHITE, weight=0.3),
                    Scheme((170, 210, 240), (15, 30, 100), gradient=WHITE, weight=1.0),
                    Scheme(WHITE, (20, 40, 120), gradient=(240, 200, 120), weight=0.8),
                    Scheme((235, 240, 250), (110, 20, 35), gradient=(180, 200, 230), weight=0.6),
                    Scheme((250, 245, 220), (30, 60, 40), gradient=(200, 225, 180), weight=0.5)),
           captions=(Caption(US_STATES, y=0.135, height=0.15, x0=0.18, x1=0.82, font="serif"),
                     Caption(US_SLOGANS, y=0.885, height=0.095, x0=0.15, x1=0.85, probability=0.85)),
           art=("sun", "mountains", "waves", "stripes", "blotches"), extras=("stickers",),
           bolts=((0.22, 0.12), (0.78, 0.12)), radius=0.07, border_width=0.02, emboss=0.55, weight=4.0),
)

# --- Brazil -----------------------------------------------------------------------------------------

BR_CITIES = ("SP-SAO PAULO", "PR-CURITIBA", "RJ-RIO DE JANEIRO", "MG-BELO HORIZONTE", "SC-FLORIANOPOLIS",
             "PR-PARANAGUA", "RS-PORTO ALEGRE", "BA-SALVADOR", "PR-LONDRINA", "PR-MARINGA", "GO-GOIANIA",
             "DF-BRASILIA", "SP-CAMPINAS", "PR-CASCAVEL", "SC-JOINVILLE", "PR-PONTA GROSSA", "PE-RECIFE",
             "CE-FORTALEZA", "PR-FOZ DO IGUACU", "MG-UBERLANDIA", "ES-VITORIA", "PA-BELEM", "AM-MANAUS")
_BR_OLD_SCHEMES = (Scheme((182, 184, 186), BLACK, border=BLACK, weight=3.0),
                   Scheme((200, 200, 198), (30, 30, 30), border=(30, 30, 30), weight=1.0),
                   Scheme((165, 35, 40), WHITE, border=WHITE, weight=2.5),
                   Scheme((150, 80, 85), (235, 225, 225), border=(235, 225, 225), weight=1.0),
                   Scheme(WHITE, BLACK, border=BLACK, weight=0.8),
                   Scheme((25, 25, 25), (190, 190, 190), border=(190, 190, 190), weight=0.3),
                   Scheme((30, 110, 60), WHITE, border=WHITE, weight=0.2),
                   Scheme((30, 60, 140), WHITE, border=WHITE, weight=0.3))
_MERCOSUL_SCHEMES = (Scheme(WHITE, BLACK, weight=4.0), Scheme(WHITE, (190, 20, 30)),
                     Scheme(WHITE, (20, 40, 150), weight=0.4), Scheme(WHITE, (20, 110, 50), weight=0.3),
                     Scheme(WHITE, (130, 130, 130), weight=0.2))
_MERCOSUL_BAR = Caption(("BRASIL",), y=0.1, height=0.1, x0=0.3, x1=0.7, colour=WHITE, bar=(0, 60, 160),
                        bar_height=0.2)

BRAZIL: tuple[Layout, ...] = (
    Layout(name="br_old", country="br", size_mm=(400, 130), patterns=("@@@-####",),
           lines=(LineSpec(y=0.6, height=0.58, x0=0.05, x1=0.95, condense=(0.62, 0.8), spacing=(0.05, 0.13)),),
           schemes=_BR_OLD_SCHEMES, fonts=("plate", "mono"),
           captions=(Caption(BR_CITIES, y=0.145, height=0.12, x0=0.25, x1=0.75, probability=0.95),),
           bolts=((0.13, 0.14), (0.87, 0.14)), radius=0.1, border_width=0.035, emboss=0.7, stroke=(0, 2),
           dash=(0.1, 0.22), weight=3.0),
    Layout(name="br_mercosul", country="br", size_mm=(400, 130), patterns=("@@@#@##",),
           lines=(LineSpec(y=0.61, height=0.56, x0=0.05, x1=0.95, condense=(0.66, 0.82), spacing=(0.06, 0.14)),),
           schemes=_MERCOSUL_SCHEMES, captions=(_MERCOSUL_BAR,), extras=("mercosul",), radius=0.08,
           border_width=0.0, emboss=0.3, weight=1.5),
    Layout(name="br_old_moto", country="br", size_mm=(200, 170), patterns=("@@@|####",),
           lines=(LineSpec(y=0.4, height=0.3, x0=0.12, x1=0.88, condense=(0.7, 0.9)),
                  LineSpec(y=0.77, height=0.33, x0=0.08, x1=0.92, condense=(0.7, 0.9))),
           schemes=_BR_OLD_SCHEMES, captions=(Caption(BR_CITIES, y=0.12, height=0.1, x0=0.1, x1=0.9),),
           radius=0.08, border_width=0.03, emboss=0.6, stroke=(0, 2), dash=(0.1, 0.22), weight=0.3),
    Layout(name="br_mercosul_moto", country="br", size_mm=(200, 170), patterns=("@@@|#@##",),
           lines=(LineSpec(y=0.42, height=0.3, x0=0.12, x1=0.88, condense=(0.7, 0.9)),
                  LineSpec(y=0.78, height=0.32, x0=0.08, x1=0.92, condense=(0.7, 0.9))),
           schemes=_MERCOSUL_SCHEMES,
           captions=(Caption(("BRASIL",), y=0.09, height=0.09, x0=0.3, x1=0.7, colour=WHITE, bar=(0, 60, 160),
                             bar_height=0.18),),
           extras=("mercosul",), radius=0.06, border_width=0.0, emboss=0.3, weight=0.3),
)

# --- Tunisia ----------------------------------------------------------------------------------------

TUNISIA: tuple[Layout, ...] = (
    Layout(name="tn", country="tn", size_mm=(520, 110),
           patterns=("1## ~ !###", "1## ~ !###", "1## ~ !###", "2## ~ !###", "!# ~ !###", "!# ~ !###", "1## ~ !##",
                     "!# ~ !##", "1## ~ !#", "! ~ !###", "1##~!###", "!##### =", "!##### ="),
           lines=(LineSpec(y=0.52, height=0.7, x0=0.05, x1=0.95, condense=(0.6, 0.8), spacing=(0.03, 0.12)),),
           schemes=(Scheme((14, 14, 16), WHITE, border=WHITE, weight=4.0), Scheme((25, 25, 28), (235, 235, 235)),
                    Scheme((10, 10, 10), (250, 250, 250), border=(200, 200, 200))),
           fonts=("plate",), radius=0.07, border_width=0.02, emboss=0.3, weight=3.0),
    # The square plate: the number on top, the series and the word below; read series first (73T4019).
    Layout(name="tn_2line", country="tn", size_mm=(300, 220),
           patterns=("!###|1## ~", "!###|!# ~", "!###|!# ~", "!##|1## ~", "!#|!# ~"),
           lines=(LineSpec(y=0.3, height=0.4, x0=0.08, x1=0.92, condense=(0.65, 0.85), spacing=(0.05, 0.14)),
                  LineSpec(y=0.74, height=0.36, x0=0.08, x1=0.92, condense=(0.65, 0.85), spacing=(0.04, 0.12))),
           schemes=(Scheme((14, 14, 16), WHITE, border=WHITE, weight=4.0), Scheme((25, 25, 28), (235, 235, 235))),
           fonts=("plate",), radius=0.07, border_width=0.025, emboss=0.3, read_order=(1, 0), weight=0.6),
)

# --- China ------------------------------------------------------------------------------------------

_CN_LETTERS = "ABCDEFGHJKLMNPQRSTUVWXYZ"
_CN_LINE = LineSpec(y=0.5, height=0.64, x0=0.035, x1=0.965, pitch=0.5, condense=(0.85, 1.0), spacing=(0.1, 0.16))

CHINA: tuple[Layout, ...] = (
    Layout(name="cn_blue", country="cn", size_mm=(440, 140), patterns=("%@.*****", "%@.#####", "%@.@####"),
           lines=(_CN_LINE,), letters=_CN_LETTERS,
           schemes=(Scheme((12, 60, 190), WHITE, border=WHITE, gradient=(25, 85, 215), weight=3.0),
                    Scheme((20, 75, 200), (240, 240, 240), border=(240, 240, 240)),
                    Scheme((0, 50, 160), WHITE, border=WHITE, gradient=(10, 70, 190))),
           bolts=((0.2, 0.09), (0.8, 0.09)), radius=0.05, border_width=0.025, emboss=0.4, stroke=(0, 2), weight=3.0),
    Layout(name="cn_yellow", country="cn", size_mm=(440, 140), patterns=("%@.*****", "%@.#####"),
           lines=(_CN_LINE,), letters=_CN_LETTERS,
           schemes=(Scheme((245, 190, 10), BLACK, border=BLACK),), bolts=((0.2, 0.09), (0.8, 0.09)), radius=0.05,
           border_width=0.025, emboss=0.4, weight=0.5),
    Layout(name="cn_green", country="cn", size_mm=(480, 140),
           patterns=("%@.D*####", "%@.F*####", "%@.#####D", "%@.#####F"),
           lines=(LineSpec(y=0.52, height=0.62, x0=0.035, x1=0.965, pitch=0.46, condense=(0.85, 1.0),
                           spacing=(0.07, 0.12)),),
           letters=_CN_LETTERS,
           schemes=(Scheme((235, 250, 240), BLACK, gradient=(110, 200, 130), weight=2.0),
                    Scheme((245, 250, 245), BLACK, gradient=(140, 215, 150))),
           radius=0.05, border_width=0.0, emboss=0.3, weight=0.5),
    Layout(name="cn_yellow_2line", country="cn", size_mm=(440, 220), patterns=("%@|*****", "%@|#####"),
           lines=(LineSpec(y=0.24, height=0.27, x0=0.25, x1=0.75, pitch=0.9, condense=(0.85, 1.0),
                           spacing=(0.15, 0.3)),
                  LineSpec(y=0.66, height=0.5, x0=0.04, x1=0.96, pitch=0.56, condense=(0.85, 1.0),
                           spacing=(0.08, 0.14))),
           letters=_CN_LETTERS, schemes=(Scheme((245, 190, 10), BLACK, border=BLACK),),
           bolts=((0.15, 0.22), (0.85, 0.22)), radius=0.04, border_width=0.02, emboss=0.4, weight=0.4),
)

# --- India ------------------------------------------------------------------------------------------

_IN_STATES = ("MH", "DL", "KA", "TN", "UP", "GJ", "RJ", "KL", "AP", "TS", "WB", "HR", "PB", "MP", "BR", "OD", "CH")
_IN_SCHEMES = (Scheme(WHITE, BLACK, border=BLACK, weight=3.0), Scheme((250, 205, 20), BLACK, border=BLACK),
               Scheme((25, 25, 25), (250, 205, 20), weight=0.2), Scheme((20, 120, 60), WHITE, weight=0.3),
               Scheme((20, 120, 60), (250, 205, 20), weight=0.1))
_IND_BAND = Band("left", 0.07, None, ("IND",), code_colour=(20, 50, 150), probability=0.8)

INDIA: tuple[Layout, ...] = (
    Layout(name="in", country="in", size_mm=(500, 120),
           patterns=("$ ## @@ ####", "$ ## @ ####", "$##@@####", "$ ## @@ ###", "$ # @@ ####"), regions=_IN_STATES,
           lines=(LineSpec(y=0.52, height=0.62, x0=0.1, x1=0.97, condense=(0.6, 0.8), spacing=(0.03, 0.1)),),
           schemes=_IN_SCHEMES, bands=(_IND_BAND,), extras=("chakra",), radius=0.06, emboss=0.5, weight=1.2),
    Layout(name="in_2line", country="in", size_mm=(285, 180), patterns=("$ ##|@@ ####", "$ ##|@ ####"),
           regions=_IN_STATES,
           lines=(LineSpec(y=0.3, height=0.34, x0=0.2, x1=0.9, condense=(0.65, 0.85)),
                  LineSpec(y=0.73, height=0.34, x0=0.12, x1=0.95, condense=(0.65, 0.85))),
           schemes=_IN_SCHEMES, bands=(Band("left", 0.1, None, ("IND",), code_colour=(20, 50, 150),
                                            probability=0.7),),
           radius=0.06, emboss=0.5, weight=0.3),
)

# --- United Arab Emirates -------------------------------------------------------------------------

_AE_SCHEMES = (Scheme(WHITE, BLACK, border=BLACK, weight=3.0), Scheme((250, 250, 250), (20, 20, 20)),
               Scheme((240, 240, 236), (25, 25, 25), border=(25, 25, 25)))

UAE: tuple[Layout, ...] = (
    # The long plate of Dubai and Ajman: the code letter(s), the emirate's name, the number (I 7000).
    Layout(name="ae", country="ae", size_mm=(520, 110),
           patterns=("@ & !###", "@ & !####", "@ & !##", "@ & !#", "@ & !", "@@ & !####", "@@ & !###"),
           lines=(LineSpec(y=0.52, height=0.66, x0=0.04, x1=0.96, condense=(0.62, 0.82), spacing=(0.05, 0.16)),),
           schemes=_AE_SCHEMES, marks=("DUBAI", "DUBAI", "DUBAI", "AJMAN"), radius=0.06, emboss=0.5, weight=0.6),
    # Dubai's 2017 design: the name at the left, then the code and the number.
    Layout(name="ae_dubai_new", country="ae", size_mm=(520, 110),
           patterns=("& @ !####", "& @ !###", "& @ !##", "& @@ !####"),
           lines=(LineSpec(y=0.52, height=0.66, x0=0.04, x1=0.96, condense=(0.62, 0.82), spacing=(0.05, 0.14)),),
           schemes=_AE_SCHEMES[:2], marks=("DUBAI",), radius=0.06, emboss=0.3, weight=0.4),
    # The short plate: code and name on top, the number below.
    Layout(name="ae_2line", country="ae", size_mm=(340, 220), patterns=("@ &|!####", "@ &|!###", "@ &|!##"),
           lines=(LineSpec(y=0.27, height=0.34, x0=0.12, x1=0.88, condense=(0.7, 0.9), spacing=(0.1, 0.2)),
                  LineSpec(y=0.7, height=0.44, x0=0.06, x1=0.94, condense=(0.62, 0.82))),
           schemes=_AE_SCHEMES, marks=("DUBAI", "DUBAI", "AJMAN"), radius=0.06, emboss=0.5, weight=0.2),
)

# --- Generic two-line motorcycle plate --------------------------------------------------------------

MOTO: tuple[Layout, ...] = (
    Layout(name="moto_eu", country="eu", size_mm=(220, 180), patterns=("@@|####", "@@#|###", "@@@|##", "@@|###@",
                                                                      "@#|####", "@@@|###"),
           lines=(LineSpec(y=0.3, height=0.36, x0=0.18, x1=0.94, condense=(0.7, 0.9), spacing=(0.06, 0.16)),
                  LineSpec(y=0.72, height=0.38, x0=0.16, x1=0.94, condense=(0.7, 0.9), spacing=(0.06, 0.16))),
           schemes=(Scheme(WHITE, BLACK, border=BLACK, weight=2.0), Scheme((247, 195, 0), BLACK, border=BLACK)),
           bands=(Band("left", 0.12, EU_BLUE, ("D", "F", "I", "NL", "PL", "RO", "E", "A"), stars=True,
                       probability=0.6),),
           radius=0.08, border_width=0.025, emboss=0.5, weight=0.6),
)

# --- White on black: Malaysia, Singapore, the UK's pre-1973 plates ------------------------------------

_MY_STATES = ("A", "B", "C", "D", "J", "K", "M", "N", "P", "R", "T", "W", "V", "Q", "S")
_MY_LETTERS = "ABCDEFGHJKLMNPQRSTUVWXY"  # no I, O (or Z) in Malaysian series
_DARK = (Scheme((14, 14, 14), WHITE, weight=3.0), Scheme((24, 24, 26), (235, 235, 235), border=(235, 235, 235)),
         Scheme((8, 8, 8), (210, 210, 210), weight=0.8))
_CLASSIC = (Scheme((16, 16, 16), (205, 205, 205), border=(205, 205, 205), weight=2.0),
            Scheme((20, 20, 22), (235, 235, 230)))
_DARK_LINE = LineSpec(y=0.5, height=0.66, x0=0.05, x1=0.95, condense=(0.65, 0.85), spacing=(0.04, 0.14))
_TWO_LINES = (LineSpec(y=0.3, height=0.36, x0=0.08, x1=0.92, condense=(0.7, 0.9), spacing=(0.06, 0.16)),
              LineSpec(y=0.72, height=0.38, x0=0.06, x1=0.94, condense=(0.7, 0.9), spacing=(0.06, 0.16)))

DARK: tuple[Layout, ...] = (
    Layout(name="my", country="my", size_mm=(480, 120), regions=_MY_STATES, letters=_MY_LETTERS,
           patterns=("$@@ !###", "$@@ !###", "$@ !###", "$@@ !##", "$ !###", "$@@ !###@", "$@@ !#"),
           lines=(_DARK_LINE,),
           schemes=_DARK, radius=0.05, border_width=0.0, emboss=0.3, weight=0.5),
    Layout(name="my_2line", country="my", size_mm=(250, 175), regions=_MY_STATES, letters=_MY_LETTERS,
           patterns=("$@@|!###", "$@|!###", "$@@|!##"), lines=_TWO_LINES,
           schemes=_DARK, radius=0.05, border_width=0.0, emboss=0.3, weight=0.3),
    # Singapore: S, two series letters, the number, a check letter (no I, O).
    Layout(name="sg", country="sg", size_mm=(520, 111), letters=_MY_LETTERS,
           patterns=("S@@ !###@", "S@@ !##@", "S@@ !#@", "E@ !###@"),
           lines=(_DARK_LINE,),
           schemes=_DARK, radius=0.05, border_width=0.0, emboss=0.2, weight=0.3),
    Layout(name="sg_2line", country="sg", size_mm=(240, 170), letters=_MY_LETTERS,
           patterns=("S@@|!###@", "S@@|!##@"), lines=_TWO_LINES,
           schemes=_DARK, radius=0.05, border_width=0.0, emboss=0.2, weight=0.15),
    # Classic UK plates (cars registered before 1973 may keep them): silver on black, three letters and up
    # to three digits, or the reverse; the square form on older cars' rears.
    Layout(name="uk_classic", country="gb", size_mm=(520, 111), letters=_UK_LETTERS,
           patterns=("@@@ ###", "@@@ ###", "### @@@", "@@@ ##", "@@ ####", "@@@ #"),
           lines=(LineSpec(y=0.5, height=0.66, x0=0.06, x1=0.94, condense=(0.7, 0.9), spacing=(0.05, 0.16)),),
           schemes=_CLASSIC, fonts=("plate", "mono"), radius=0.04, border_width=0.03, emboss=0.7, bare_one=0.5,
           weight=0.3),
    Layout(name="uk_classic_2line", country="gb", size_mm=(280, 205), letters=_UK_LETTERS,
           patterns=("@@@|###", "@@@|###", "###|@@@", "@@|####", "@@@|##"), lines=_TWO_LINES,
           schemes=_CLASSIC, fonts=("plate", "mono"), radius=0.04, border_width=0.03, emboss=0.7, bare_one=0.5,
           weight=0.2),
)

# --- Russia and Ukraine -------------------------------------------------------------------------------

# Both write only Cyrillic letters that have Latin look-alikes, and are read as those (formats/data/ru.json,
# ua.json): Russia's twelve, Ukraine's the same but with І and without У.
_RU_LETTERS = "ABEKMHOPCTYX"
_UA_LETTERS = "ABCEHIKMOPTX"
_RU_REGIONS = ("77", "99", "97", "177", "197", "199", "777", "78", "98", "178", "50", "150", "750", "23", "123",
               "66", "96", "54", "16", "116", "52", "61", "161", "02", "74", "174", "63", "163", "24", "59", "36")

EAST: tuple[Layout, ...] = (
    # Russia: letter, three digits, two letters, then right of a rule the region number over "RUS" and the flag;
    # the region belongs to the registration (A123BC77), so it is a second line beside the first.
    Layout(name="ru", country="ru", size_mm=(520, 112), letters=_RU_LETTERS, regions=_RU_REGIONS,
           patterns=("@ ### @@|##", "@ ### @@|$", "@ ### @@|$"),
           lines=(LineSpec(y=0.53, height=0.7, x0=0.03, x1=0.745, condense=(0.7, 0.88), spacing=(0.04, 0.12)),
                  LineSpec(y=0.37, height=0.48, x0=0.775, x1=0.97, condense=(0.68, 0.86), spacing=(0.02, 0.08))),
           schemes=(Scheme(WHITE, BLACK, border=BLACK, weight=4.0),
                    Scheme((236, 236, 228), (30, 30, 30), border=(30, 30, 30))),
           captions=(Caption(("RUS",), y=0.81, height=0.14, x0=0.775, x1=0.9, probability=0.9),),
           extras=("ru_region",), radius=0.05, border_width=0.03, emboss=0.5, weight=0.8),
    # Ukraine (since 2004): region letters, four digits, two series letters; the blue band holds the flag and UA.
    Layout(name="ua", country="ua", size_mm=(520, 112), letters=_UA_LETTERS,
           patterns=("@@ #### @@",), lines=(LineSpec(y=0.52, height=0.68, x0=0.115, x1=0.965, condense=(0.66, 0.85)),),
           schemes=_EU_WHITE, bands=(Band("left", 0.085, EU_BLUE, ("UA",), probability=0.9),), extras=("ua_flag",),
           radius=0.08, border_width=0.025, emboss=0.5, weight=0.6),
)

LAYOUTS: tuple[Layout, ...] = EUROPE + UK + US + BRAZIL + TUNISIA + CHINA + INDIA + UAE + MOTO + DARK + EAST
LAYOUTS_BY_NAME: dict[str, Layout] = {layout.name: layout for layout in LAYOUTS}


def pick_layout(rng: np.random.Generator, layouts: tuple[Layout, ...] = LAYOUTS) -> Layout:
    """One layout drawn at random according to the layouts' weights."""
    return layouts[weighted_index(rng, [layout.weight for layout in layouts])]


def with_multi_line_weight(layouts: tuple[Layout, ...], factor: float) -> tuple[Layout, ...]:
    """``layouts`` with the weights of the :attr:`~Layout.stacked` ones (motorcycles, square plates) multiplied by
    ``factor``.

    Raises:
        ValueError: ``factor`` is not positive.
    """
    if factor <= 0:
        raise ValueError(f"multi-line weight factor {factor} must be positive")
    return tuple(replace(layout, weight=layout.weight * factor) if layout.stacked else layout
                 for layout in layouts)


def get_layout(name: str) -> Layout:
    """The layout with this name.

    Raises:
        KeyError: naming the known layouts when there is none by that name.
    """
    try:
        return LAYOUTS_BY_NAME[name]
    except KeyError:
        raise KeyError(f"no plate layout {name!r}; known: {', '.join(sorted(LAYOUTS_BY_NAME))}") from None
