import numpy as np
import pytest

from training import photo_data


def test_lab_round_trip():
    rgb = np.random.default_rng(0).integers(0, 256, (50, 3)).astype(np.float32)
    np.testing.assert_allclose(photo_data.lab_to_rgb(photo_data.rgb_to_lab(rgb)), rgb, atol=0.6)
    white = photo_data.rgb_to_lab(np.array([255, 255, 255], np.float32))
    np.testing.assert_allclose(white, [100, 0, 0], atol=0.05)


def test_split_is_by_photo_and_never_reads_the_evaluation_set():
    train, held = photo_data.split()
    assert held and len(train) > 4 * len(held)
    assert not set(train) & set(held)
    assert all(p.parent == photo_data.TRAIN_DIR for p in train + held)


@pytest.mark.parametrize("label", ["red", "blue", "green", "yellow", "navy", "purple"])
def test_recolored_photo_crops_look_like_their_label(label):
    # A real photo region moved to `label` in CIELAB: the crop's centre is nearest to that
    # label's survey colors in many crops, and nearly all are at most a neighbouring label
    # away (shadows and casts move some; a crop is redrawn up to 4 times otherwise).
    rng = np.random.default_rng(3)
    train, _ = photo_data.split()
    named = [
        photo_data.nearest_label(photo_data.color_crop(rng, label, train, 0.15, 64))
        for _ in range(12)
    ]
    assert sum(n == label for n in named) >= 5, named  # chance: 12 / 21
    assert sum(n in (label, *photo_data.NEAR[label]) for n in named) >= 9, named


def test_crops_are_model_sized_uint8():
    rng = np.random.default_rng(0)
    train, _ = photo_data.split()
    for label in ("silver", "multi-colored", "black & white"):
        crop = photo_data.color_crop(rng, label, train, 0.15, 64)
        assert crop.shape == (64, 64, 3) and crop.dtype == np.uint8


def test_multi_colored_spots_need_three_hue_groups(tmp_path, monkeypatch):
    stripes = np.array([(229, 0, 0), (255, 255, 20), (21, 176, 26), (3, 67, 223)], np.uint8)
    from PIL import Image

    many = stripes[(np.arange(400) // 10) % 4][None].repeat(300, axis=0)
    Image.fromarray(many).save(tmp_path / "stripes.png")
    Image.fromarray(np.full((300, 400, 3), (21, 176, 26), np.uint8)).save(tmp_path / "plain.png")
    photo_data.load.cache_clear()
    photo_data.multi_spots.cache_clear()
    assert len(photo_data.multi_spots(tmp_path / "stripes.png", 0.15)) > 100
    assert len(photo_data.multi_spots(tmp_path / "plain.png", 0.15)) == 0


def test_theme_crops_come_only_from_photos_with_a_theme():
    x, y = photo_data.dataset("theme", "train", 2, seed=1, fraction=0.5, input_size=80)
    themed = {photo_data.photo_themes()[p.name] for p in photo_data.pool()
              if p.name in photo_data.photo_themes()}
    assert {photo_data.THEME_LABELS[i] for i in y} == themed
    assert x.shape[1:] == (80, 80, 3)


def test_photos_added_later_sort_after_the_ones_earlier_versions_were_built_on():
    # color 3.0.0 and theme 3.0.0 / 3.1.0 read the first 94 photos by name: `make models`
    # rebuilds them from the same photos and the same held-out split.
    from training.head_recipes import BEFORE_THEME_PHOTOS

    every, before = photo_data.pool(), photo_data.pool(BEFORE_THEME_PHOTOS)
    assert every[:BEFORE_THEME_PHOTOS] == before and len(every) > len(before)
    assert not any(p.name.startswith("theme_") for p in before)
    assert all(p.name.startswith("theme_") for p in every[BEFORE_THEME_PHOTOS:])
    assert photo_data.split(BEFORE_THEME_PHOTOS)[1] == [
        p for p in photo_data.split()[1] if p in before]


def test_every_photo_has_its_source_and_license():
    import csv

    with (photo_data.PHOTOS / "SOURCES.csv").open(newline="", encoding="utf-8") as handle:
        rows = {row["file"]: row for row in csv.DictReader(handle)}
    files = {f"{p.parent.name}/{p.name}" for p in photo_data.PHOTOS.glob("*/*.jpg")}
    assert files == set(rows)
    assert all(row["package"] and row["license"].strip() for row in rows.values())


def _qres(files: dict[str, tuple[bytes, bool]]) -> bytes:
    """A Qt resource file (format 3) with one folder `res` holding `files` (name: (data,
    zlib-compressed)), laid out as Qt's rcc writes it."""
    import struct
    import zlib

    names, data, tree = b"", b"", []

    def name(text: str) -> int:
        nonlocal names
        offset = len(names)
        names += struct.pack(">HI", len(text), 0) + text.encode("utf-16-be")
        return offset

    def entry(name_offset: int, flags: int, rest: bytes) -> bytes:
        return struct.pack(">IH", name_offset, flags) + rest + bytes(8)  # + last modified

    tree.append(entry(0, 2, struct.pack(">II", 1, 1)))  # the root: 1 child, at index 1
    tree.append(entry(name("res"), 2, struct.pack(">II", len(files), 2)))
    for file, (content, compress) in files.items():
        payload = struct.pack(">I", len(content)) + zlib.compress(content) if compress else content
        tree.append(entry(name(file), 1 if compress else 0,
                          struct.pack(">HHI", 0, 0, len(data))))
        data += struct.pack(">I", len(payload)) + payload
    head = 24
    tree_bytes = b"".join(tree)
    return (b"qres" + struct.pack(">IIIII", 3, head, head + len(tree_bytes),
                                  head + len(tree_bytes) + len(data), 0)
            + tree_bytes + data + names)


def test_collect_reads_gcompris_resource_files_and_their_licenses(tmp_path):
    from photos import collect

    readme = (b"Copyright: Someone\nLicense: CC-BY-SA 4.0\nFiles:\n  other.webp\n\n"
              b"Copyright:\n  Copyright 2011 NASA\nLicense: Public Domain\n"
              b"Comment: original source at https://example.org/planet.jpg\nFiles:\nplanet.webp\n")
    rcc = tmp_path / "solar.rcc"
    rcc.write_bytes(_qres({"planet.webp": (b"\x00pixels" * 50, True), "README": (readme, False)}))
    files = collect._rcc_files(str(rcc))
    assert files == {"/res/planet.webp": b"\x00pixels" * 50, "/res/README": readme}
    assert collect._license("gcompris-qt-data", f"{rcc}!/res/planet.webp") == (
        "Public Domain (Copyright 2011 NASA; original source at https://example.org/planet.jpg)")


def test_the_color_point_files_name_training_photos_labels_and_places_that_exist():
    import csv

    from PIL import Image

    labels = set(photo_data.COLOR_LABELS)
    photos_of, sizes = {}, {}
    for name in ("tuning_points.csv", "train_color_points.csv", "train_color_points_2.csv"):
        with (photo_data.PHOTOS / name).open(encoding="utf-8", newline="") as handle:
            rows = list(csv.DictReader(handle))
        assert rows, name
        seen = set()
        for row in rows:
            path = photo_data.PHOTOS / row["image"]
            assert row["image"].startswith("train/") and path.is_file(), row
            if path not in sizes:  # each photo's header read once, not once a point
                with Image.open(path) as image:
                    sizes[path] = image.size
            width, height = sizes[path]
            assert 0 <= float(row["x"]) < width and 0 <= float(row["y"]) < height
            also = [a for a in (row["color_also"] or "").split("|") if a]
            assert row["color"] in labels and set(also) <= labels and row["color"] not in also
            assert (row["image"], row["x"], row["y"]) not in seen, row
            seen.add((row["image"], row["x"], row["y"]))
        photos_of[name] = {r["image"] for r in rows}
    # The second round covers only photos the first left out: color 3.0.0 rebuilds the same.
    first = photos_of["tuning_points.csv"] | photos_of["train_color_points.csv"]
    assert not first & photos_of["train_color_points_2.csv"]
