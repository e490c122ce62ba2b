# ruff: noqa: E501  (a reviewed data table / card prose: one entry per line reads better)
"""Reviewed table: which Unicode emoji subgroups and emoji names belong to each theme.

Subgroups come from `emoji-test.txt` (Debian's unicode-data). A name in NAMES overrides its
subgroup: a theme, or None to leave the emoji out. Subgroups not listed (faces, hands, flags,
symbols, time, ...) are left out because they belong to no theme.
"""

from __future__ import annotations

# fmt: off
SUBGROUPS: dict[str, str] = {
    "animal-mammal": "Animals & Pets", "animal-bird": "Animals & Pets",
    "animal-amphibian": "Animals & Pets", "animal-reptile": "Animals & Pets",
    "animal-marine": "Animals & Pets", "animal-bug": "Animals & Pets",
    "plant-flower": "Gardening", "plant-other": "Gardening",
    "food-fruit": "Food & Drink", "food-vegetable": "Food & Drink", "food-prepared": "Food & Drink",
    "food-asian": "Food & Drink", "food-marine": "Food & Drink", "food-sweet": "Food & Drink",
    "drink": "Food & Drink", "dishware": "Food & Drink",
    "place-building": "Architecture", "place-religious": "Architecture",
    "place-map": "Travel", "place-geographic": "Travel", "place-other": "Travel", "hotel": "Travel",
    "transport-air": "Travel",
    "transport-ground": "Cars & Vehicles", "transport-water": "Cars & Vehicles",
    "sport": "Sports & Fitness", "person-sport": "Sports & Fitness", "award-medal": "Sports & Fitness",
    "music": "Music", "musical-instrument": "Music",
    "phone": "Technology", "computer": "Technology", "light & video": "Technology",
    "science": "Science & Space",
    "arts & crafts": "Art & Crafts", "writing": "Art & Crafts",
    "event": "Weddings & Celebrations",
    "household": "Home & Decor",
    "clothing": "Women's Fashion",  # the men's and unisex items are named below
}

_MENS = ("necktie", "t-shirt", "jeans", "briefs", "shorts", "man’s shoe", "top hat", "billed cap",
         "glasses", "sunglasses", "coat", "socks", "gloves", "hiking boot", "backpack")
_BEAUTY = ("lipstick", "nail polish", "hair pick", "person getting massage", "man getting massage",
           "woman getting massage", "person getting haircut", "man getting haircut",
           "woman getting haircut", "barber pole", "lotion bottle", "kiss mark", "razor", "soap",
           "mirror", "bubbles", "sponge", "person in steamy room", "man in steamy room",
           "woman in steamy room")
_WEDDINGS = ("ring", "wedding", "person with veil", "man with veil", "woman with veil",
             "person in tuxedo", "man in tuxedo", "woman in tuxedo", "couple with heart", "kiss",
             "bouquet", "love letter", "heart with ribbon", "birthday cake", "bottle with popping cork",
             "clinking glasses")
_SPACE = ("new moon", "waxing crescent moon", "first quarter moon", "waxing gibbous moon", "full moon",
          "waning gibbous moon", "last quarter moon", "waning crescent moon", "crescent moon",
          "ringed planet", "star", "glowing star", "shooting star", "milky way", "comet", "sun",
          "satellite", "rocket", "flying saucer", "thermometer", "scientist", "man scientist",
          "woman scientist", "astronaut", "man astronaut", "woman astronaut", "magnet", "abacus")
_OTHER = {
    "cook": "Food & Drink", "man cook": "Food & Drink", "woman cook": "Food & Drink",
    "farmer": "Gardening", "man farmer": "Gardening", "woman farmer": "Gardening",
    "artist": "Art & Crafts", "man artist": "Art & Crafts", "woman artist": "Art & Crafts",
    "singer": "Music", "man singer": "Music", "woman singer": "Music",
    "man dancing": "Music", "woman dancing": "Music",
    "technologist": "Technology", "man technologist": "Technology", "woman technologist": "Technology",
    "mechanic": "Cars & Vehicles", "man mechanic": "Cars & Vehicles", "woman mechanic": "Cars & Vehicles",
    "pilot": "Travel", "man pilot": "Travel", "woman pilot": "Travel", "luggage": "Travel",
    "person running": "Sports & Fitness", "man running": "Sports & Fitness",
    "woman running": "Sports & Fitness", "person climbing": "Sports & Fitness",
    "man climbing": "Sports & Fitness", "woman climbing": "Sports & Fitness",
    "candle": "Home & Decor", "diya lamp": "Home & Decor", "red paper lantern": "Home & Decor",
    "wind chime": "Home & Decor", "framed picture": "Home & Decor", "potted plant": "Gardening",
    "mantelpiece clock": "Home & Decor", "alarm clock": "Home & Decor", "houses": "Architecture",
    "watch": "Men's Fashion", "house": "Home & Decor", "house with garden": "Home & Decor",
    "bed": "Home & Decor", "couch and lamp": "Home & Decor", "chair": "Home & Decor",
    "gem stone": "Women's Fashion", "crown": "Women's Fashion",
    "wilted flower": "Gardening", "fallen leaf": "Gardening", "shovel": "Gardening",
    "hammer and wrench": "Home & Decor", "toolbox": "Home & Decor", "carpentry saw": "Home & Decor",
    "ladder": "Home & Decor", "basket": "Home & Decor",
}
# Emoji whose subgroup is mapped but which say nothing about a theme, or say two at once.
_DROP = ("goggles", "lab coat", "safety vest", "military helmet", "rescue worker’s helmet",
         "prayer beads", "graduation cap", "shopping bags", "mouse trap", "plunger", "roll of paper",
         "bucket", "fire extinguisher", "shopping cart", "safety pin", "elevator", "toilet",
         "magnifying glass tilted left", "magnifying glass tilted right", "flashlight",
         "reminder ribbon", "admission tickets", "ticket", "red envelope", "pine decoration",
         "tanabata tree", "carp streamer", "moon viewing ceremony", "Japanese dolls", "seat",
         "parachute", "world map", "map of Japan", "compass", "thong sandal", "knot",
         "playground slide", "carousel horse", "circus tent", "ferris wheel", "roller coaster",
         "satellite antenna", "sound", "performing arts", "oil drum", "fuel pump", "police car light",
         "horizontal traffic light", "vertical traffic light", "stop sign", "construction",
         "motorway", "railway track", "anchor", "ring buoy", "wheel")

NAMES: dict[str, str | None] = {
    **{n: "Men's Fashion" for n in _MENS},
    **{n: "Beauty" for n in _BEAUTY},
    **{n: "Weddings & Celebrations" for n in _WEDDINGS},
    **{n: "Science & Space" for n in _SPACE},
    **_OTHER,
    **{n: None for n in _DROP},
}
# fmt: on


def theme_of(subgroup: str, name: str) -> str | None:
    """Return the theme an emoji belongs to, or None when it belongs to none."""
    if name in NAMES:
        return NAMES[name]
    return SUBGROUPS.get(subgroup)
