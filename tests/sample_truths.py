"""Known answers for points on the rendered test photos (tests/rendered/render_samples.py).

Used to fill a feedback store with honest labels for the trained models' browser test and
the README screenshots: each point lies inside a shape whose colour and scene are known.
"""

from __future__ import annotations

from pathlib import Path

SAMPLES = Path(__file__).resolve().parent / "rendered"

# (file, x, y in upright original pixels, true color, true theme)
TRUTHS = [
    ("red_car.jpg", 800, 690, "red", "Cars & Vehicles"),
    ("red_car.jpg", 790, 515, "blue", "Cars & Vehicles"),
    ("red_car.jpg", 520, 830, "silver", "Cars & Vehicles"),
    ("red_car.jpg", 1080, 735, "black", "Cars & Vehicles"),
    ("red_car.jpg", 200, 1000, "gray", "Cars & Vehicles"),
    ("fruit_bowl.jpg", 560, 600, "yellow", "Food & Drink"),
    ("fruit_bowl.jpg", 765, 560, "red", "Food & Drink"),
    ("fruit_bowl.jpg", 980, 620, "orange", "Food & Drink"),
    ("fruit_bowl.jpg", 700, 720, "green", "Food & Drink"),
    ("fruit_bowl.jpg", 800, 960, "white", "Food & Drink"),
    ("fruit_bowl.jpg", 100, 1100, "brown", "Food & Drink"),
    ("beach.jpg", 1000, 1000, "beige", "Travel"),
    ("beach.jpg", 1000, 600, "blue", "Travel"),
    ("beach.jpg", 1300, 220, "yellow", "Travel"),
    ("beach.jpg", 310, 570, "pink", "Travel"),
    ("living_room.jpg", 800, 780, "navy", "Home & Decor"),
    ("living_room.jpg", 575, 725, "gold", "Home & Decor"),
    ("living_room.jpg", 1200, 300, "black & white", "Home & Decor"),
    ("living_room.jpg", 200, 1050, "brown", "Home & Decor"),
    ("phone_photo_12mp.jpg", 2000, 1350, "brown", "Gardening"),
    ("phone_photo_12mp.jpg", 2000, 800, "burgundy", "Gardening"),
    ("phone_photo_12mp.jpg", 500, 300, "blue", "Gardening"),
]


def seed_store(predictor, store, tester: str = "sample-truths") -> int:
    """Predict at every known point and label it with the known answer; return how many."""
    from predictor.learning import record_click

    truths = {"color": 3, "theme": 4}
    decoded = {}
    for row in TRUTHS:
        name, x, y = row[:3]
        if name not in decoded:
            decoded[name] = predictor.decode(SAMPLES / name)
        recorded = record_click(predictor, store, decoded[name], (x, y), tester=tester,
                                source="cli")
        chosen = {spec.name: row[truths[spec.name]] for spec in predictor.specs
                  if spec.name in truths}
        store.record_labels(recorded.prediction_id, chosen, tester=tester)
    return len(TRUTHS)
