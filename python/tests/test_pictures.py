# SPDX-License-Identifier: MIT
"""Pictures through the library's own image calls: JPEG and PNG files and
bytes, raw arrays of every layout, PIL images; and the same 28x28 input in
Python, in digitc (Swift) and for every layout of one picture."""

import io
import json
import os
import subprocess

import numpy as np
import pytest
from PIL import Image

import digit
from test_digitc import find_digitc


def page(digit_pixels, size=(300, 220), at=(90, 40), scale=4, tint=(235, 228, 210)):
    """An MNIST digit drawn dark on a larger tinted page, unevenly lit."""
    h, w = size[1], size[0]
    y, x = np.mgrid[0:h, 0:w]
    light = 1.0 - 0.25 * x / w  # 25% falloff from left to right
    rgb = np.stack([np.full((h, w), c, np.float64) for c in tint], axis=-1) * light[..., None]
    ink = np.kron(digit_pixels.astype(np.float64) / 255, np.ones((scale, scale)))
    ih, iw = ink.shape
    region = rgb[at[1]:at[1] + ih, at[0]:at[0] + iw]
    region *= (1 - 0.85 * ink)[..., None]
    return np.clip(rgb, 0, 255).astype(np.uint8)


@pytest.fixture(scope="module")
def photos(tmp_path_factory, test_set):
    """(path, label, rgb array) of JPEG and PNG pages of MNIST test digits."""
    folder = tmp_path_factory.mktemp("photos")
    out = []
    for i in range(6):
        rgb = page(test_set.images[i])
        for ext, fmt in (("jpg", "JPEG"), ("png", "PNG")):
            path = folder / f"page{i}.{ext}"
            Image.fromarray(rgb).save(path, fmt, **({"quality": 85} if fmt == "JPEG" else {}))
            out.append((path, int(test_set.labels[i]), rgb))
    return out


def test_jpeg_and_png_files_and_bytes(photos):
    right = 0
    with digit.Model.default() as model:
        for path, label, _ in photos:
            pixels, report = digit.inspect_image(path)
            assert report.format == ("jpeg" if path.suffix == ".jpg" else "png")
            assert report.size == (300, 220) and report.orientation == 1
            assert report.marks == 1 and report.warnings == ()
            from_bytes = digit.decode_image(path.read_bytes())
            np.testing.assert_array_equal(from_bytes, pixels)
            right += model.classify(path) == label
            assert model.classify(path.read_bytes()) == model.classify(path)
    assert right >= len(photos) - 1


def test_every_layout_of_one_picture_gives_one_input(photos):
    path, _, _ = next(p for p in photos if p[0].suffix == ".png")
    want = digit.load_image(path)
    rgb = np.asarray(Image.open(path).convert("RGB"))
    layouts = {
        "rgb u8": rgb,
        "rgba u8": np.dstack([rgb, np.full(rgb.shape[:2], 255, np.uint8)]),
        "rgb u16": rgb.astype(np.uint16) * 257,
        "rgb float": rgb.astype(np.float32) / 255,
        "rgb float64": rgb.astype(np.float64) / 255,
        "strided view": np.pad(rgb, ((0, 0), (0, 5), (0, 0)))[:, :300],
        "PIL RGB": Image.open(path).convert("RGB"),
        "PIL RGBA": Image.open(path).convert("RGBA"),
    }
    for name, picture in layouts.items():
        np.testing.assert_array_equal(digit.preprocess(picture), want, err_msg=name)


def test_model_input_arrays_are_not_pictures(test_images):
    # MNIST-shaped arrays go to the model as they are; other shapes are pictures.
    with digit.Model.default() as model:
        assert model.predict(test_images[:3]).shape == (3, 10)
        assert model.predict(test_images[0]).shape == (1, 10)
        wide = np.kron(255 - test_images[0], np.ones((3, 3), np.uint8))  # 84x84, dark ink
        assert model.predict(wide).shape == (10,)
        assert model.classify(wide) == model.classify(test_images[0:1])[0]


def test_pictures_are_byte_identical_in_python_and_digitc(photos):
    exe = find_digitc()
    if exe is None:
        if os.environ.get("CI"):
            pytest.fail("no digitc for the cross-front-end test (CI builds it first)")
        pytest.skip("no digitc: run `swift build`")
    files = [str(p) for p, _, _ in photos]
    out = subprocess.run([str(exe), "classify", "--json", *files], capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    records = [json.loads(line) for line in out.stdout.splitlines()]
    assert [r["file"] for r in records] == files
    for record, path in zip(records, files):
        swift = np.array(record["input"], dtype=np.uint8)
        np.testing.assert_array_equal(swift, digit.load_image(path), err_msg=path)


def test_bad_pictures_name_the_problem(tmp_path):
    bad = tmp_path / "notes.jpg"
    bad.write_bytes(b"\xff\xd8\xff\xe0" + b"\x00" * 40)  # a JPEG that ends at once
    with pytest.raises(digit.FormatError) as e:
        digit.load_image(bad)
    assert str(bad) in str(e.value)
    with pytest.raises(digit.FormatError, match="<memory>"):
        digit.decode_image(b"hello, not an image")
    with pytest.raises(digit.ImageError):
        digit.preprocess(np.full((50, 60, 3), 200, np.uint8))  # blank paper
    with pytest.raises(ValueError, match="shape"):
        digit.preprocess(np.zeros((4, 4, 7), np.uint8))
    with pytest.raises(TypeError, match="uint8, uint16 or float"):
        digit.preprocess(np.zeros((40, 40), np.int32))
    buf = io.BytesIO()
    Image.new("CMYK", (64, 64), (0, 0, 0, 0)).save(buf, "JPEG")
    with pytest.raises(digit.FormatError, match="CMYK"):
        digit.decode_image(buf.getvalue())
