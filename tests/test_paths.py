import os
from pathlib import Path

import pytest

from predictor import ImageNotFound, ImageRejected
from predictor.paths import image_root, list_images, read_image, resolve_image


@pytest.fixture
def root(tmp_path):
    """An image folder with a photo, a subfolder, and traps next to and inside it."""
    base = tmp_path / "root"
    (base / "sub").mkdir(parents=True)
    (base / "photo.jpg").write_bytes(b"jpeg")
    (base / "sub" / "deep.png").write_bytes(b"png")
    (tmp_path / "secret.txt").write_text("secret")
    (tmp_path / "root2").mkdir()
    (tmp_path / "root2" / "other.jpg").write_bytes(b"jpeg")
    (base / "link_out.jpg").symlink_to(tmp_path / "secret.txt")
    (base / "link_zero.jpg").symlink_to("/dev/zero")
    (base / "link_in.jpg").symlink_to(base / "photo.jpg")
    os.mkfifo(base / "pipe.jpg")
    return base


def test_file_inside_root_is_resolved(root):
    assert resolve_image(root, "photo.jpg") == (root / "photo.jpg").resolve()
    assert resolve_image(root, "sub/deep.png") == (root / "sub" / "deep.png").resolve()


def test_symlink_that_stays_inside_root_is_allowed(root):
    assert resolve_image(root, "link_in.jpg") == (root / "photo.jpg").resolve()


@pytest.mark.parametrize("name", [
    "../secret.txt",
    "sub/../../secret.txt",
    "%2e%2e/secret.txt",
    "%2e%2e%2fsecret.txt",
    "%252e%252e%252fsecret.txt",
    "..%2fsecret.txt",
    "/etc/passwd",
    "//etc/passwd",
    "..\\secret.txt",
    "sub\\..\\..\\secret.txt",
    "C:\\Windows\\win.ini",
    "C:secret.txt",
    "\\\\host\\share\\photo.jpg",
    "photo.jpg\x00.png",
    "link_out.jpg",
    "link_zero.jpg",
    "/dev/zero",
    "../root2/other.jpg",
    "pipe.jpg",
    "sub",
    ".",
    "",
    "missing.jpg",
])
def test_traps_are_refused(root, name):
    with pytest.raises(ImageNotFound):
        resolve_image(root, name)


def test_sibling_root_with_shared_prefix_is_outside(root):
    sibling = root.parent / "root2" / "other.jpg"
    with pytest.raises(ImageNotFound, match="outside"):
        resolve_image(root, str(Path("..") / "root2" / "other.jpg"))
    assert sibling.is_file()  # the file exists; only its place is wrong


def test_non_string_name_is_refused(root):
    with pytest.raises(ImageNotFound):
        resolve_image(root, None)


def test_list_images_shows_only_safe_regular_image_files(root):
    assert list_images(root) == ["link_in.jpg", "photo.jpg", "sub/deep.png"]


def test_image_root_from_environment(root, monkeypatch):
    monkeypatch.setenv("PINPOINT_IMAGE_ROOT", str(root))
    assert image_root() == root
    monkeypatch.setenv("PINPOINT_IMAGE_ROOT", str(root / "nope"))
    assert image_root() is None


def test_read_image_returns_the_bytes_of_the_file_inside(root):
    assert read_image(root, "sub/deep.png", 100) == b"png"
    assert read_image(root, "link_in.jpg", 100) == b"jpeg"
    assert read_image(root, "sub/../photo.jpg", 100) == b"jpeg"


def test_read_image_refuses_a_file_over_the_byte_cap(root):
    with pytest.raises(ImageRejected, match="3 byte limit"):
        read_image(root, "photo.jpg", 3)


@pytest.mark.parametrize("name", ["pipe.jpg", "link_out.jpg", "link_zero.jpg", "sub", "loop.jpg"])
def test_read_image_refuses_at_once_what_is_not_a_regular_file_inside(root, name):
    (root / "loop.jpg").symlink_to("loop.jpg")
    with pytest.raises(ImageNotFound):
        read_image(root, name, 100)


def test_read_image_never_reads_outside_while_a_folder_is_swapped_with_a_link_out(root):
    from tests.test_api_hardening import Swapper

    (root / "race").mkdir()
    (root / "race" / "photo.jpg").write_bytes(b"inside")
    (root.parent / "out").mkdir()
    (root.parent / "out" / "photo.jpg").write_bytes(b"outside")
    (root / "alt").symlink_to(root.parent / "out")
    seen = set()
    with Swapper(root / "race", root / "alt"):
        for _ in range(3000):
            try:
                seen.add(read_image(root, "race/photo.jpg", 100))
            except ImageNotFound:
                seen.add(b"refused")
    assert b"outside" not in seen
    assert b"inside" in seen


@pytest.mark.parametrize(("name", "message"), [
    ("photo.jpg/../" * 100 + "photo.jpg", "longer than 1024 bytes"),
    ("é" * 513, "longer than 1024 bytes"),
    ("a" * 256 + "/photo.jpg", "longer than 255 bytes"),
], ids=["dotdot-chain", "multibyte", "long-part"])
def test_long_names_are_refused_before_any_lookup(root, name, message):
    with pytest.raises(ImageNotFound, match=message):
        read_image(root, name, 100)


def test_a_name_at_the_length_limits_is_still_found(root):
    name = "./" * 503 + "sub/deep.png"
    assert len(name.encode()) <= 1024
    assert read_image(root, name, 100) == b"png"
    (root / ("b" * 251 + ".jpg")).write_bytes(b"long")
    assert read_image(root, "b" * 251 + ".jpg", 100) == b"long"
