# ruff: noqa: E501  (a reviewed data table / card prose: one entry per line reads better)
"""Reviewed table: which XKCD color-survey names count as each of our color labels.

Names come from the XKCD color survey as shipped in matplotlib
(`matplotlib._color_data.XKCD_COLORS`), so every label is anchored in how people actually
named colors. Names that sit between two labels (e.g. "blue green", "greyish purple",
"mauve") are left out on purpose, and so are the pale yellow-whites that the survey spreads
over both white and beige ("cream", "creme", "ecru", "parchment", "light beige", "egg shell",
"buff") and "pale grey" (#fdfdfe, a white). Metallic labels use base tones that the generator
turns into gradients with highlights; "multi-colored" and "black & white" are patterns built
from the other labels' names, so they list none here.
"""

from __future__ import annotations

import numpy as np

# fmt: off
LABEL_XKCD: dict[str, tuple[str, ...]] = {
    "black": ("black", "almost black", "very dark brown", "dark", "charcoal"),
    "white": ("white", "off white", "eggshell", "ivory"),
    "gray": ("grey", "medium grey", "dark grey", "light grey", "cool grey", "warm grey",
             "cement", "charcoal grey", "battleship grey", "slate grey", "steel grey",
             "greyish"),
    "silver": ("silver", "light grey", "cool grey", "grey", "steel grey", "light blue grey"),
    "gold": ("gold", "golden", "dark gold", "light gold", "goldenrod", "golden rod", "mustard yellow",
             "golden yellow", "ochre"),
    "rose gold": ("dusty rose", "pinkish tan", "blush", "old rose", "dusky rose", "rose", "dusty pink",
                  "pinkish brown", "light rose", "pale rose"),
    "brown": ("brown", "dark brown", "medium brown", "chocolate", "chocolate brown", "coffee",
              "milk chocolate", "mocha", "umber", "burnt umber", "raw umber", "sienna", "chestnut",
              "mud brown", "cocoa", "reddy brown", "reddish brown", "dull brown", "warm brown",
              "light brown", "mahogany", "caramel", "leather", "auburn"),
    "beige": ("beige", "dark beige", "sand", "tan", "light tan", "khaki", "wheat",
              "putty", "stone", "sandstone", "fawn", "camel", "mushroom",
              "desert", "very light brown"),
    "red": ("red", "bright red", "fire engine red", "scarlet", "cherry red", "tomato red", "lipstick red",
            "blood red", "rouge", "crimson", "neon red", "pinkish red", "orangey red", "rusty red",
            "strawberry", "tomato", "cherry", "dull red", "lightish red", "deep red", "carmine", "vermillion"),
    "burgundy": ("burgundy", "wine", "wine red", "red wine", "maroon", "dark maroon", "claret", "bordeaux",
                 "merlot", "dried blood", "dark red", "light burgundy",
                 "light maroon", "mulberry", "berry", "cranberry"),
    "orange": ("orange", "bright orange", "dark orange", "deep orange", "burnt orange", "pumpkin",
               "pumpkin orange", "tangerine", "mango", "light orange", "rust orange", "rusty orange",
               "orangish", "orangeish", "squash", "brownish orange", "dull orange", "pastel orange",
               "blood orange", "faded orange", "yellowish orange"),
    "yellow": ("yellow", "bright yellow", "lemon", "lemon yellow", "canary", "canary yellow",
               "sunflower yellow", "sunshine yellow", "sunny yellow", "sun yellow", "banana yellow",
               "butter yellow", "pale yellow", "light yellow", "dandelion", "yellowish", "golden yellow",
               "maize", "neon yellow", "pastel yellow", "dark yellow", "off yellow"),
    "green": ("green", "bright green", "dark green", "forest green", "grass green", "kelly green",
              "emerald", "emerald green", "leaf green", "lime green", "light green", "pale green",
              "mint green", "shamrock green", "true green", "vivid green", "hunter green",
              "bottle green", "darkgreen", "grassy green", "apple green", "fern green", "jungle green",
              "medium green", "kermit green", "irish green", "lawn green", "spring green", "pastel green"),
    "olive": ("olive", "olive green", "dark olive", "olive drab", "army green", "military green",
              "khaki green", "camo green", "moss", "moss green", "drab", "drab green", "light olive",
              "olive brown", "mud green", "dark olive green", "pea soup"),
    "teal": ("teal", "dark teal", "deep teal", "teal blue", "teal green", "dark cyan", "light teal",
             "bright teal", "tealish", "dark turquoise", "deep turquoise", "turquoise", "petrol",
             "dark aquamarine", "dark aqua", "ocean", "peacock blue", "dull teal"),
    "blue": ("blue", "bright blue", "royal blue", "cobalt", "cobalt blue", "light blue", "sky blue",
             "baby blue", "cornflower blue", "medium blue", "mid blue", "azure", "cerulean", "true blue",
             "primary blue", "pure blue", "clear blue", "denim blue", "french blue", "windows blue",
             "dodger blue", "electric blue", "vivid blue", "rich blue", "sapphire", "steel blue",
             "pale blue", "powder blue", "dusty blue"),
    "navy": ("navy", "navy blue", "dark navy", "dark navy blue", "midnight blue", "midnight",
             "very dark blue", "dark blue", "darkblue", "night blue", "deep blue", "marine blue",
             "prussian blue", "dark indigo", "light navy", "light navy blue"),
    "purple": ("purple", "dark purple", "deep purple", "violet", "dark violet", "bright purple",
               "royal purple", "grape", "plum", "eggplant", "aubergine", "lavender", "lilac",
               "light purple", "medium purple", "amethyst", "indigo", "purplish", "orchid",
               "pastel purple", "vivid purple", "rich purple", "light violet", "dusty purple"),
    "pink": ("pink", "hot pink", "bright pink", "light pink", "pale pink", "baby pink", "bubblegum pink",
             "barbie pink", "candy pink", "pastel pink", "rose pink", "deep pink", "dark pink",
             "neon pink", "magenta", "fuchsia", "salmon pink", "carnation pink", "soft pink",
             "medium pink", "strong pink", "pinky", "shocking pink", "cerise"),
}
# fmt: on

# The families the pattern generator mixes: a multi-colored patch uses >= 3 distinct ones.
CHROMATIC = (
    "red",
    "orange",
    "yellow",
    "green",
    "teal",
    "blue",
    "navy",
    "purple",
    "pink",
    "brown",
    "burgundy",
    "olive",
    "beige",
)


def xkcd_rgb() -> dict[str, tuple[int, int, int]]:
    """Return every XKCD survey name (without the 'xkcd:' prefix) as an RGB triple."""
    from matplotlib._color_data import XKCD_COLORS

    def rgb(text: str) -> tuple[int, int, int]:
        return int(text[1:3], 16), int(text[3:5], 16), int(text[5:7], 16)

    return {k[5:]: rgb(str(v)) for k, v in XKCD_COLORS.items()}


def label_palettes() -> dict[str, np.ndarray]:
    """Return, per label that has names, a (n, 3) uint8 array of its XKCD colors."""
    table = xkcd_rgb()
    missing = [n for names in LABEL_XKCD.values() for n in names if n not in table]
    if missing:
        raise KeyError(f"names not in the XKCD table: {missing}")
    return {
        label: np.array([table[n] for n in names], np.uint8) for label, names in LABEL_XKCD.items()
    }
