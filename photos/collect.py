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
import subprocess
import sys
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
]

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
}


def _license(package: str, path: str) -> str:
    """Read the license of one file from its package's DEP-5 copyright file."""
    if package in LICENSES:
        return "BSD-3-Clause" if "/examples/data/" in path else LICENSES[package]
    text = Path(f"/usr/share/doc/{package}/copyright").read_text()
    name = Path(path).name
    stanza = text[text.index(name):]
    return stanza[stanza.index("License:") + 8:].splitlines()[0].strip()


def _save(src: str, dest: Path) -> None:
    with Image.open(src) as image:
        image = ImageOps.exif_transpose(image).convert("RGB")
        image.thumbnail((LONG_SIDE, LONG_SIDE), Image.Resampling.LANCZOS)
        image.save(dest, "JPEG", quality=QUALITY, optimize=True)


def main() -> None:
    packages = sorted({p for p, *_ in PHOTOS})
    missing = [
        p for p in packages if subprocess.run(["dpkg", "-s", p], capture_output=True).returncode
    ]
    if missing:
        command = ["apt-get", "install", "-y", "--no-install-recommends", *missing]
        subprocess.run(command, check=True)
    rows = []
    for package, path, name, split in PHOTOS:
        (HERE / split).mkdir(exist_ok=True)
        _save(path, HERE / split / f"{name}.jpg")
        rows.append([f"{split}/{name}.jpg", package, path, _license(package, path),
                     f"/usr/share/doc/{package}/copyright"])
        print(f"{split}/{name}.jpg", file=sys.stderr)
    with open(HERE / "SOURCES.csv", "w", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(["file", "package", "original_path", "license", "copyright_file"])
        writer.writerows(rows)


if __name__ == "__main__":
    main()
