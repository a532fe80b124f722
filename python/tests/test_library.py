# SPDX-License-Identifier: MIT
"""Loading the library, versions, and the ctypes mirrors of digit.h's structs."""

import ctypes
import ctypes.util
import os
import re
import shutil
import subprocess

import pytest

import digit
from conftest import REPO
from digit import _capi


def header_version():
    text = (REPO / "include" / "digit.h").read_text()
    parts = [re.search(rf"#define DIGIT_VERSION_{p} (\d+)", text).group(1)
             for p in ("MAJOR", "MINOR", "PATCH")]
    return ".".join(parts)


def test_version_and_presets():
    assert digit.version() == header_version()
    assert digit.__version__ == header_version()
    assert digit.presets() == ["basic", "compact", "strong", "speedrun"]
    assert digit.library_path()


def test_explicit_missing_library_is_a_clear_error(tmp_path):
    before = digit.library_path()
    missing = tmp_path / "nope" / "libdigit.so"
    with pytest.raises(digit.LibraryError, match="make -j2 all") as e:
        digit.load_library(missing)
    assert str(missing) in str(e.value)
    assert digit.library_path() == before  # the library in use is unchanged


def test_a_library_that_is_not_libdigit_is_refused():
    libc = ctypes.util.find_library("c")
    if not libc:
        pytest.skip("no libc to load")
    with pytest.raises(digit.LibraryError, match="not libdigit"):
        digit.load_library(libc)


def test_library_from_environment(monkeypatch):
    before = digit.library_path()
    built = REPO / "build" / "libdigit.so"
    monkeypatch.setenv("DIGIT_LIBRARY", str(built))
    try:
        digit.load_library()
        assert digit.library_path() == str(built)
        with digit.Model("compact") as m:
            assert m.param_count == 31898
        monkeypatch.setenv("DIGIT_LIBRARY", "/nonexistent/libdigit.so")
        with pytest.raises(digit.LibraryError, match="/nonexistent/libdigit.so"):
            digit.load_library()
    finally:
        monkeypatch.delenv("DIGIT_LIBRARY")
        digit.load_library(before)


def test_train_options_struct_size_matches():
    o = _capi.default_options(_capi.library(), b"basic")
    assert o.struct_size == ctypes.sizeof(_capi.TrainOptions)


def header_structs():
    """Every struct digit.h declares, e.g. "digit_layer_info"."""
    text = (REPO / "include" / "digit.h").read_text()
    return re.findall(r"^typedef struct (digit_\w+) \{", text, re.M)


def mirror(cname):
    """The ctypes class in _capi for a struct: digit_layer_info -> LayerInfo."""
    name = "".join(part.capitalize() for part in cname[len("digit_"):].split("_"))
    return getattr(_capi, name, None)


def test_every_struct_has_a_ctypes_mirror():
    structs = header_structs()
    assert len(structs) >= 7
    missing = [c for c in structs if mirror(c) is None]
    assert not missing, f"digit.h structs with no ctypes mirror in digit/_capi.py: {missing}"


def compiler():
    """A C compiler; in CI its absence is a failure, not a skip."""
    cc = shutil.which("cc") or shutil.which("gcc") or shutil.which("clang")
    if not cc:
        if os.environ.get("CI"):
            pytest.fail("no C compiler to read digit.h's layout (CI must have one)")
        pytest.skip("no C compiler to read digit.h's layout")
    return cc


def test_struct_layouts_match_the_header(tmp_path):
    """Every field's offset and every struct's size, as the C compiler sees
    digit.h, equals the ctypes mirror."""
    cc = compiler()
    structs = {c: mirror(c) for c in header_structs() if mirror(c) is not None}
    lines = ["#include <stdio.h>", "#include <stddef.h>", '#include "digit.h"',
             "int main(void) {"]
    for cname, cls in structs.items():
        lines.append(f'printf("{cname} size %zu\\n", sizeof({cname}));')
        for field, _ in cls._fields_:
            lines.append(f'printf("{cname} {field} %zu\\n", offsetof({cname}, {field}));')
    lines += ["return 0;", "}"]
    src = tmp_path / "layout.c"
    src.write_text("\n".join(lines))
    exe = tmp_path / "layout"
    subprocess.run([cc, "-std=c11", f"-I{REPO / 'include'}", str(src), "-o", str(exe)],
                   check=True, capture_output=True)
    out = subprocess.run([str(exe)], check=True, capture_output=True, text=True).stdout
    seen = 0
    for line in out.splitlines():
        cname, field, value = line.split()
        cls = structs[cname]
        want = ctypes.sizeof(cls) if field == "size" else getattr(cls, field).offset
        assert int(value) == want, f"{cname}.{field}: C says {value}, ctypes {want}"
        seen += 1
    assert seen == sum(len(c._fields_) + 1 for c in structs.values())


def test_struct_sizes_are_checked():
    """A struct_size the library does not know is refused with a message
    naming the argument, as the header promises."""
    lib = _capi.library()
    with digit.Model("compact") as m, m._use() as h:
        info = _capi.sized(_capi.LayerInfo)
        info.struct_size = 3
        with pytest.raises(digit.ArgumentError, match="digit_model_layer: out: struct_size 3"):
            _capi.check(lib, lib.digit_model_layer(h, 0, ctypes.byref(info)))
