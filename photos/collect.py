"""Rebuild photos/ from the Debian packages that ship these photographs.

Run as root on Debian 12 (it apt-get installs the packages if missing):
    python photos/collect.py
Every photo was looked at by eye and is a real photograph (no drawings,
renders or paintings). The split is by photo and fixed by the lists below;
near-duplicates of a listed photo (aloeR, leuvenB, right.jpg, the tutorial
copies of squirrel, baboon, peppers, fruits, messi…) are left out altogether.
"""

from __future__ import annotations

import csv
import functools
import io
import json
import struct
import subprocess
import sys
import tarfile
import zlib
from pathlib import Path

from PIL import Image, ImageOps

HERE = Path(__file__).resolve().parent
LONG_SIDE = 1600
QUALITY = 85

MATE = "/usr/share/backgrounds/mate/nature/"
PLASMA = "/usr/share/wallpapers/"
LOMIRI = "/usr/share/backgrounds/"
OCV = "/usr/share/doc/opencv-doc/"
OCV_DATA = OCV + "examples/data/"
OCV_HTML = OCV + "opencv4/html/"
NEBULAE = "/usr/share/stellarium/nebulae/default/"
GIMP_HELP = "/usr/share/gimp/2.0/help/en/images/"
IM_DOC = "/usr/share/doc/imagemagick-6-common/html/images/"
# GCompris keeps its activities' images inside Qt resource files: "<file>.rcc!<path inside>".
GCOMPRIS = "/usr/share/gcompris-qt/rcc/"

def _gcompris(activity: str, folder: str) -> str:
    return f"{GCOMPRIS}{activity}.rcc!/gcompris/src/activities/{activity}/resource/{folder}"


GC_MUSIC = _gcompris("explore_world_music", "music/")
GC_PLANETS = _gcompris("solar_system", "")
GC_OBJECTS = _gcompris("categorization", "images/others/")
SCRIBUS = "/usr/share/scribus/templates/"
HUGIN = "/usr/share/hugin/xrc/data/help_en_EN/"

# (package, original path, output name, split)
PHOTOS: list[tuple[str, str, str, str]] = [
    ("mate-backgrounds", MATE + "Aqua.jpg", "mate_aqua", "train"),
    ("mate-backgrounds", MATE + "Blinds.jpg", "mate_blinds", "train"),
    ("mate-backgrounds", MATE + "Dune.jpg", "mate_dune", "eval"),
    ("mate-backgrounds", MATE + "FreshFlower.jpg", "mate_freshflower", "train"),
    ("mate-backgrounds", MATE + "Garden.jpg", "mate_garden", "eval"),
    ("mate-backgrounds", MATE + "GreenMeadow.jpg", "mate_greenmeadow", "train"),
    ("mate-backgrounds", MATE + "LadyBird.jpg", "mate_ladybird", "eval"),
    ("mate-backgrounds", MATE + "RainDrops.jpg", "mate_raindrops", "train"),
    ("mate-backgrounds", MATE + "Storm.jpg", "mate_storm", "train"),
    ("mate-backgrounds", MATE + "TwoWings.jpg", "mate_twowings", "train"),
    ("mate-backgrounds", MATE + "Wood.jpg", "mate_wood", "train"),
    ("mate-backgrounds", MATE + "YellowFlower.jpg", "mate_yellowflower", "train"),
    ("plasma-workspace-wallpapers", PLASMA + "BytheWater/contents/images/2560x1600.jpg",
     "plasma_bythewater", "train"),
    ("plasma-workspace-wallpapers", PLASMA + "ColorfulCups/contents/images/2560x1600.jpg",
     "plasma_colorfulcups", "eval"),
    ("plasma-workspace-wallpapers", PLASMA + "DarkestHour/contents/images/2560x1600.jpg",
     "plasma_darkesthour", "train"),
    ("plasma-workspace-wallpapers", PLASMA + "EveningGlow/contents/images/2560x1600.jpg",
     "plasma_eveningglow", "train"),
    ("plasma-workspace-wallpapers", PLASMA + "FallenLeaf/contents/images/2560x1600.jpg",
     "plasma_fallenleaf", "eval"),
    ("plasma-workspace-wallpapers", PLASMA + "Kite/contents/images/2560x1600.jpg",
     "plasma_kite", "train"),
    ("plasma-workspace-wallpapers", PLASMA + "OneStandsOut/contents/images/2560x1600.jpg",
     "plasma_onestandsout", "train"),
    ("plasma-workspace-wallpapers", PLASMA + "Path/contents/images/2560x1600.jpg",
     "plasma_path", "eval"),
    ("plasma-workspace-wallpapers", PLASMA + "summer_1am/contents/images/2560x1600.jpg",
     "plasma_summer_1am", "train"),
    ("lomiri-wallpapers-16.04", LOMIRI + "Bridge_by_Sander_Klootwijk.jpg",
     "lomiri_bridge", "train"),
    ("lomiri-wallpapers-16.04", LOMIRI + "Dragonfly_by_Bolly.jpg", "lomiri_dragonfly", "train"),
    ("lomiri-wallpapers-16.04", LOMIRI + "Picture_0B_by_freespace.jpg", "lomiri_fig_plate", "eval"),
    ("lomiri-wallpapers-16.04", LOMIRI + "Picture_1A_by_freespace.jpg", "lomiri_brushes", "eval"),
    ("lomiri-wallpapers-16.04", LOMIRI + "Wine_by_Jakkub_Mede.jpg", "lomiri_wine", "train"),
    ("lomiri-wallpapers-16.04", LOMIRI + "aitzgorri_by_Aitzol_Berasategi.jpg",
     "lomiri_aitzgorri", "train"),
    ("lomiri-wallpapers-16.04", LOMIRI + "friends_by_Aitzol_Berasategi.jpg",
     "lomiri_friends", "eval"),
    ("lomiri-wallpapers-16.04", LOMIRI + "greentock_by_Peter_Nerlich.jpg", "lomiri_clock", "eval"),
    ("lomiri-wallpapers-16.04", LOMIRI + "life_by_Aitzol_Berasategi.jpg", "lomiri_life", "train"),
    ("lomiri-wallpapers-16.04", LOMIRI + "picosdeeuropa_by_Aitzol_Berasategi.jpg",
     "lomiri_picosdeeuropa", "eval"),
    ("lomiri-wallpapers-16.04", LOMIRI + "seeding_by_Clements_Engelhardt.jpg",
     "lomiri_seeding", "eval"),
    ("lomiri-wallpapers-16.04", LOMIRI + "sunset_by_Aitzol_Berasategi.jpg",
     "lomiri_sunset", "train"),
    ("lomiri-wallpapers-20.04", LOMIRI + "Kleiber_by_Lukas_Baubkus.jpg", "lomiri_kleiber", "train"),
    ("opencv-doc", OCV + "examples/alphamat/input_images/plant.jpg", "ocv_plant", "train"),
    ("opencv-doc", OCV_DATA + "aero1.jpg", "ocv_aero1", "train"),
    ("opencv-doc", OCV_DATA + "aloeL.jpg", "ocv_aloe", "train"),
    ("opencv-doc", OCV_DATA + "apple.jpg", "ocv_apple", "eval"),
    ("opencv-doc", OCV_DATA + "baboon.jpg", "ocv_baboon", "eval"),
    ("opencv-doc", OCV_DATA + "board.jpg", "ocv_board", "train"),
    ("opencv-doc", OCV_DATA + "building.jpg", "ocv_building", "eval"),
    ("opencv-doc", OCV_DATA + "butterfly.jpg", "ocv_butterfly", "eval"),
    ("opencv-doc", OCV_DATA + "chicky_512.png", "ocv_chicky", "eval"),
    ("opencv-doc", OCV_DATA + "ela_original.jpg", "ocv_notebook", "train"),
    ("opencv-doc", OCV_DATA + "fruits.jpg", "ocv_fruits", "eval"),
    ("opencv-doc", OCV_DATA + "graf1.png", "ocv_graffiti", "train"),
    ("opencv-doc", OCV_DATA + "home.jpg", "ocv_home", "train"),
    ("opencv-doc", OCV_DATA + "left.jpg", "ocv_books", "train"),
    ("opencv-doc", OCV_DATA + "leuvenA.jpg", "ocv_leuven", "eval"),
    ("opencv-doc", OCV_DATA + "licenseplate_motion.jpg", "ocv_car_rear", "eval"),
    ("opencv-doc", OCV_DATA + "messi5.jpg", "ocv_football", "eval"),
    ("opencv-doc", OCV_DATA + "orange.jpg", "ocv_orange", "train"),
    ("opencv-doc", OCV_DATA + "rubberwhale1.png", "ocv_rubberwhale", "train"),
    ("opencv-doc", OCV_DATA + "smarties.png", "ocv_smarties", "eval"),
    ("opencv-doc", OCV_DATA + "squirrel_cls.jpg", "ocv_squirrel", "eval"),
    ("opencv-doc", OCV_DATA + "stuff.jpg", "ocv_stuff", "eval"),
    ("opencv-doc", OCV + "examples/dnn_superres/butterfly.png", "ocv_monarch", "train"),
    ("opencv-doc", OCV + "examples/hfs/data/000.jpg", "ocv_robin", "eval"),
    ("opencv-doc", OCV + "examples/hfs/data/001.jpg", "ocv_lake", "train"),
    ("opencv-doc", OCV + "examples/hfs/data/002.jpg", "ocv_tree", "eval"),
    ("opencv-doc", OCV + "examples/reg/home.png", "ocv_brick_house", "train"),
    ("opencv-doc", OCV + "examples/text/scenetext01.jpg", "ocv_street_sign", "train"),
    ("opencv-doc", OCV + "examples/text/scenetext03.jpg", "ocv_copy_centre", "train"),
    ("opencv-doc", OCV + "examples/text/scenetext04.jpg", "ocv_generator", "train"),
    ("opencv-doc", OCV + "examples/text/scenetext05.jpg", "ocv_no_parking", "train"),
    ("opencv-doc", OCV + "examples/text/scenetext06.jpg", "ocv_shopfront", "eval"),
    ("opencv-doc", OCV + "examples/text/scenetext_segmented_word01.jpg", "ocv_hotel_sign", "train"),
    ("opencv-doc", OCV + "examples/text/scenetext_segmented_word02.jpg",
     "ocv_stationery_sign", "train"),
    ("opencv-doc", OCV + "examples/text/scenetext_segmented_word03.jpg",
     "ocv_freephone_sign", "train"),
    ("opencv-doc", OCV + "examples/text/scenetext_segmented_word04.jpg",
     "ocv_fosters_sign", "train"),
    ("opencv-doc", OCV_HTML + "227943776_1.jpg", "ocv_portrait_smile", "eval"),
    ("opencv-doc", OCV_HTML + "230501201_1.jpg", "ocv_portrait_beard", "train"),
    ("opencv-doc", OCV_HTML + "4_barcodes.jpg", "ocv_barcodes", "eval"),
    ("opencv-doc", OCV_HTML + "Background_Subtraction_Tutorial_frame.jpg", "ocv_campus", "train"),
    ("opencv-doc", OCV_HTML + "Threshold_inRange_Tutorial_Result_input.jpeg",
     "ocv_clock_man", "eval"),
    ("opencv-doc", OCV_HTML + "astra_color.jpg", "ocv_still_life", "eval"),
    ("opencv-doc", OCV_HTML + "bicubicOutput.jpg", "ocv_peppers", "eval"),
    ("opencv-doc", OCV_HTML + "choriginal.jpg", "ocv_charuco_desk", "train"),
    ("opencv-doc", OCV_HTML + "coins.jpg", "ocv_coins", "eval"),
    ("opencv-doc", OCV_HTML + "diamondmarkers.png", "ocv_diamond_markers", "train"),
    ("opencv-doc", OCV_HTML + "fileListImage.jpg", "ocv_chessboard", "train"),
    ("opencv-doc", OCV_HTML + "fusion.png", "ocv_church_interior", "train"),
    ("opencv-doc", OCV_HTML + "fusion_mertens.jpg", "ocv_night_city", "eval"),
    ("opencv-doc", OCV_HTML + "handSrc.jpg", "ocv_hand", "train"),
    ("opencv-doc", OCV_HTML + "homography_pose_estimation.jpg", "ocv_toy_marker", "train"),
    ("opencv-doc", OCV_HTML + "newspaper.jpg", "ocv_newspaper", "train"),
    ("opencv-doc", OCV_HTML + "pexels_double_decker_bus.jpg", "ocv_red_bus", "eval"),
    ("opencv-doc", OCV_HTML + "retina_TreeHdr_small.jpg", "ocv_heath", "train"),
    ("opencv-doc", OCV_HTML + "singlemarkersoriginal.jpg", "ocv_markers_table", "train"),
    ("opencv-doc", OCV_HTML + "space_shuttle.jpg", "ocv_space_shuttle", "eval"),
    ("opencv-doc", OCV_HTML + "studentsSample_input.jpg", "ocv_lecture_hall", "train"),
    # Added for the theme model (more training photos for the rarer themes):
    ("opencv-doc", OCV_HTML + "Histogram_Calculation_Original_Image.jpg",
     "ocv_cows_meadow", "train"),
    ("opencv-doc", OCV_HTML + "Morphology_1_Tutorial_Original_Image.jpg", "ocv_kitten", "train"),
    ("opencv-doc", OCV_DATA + "aero3.jpg", "ocv_aero3", "train"),
    ("opencv-doc", OCV_DATA + "basketball1.png", "ocv_basketball", "train"),
    ("opencv-doc", OCV_DATA + "box.png", "ocv_biscotti_box", "train"),
    ("opencv-doc", OCV_DATA + "box_in_scene.png", "ocv_groceries", "train"),
    ("opencv-doc", OCV + "examples/text/scenetext02.jpg", "ocv_sports_centre_sign", "train"),
    ("opencv-doc", OCV + "examples/text/scenetext_segmented_word05.jpg", "ocv_projector", "train"),
    ("opencv-doc", OCV_HTML + "Template_Matching_Original_Image.jpg", "ocv_glider", "train"),
    ("lomiri-wallpapers-16.04", LOMIRI + "free_by_Peter_Nerlich.jpg", "lomiri_lamp_bird", "train"),
    ("plasma-workspace-wallpapers", PLASMA + "ColdRipple/contents/images/2560x1600.jpg",
     "plasma_coldripple", "train"),
    ("plasma-workspace-wallpapers", PLASMA + "Grey/contents/images/2560x1600.jpg",
     "plasma_grey", "train"),
    ("stellarium-data", NEBULAE + "n281.png", "stel_ngc281", "train"),
    ("stellarium-data", NEBULAE + "n5139.png", "stel_ngc5139", "train"),
    ("stellarium-data", NEBULAE + "n6543.png", "stel_ngc6543", "train"),
    ("stellarium-data", NEBULAE + "n6960.png", "stel_ngc6960", "train"),
    ("stellarium-data", NEBULAE + "n7023.png", "stel_ngc7023", "train"),
    ("stellarium-data", NEBULAE + "n891.png", "stel_ngc891", "train"),
    ("stellarium-data", NEBULAE + "n1333.png", "stel_ngc1333", "train"),
    ("stellarium-data", NEBULAE + "n4490.png", "stel_ngc4490", "train"),
    ("stellarium-data", NEBULAE + "n7129.png", "stel_ngc7129", "train"),
    ("imagemagick-6-doc", IM_DOC + "bluebells_lin.jpg", "im_bluebells", "train"),
    ("gimp-help-en", GIMP_HELP + "filters/examples/kvitveis-orig.png", "gh_anemone", "train"),
    ("gimp-help-en", GIMP_HELP + "filters/examples/light-and-shadow/vignette-ex-orig.jpg",
     "gh_ground_squirrel", "train"),
    ("gimp-help-en", GIMP_HELP + "filters/examples/map/little_planet-origin.jpg",
     "gh_meadow_clouds", "train"),
    ("gimp-help-en", GIMP_HELP + "filters/examples/taj_orig.png", "gh_taj_mahal", "train"),
    ("gimp-help-en", GIMP_HELP + "tool-options/lockbrush-orig.png", "gh_sunflower", "train"),
    ("gimp-help-en", GIMP_HELP + "tutorials/quickie-crop-example-source.jpg", "gh_duck", "train"),
    ("gimp-help-en", GIMP_HELP + "tutorials/quickie-flip-example-source.jpg",
     "gh_soldiers", "train"),
    ("gimp-help-en", GIMP_HELP + "tutorials/quickie-rotate-example-source.jpg",
     "gh_stained_glass", "train"),
    ("gimp-help-en", GIMP_HELP + "tutorials/quickie-scale-example.jpg", "gh_castle", "train"),
    ("gimp-help-en", GIMP_HELP + "using/duck_orig.png", "gh_ducklings", "train"),
    ("gimp-help-en", GIMP_HELP + "using/keyfob_orig.png", "gh_keyfob", "train"),
    ("gimp-help-en", GIMP_HELP + "using/threshold-orig.png", "gh_zinnia", "train"),
    ("gimp-help-en", GIMP_HELP + "filters/examples/enhance/high-pass-origin.png",
     "gh_chimpanzee", "train"),
    ("gimp-help-en", GIMP_HELP + "filters/examples/colors-retinex1.png",
     "gh_floppy_disks", "train"),
    ("gimp-help-en", GIMP_HELP + "tutorials/tone-mapping/apple-orchard-truck-from-camera.jpg",
     "gh_pickup_truck", "train"),
    ("gimp-help-en", GIMP_HELP + "tutorials/tone-mapping/power-lines.jpg",
     "gh_power_lines", "train"),
    ("gimp-help-en", GIMP_HELP + "tutorials/quickie-jpeg-100.jpg", "gh_vintage_car", "train"),
    # Added for theme 3.2.0 (music, food and tableware, home, sports, space). Named theme_* so
    # they sort after the photos above: the versions built before them read the first 94.
    *(("gcompris-qt-data", GC_MUSIC + f"{name}.webp", f"theme_music_{name}", "train")
      for name in ("africa", "america", "australia", "ireland", "italy", "japan", "mexico",
                   "middleeast", "orchestra")),
    *(("gcompris-qt-data", GC_PLANETS + f"{name}.webp", f"theme_space_{name}", "train")
      for name in ("earth", "jupiter", "mars", "mercury", "neptune", "saturn", "sun", "uranus")),
    *(("gcompris-qt-data", GC_OBJECTS + f"{name}.webp", f"theme_object_{name}", "train")
      for name in ("chair", "pillow", "cup", "buffetset", "plate", "spoons", "knife", "pan",
                   "baseball", "volleyball")),
    ("scribus-template", SCRIBUS + "menu2/pizza.jpg", "theme_food_pizza", "train"),
    ("scribus-template", SCRIBUS + "menu1/teriyaki.png", "theme_food_teriyaki", "train"),
    ("scribus-template", SCRIBUS + "br2/moon.jpg", "theme_space_moon", "train"),
    ("scribus-template", SCRIBUS + "cal2/moon.jpg", "theme_space_moon_branches", "train"),
    ("scribus-template", SCRIBUS + "br2/halfmoon.jpg", "theme_space_eclipse", "train"),
    ("scribus-data", SCRIBUS + "textbased/an_image.jpg", "theme_sports_cyclist", "train"),
    ("hugin-data", HUGIN + "AliasingPTpoly3.jpg", "theme_home_kitchen", "train"),
    # From npm packages' demo and test images ("npm:<name>@<version>", path in the tarball):
    # each under its package's license (package.json), none says where its photos came from.
    *(("npm:" + spec, "package/" + path, name, "train") for spec, path, name in (
        ("color-thief@2.2.5", "img/photo1.jpg", "theme_food_dip"),
        ("flexslider@2.7.2", "demo/images/kitchen_adventurer_lemon.jpg", "theme_food_cupcakes"),
        ("flexslider@2.7.2", "demo/images/kitchen_adventurer_donut.jpg", "theme_food_donut"),
        ("flexslider@2.7.2", "demo/images/kitchen_adventurer_caramel.jpg", "theme_food_caramel"),
        ("flexslider@2.7.2", "demo/images/kitchen_adventurer_cheesecake_brownie.jpg",
         "theme_food_brownie"),
        ("startbootstrap-stylish-portfolio@6.0.6", "dist/assets/img/portfolio-3.jpg",
         "theme_food_strawberries"),
        ("vegas@3.0.0", "tests/assets/unsplash5.jpg", "theme_food_limes"),
        ("jquery-backstretch@2.1.18", "examples/coffee.jpg", "theme_food_coffee"),
        ("exif-js@2.3.0", "example/Bloated-Hero.jpg", "theme_food_chocolates"),
        ("bxslider@4.2.17", "docs_src/assets/img/photo6.jpeg", "theme_food_mugs"),
        ("startbootstrap-creative@7.0.7", "dist/assets/img/portfolio/fullsize/4.jpg",
         "theme_food_spices"),
        ("material-dashboard@3.1.0", "assets/img/home-decor-1.jpg", "theme_home_armchair"),
        ("material-dashboard@3.1.0", "assets/img/home-decor-2.jpg", "theme_home_bedroom"),
        ("material-dashboard@3.1.0", "assets/img/home-decor-3.jpg", "theme_home_yellow_chair"),
        ("material-dashboard@3.1.0", "assets/img/bg-smart-home-1.jpg", "theme_home_open_kitchen"),
        ("material-dashboard@3.1.0", "assets/img/products/product-details-1.jpg",
         "theme_home_sofa"),
        ("admin-lte@3.2.0", "dist/img/photo2.png", "theme_home_dining_room"),
        ("tabler-ui@0.0.34", "dist/demo/photos/andrew-neel-141710-1500.jpg",
         "theme_home_dark_dining_room"),
        ("soft-ui-design-system@1.0.4", "assets/img/toa-heftiba.jpg", "theme_home_lounge"),
        ("tabler-ui@0.0.34", "dist/demo/photos/nicolas-picard-208276-1500.jpg",
         "theme_sports_bmx"),
        ("image-q@1.1.1", "demo/html/images/photos1/biking.jpg", "theme_sports_mountain_bike"),
        ("exif-js@2.3.0", "example/dsc_09827.jpg", "theme_sports_karting"),
        ("shards-ui@3.0.0", "dist/images/common/card-1.jpg", "theme_sports_surfer"),
        ("argon-design-system-free@1.2.0", "assets/img/faces/brooke-cagle.jpg",
         "theme_sports_skateboard"),
        ("startbootstrap-one-page-wonder@6.0.6", "dist/assets/img/01.jpg", "theme_music_guitar"),
        ("startbootstrap-one-page-wonder@6.0.6", "dist/assets/img/02.jpg", "theme_music_stage"),
        ("startbootstrap-clean-blog@6.0.9", "dist/assets/img/post-bg.jpg",
         "theme_space_spacewalk"),
        ("tabler-ui@0.0.34", "dist/demo/photos/casey-horner-339165-1500.jpg",
         "theme_space_milky_way"),
        ("tabler-ui@0.0.34", "dist/demo/photos/nathan-anderson-297460-1500.jpg",
         "theme_space_night_sky"),
    )),
    # Evaluation photos where gold is the main color of a region (none before them).
    ("npm:tabler-ui@0.0.34", "package/dist/demo/photos/oskar-vertetics-53043-1500.jpg",
     "npm_golden_pavilion", "eval"),
    ("npm:soft-ui-design-system@1.0.4", "package/assets/img/blog7-3.jpg", "npm_golden_barge",
     "eval"),
]
NPM_CACHE = HERE.parent / "build" / "npm"  # `npm pack` tarballs (not committed)

LICENSES = {
    "mate-backgrounds": "GPL-2+",
    "plasma-workspace-wallpapers": "GPL-2+",
    "opencv-doc": "Apache-2.0 AND BSD-3-Clause",
    # Single "Files: *" stanza in each package's copyright file:
    "gimp-help-en": "GFDL-NIV-1.2+",
    "imagemagick-6-doc": "ImageMagick",
    # Debian's copyright file covers the package with "Files: *" GPL-2+; each nebula
    # image's own credit is in /usr/share/stellarium/nebulae/default/textures.json.
    "stellarium-data": "GPL-2+",
    "scribus-data": "GPL-2+",
    "hugin-data": "GPL-2+",
    # The copyright file: Riku Leino's templates (br2, cal2, menu1, menu2 used here) "have been
    # placed into public domain by their author".
    "scribus-template": "public-domain",
}


def _license(package: str, path: str) -> str:
    """Read the license of one file from its package's DEP-5 copyright file (for a GCompris
    image, from the README beside it, which gives each file's author, source and license; for
    an npm package, its package.json)."""
    if package.startswith("npm:"):
        meta = json.loads(_npm_file(package, "package/package.json"))
        return meta.get("license") or " OR ".join(entry["type"] for entry in meta["licenses"])
    if "!" in path:
        return _rcc_license(path)
    if package in LICENSES:
        return "BSD-3-Clause" if "/examples/data/" in path else LICENSES[package]
    text = Path(f"/usr/share/doc/{package}/copyright").read_text()
    name = Path(path).name
    stanza = text[text.index(name):]
    return stanza[stanza.index("License:") + 8:].splitlines()[0].strip()


def _rcc_license(path: str) -> str:
    rcc, inner = path.split("!")
    readme = _rcc_files(rcc)[inner.rsplit("/", 1)[0] + "/README"].decode("utf-8")
    name = inner.rsplit("/", 1)[1]
    for stanza in readme.split("\n\n"):
        fields: dict[str, str] = {}  # "Key: value", continued on indented lines
        for line in stanza.splitlines():
            if (line[:1].isspace() or ":" not in line) and fields:
                key = list(fields)[-1]
                fields[key] = f"{fields[key]} {line.strip()}".strip()
            elif ":" in line:
                key, value = line.split(":", 1)
                fields[key] = value.strip()
        if name in fields.get("Files", "").split():
            credit = "; ".join(fields[k] for k in ("Copyright", "Source", "Comment") if k in fields)
            return f"{fields['License']} ({credit})"
    raise LookupError(f"{name}: no stanza in its README")


@functools.cache
def _rcc_files(path: str) -> dict[str, bytes]:
    """Every file in a Qt resource file (format 1-3: a tree of names, zlib or zstd payloads)."""
    blob = Path(path).read_bytes()
    if blob[:4] != b"qres":
        raise ValueError(f"{path}: not a Qt resource file")
    version, tree, data, names = struct.unpack(">IIII", blob[4:20])
    entry = 14 if version == 1 else 22
    files: dict[str, bytes] = {}

    def name_at(offset: int) -> str:
        (length,) = struct.unpack(">H", blob[names + offset:names + offset + 2])
        return blob[names + offset + 6:names + offset + 6 + 2 * length].decode("utf-16-be")

    def walk(index: int, prefix: str) -> None:
        at = tree + index * entry
        name_offset, flags = struct.unpack(">IH", blob[at:at + 6])
        path = f"{prefix}/{name_at(name_offset)}" if index else ""
        if flags & 2:  # a directory: its children are consecutive entries
            count, first = struct.unpack(">II", blob[at + 6:at + 14])
            for child in range(first, first + count):
                walk(child, path)
            return
        (offset,) = struct.unpack(">I", blob[at + 10:at + 14])
        (size,) = struct.unpack(">I", blob[data + offset:data + offset + 4])
        payload = blob[data + offset + 4:data + offset + 4 + size]
        if flags & 1:
            payload = zlib.decompress(payload[4:])
        elif flags & 4:
            payload = subprocess.run(["zstd", "-dc"], input=payload, capture_output=True,
                                     check=True).stdout
        files[path] = payload

    walk(0, "")
    return files


def _npm_file(package: str, member: str) -> bytes:
    """One file of an npm package's tarball (`npm pack` into build/npm/ the first time)."""
    spec = package.removeprefix("npm:")
    name, version = spec.rsplit("@", 1)
    tarball = NPM_CACHE / f"{name.lstrip('@').replace('/', '-')}-{version}.tgz"
    if not tarball.exists():
        NPM_CACHE.mkdir(parents=True, exist_ok=True)
        subprocess.run(["npm", "pack", spec, "--pack-destination", str(NPM_CACHE), "--silent"],
                       check=True, capture_output=True, timeout=600)
    with tarfile.open(tarball) as tar:
        return tar.extractfile(member).read()


def _open(src: str, package: str = "") -> Image.Image:
    if package.startswith("npm:"):
        return Image.open(io.BytesIO(_npm_file(package, src)))
    if "!" in src:
        rcc, inner = src.split("!")
        return Image.open(io.BytesIO(_rcc_files(rcc)[inner]))
    return Image.open(src)


def _save(src: str, dest: Path, package: str = "") -> None:
    with _open(src, package) as image:
        image = ImageOps.exif_transpose(image)
        if "!" in src and image.mode == "RGBA":  # GCompris's planets, cut out: the sky is black
            image = Image.alpha_composite(Image.new("RGBA", image.size, "black"),
                                          image.convert("RGBA"))
        image = image.convert("RGB")
        image.thumbnail((LONG_SIDE, LONG_SIDE), Image.Resampling.LANCZOS)
        image.save(dest, "JPEG", quality=QUALITY, optimize=True)


def main() -> None:
    packages = sorted({p for p, *_ in PHOTOS if not p.startswith("npm:")})
    missing = [
        p for p in packages if subprocess.run(["dpkg", "-s", p], capture_output=True).returncode
    ]
    if missing:
        command = ["apt-get", "install", "-y", "--no-install-recommends", *missing]
        subprocess.run(command, check=True)
    rows = []
    for package, path, name, split in PHOTOS:
        (HERE / split).mkdir(exist_ok=True)
        _save(path, HERE / split / f"{name}.jpg", package)
        npm = package.startswith("npm:")
        rows.append([f"{split}/{name}.jpg", package, path.replace("!", ":"),
                     _license(package, path),
                     "package/package.json" if npm else f"/usr/share/doc/{package}/copyright"])
        print(f"{split}/{name}.jpg", file=sys.stderr)
    with open(HERE / "SOURCES.csv", "w", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(["file", "package", "original_path", "license", "copyright_file"])
        writer.writerows(rows)


if __name__ == "__main__":
    main()
