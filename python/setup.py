# SPDX-License-Identifier: MIT
"""The build step of the digit wheel (see pyproject.toml for the rest).

Besides the Python files, the wheel carries what the package needs to run
with no checkout and no environment variables: libdigit, built by `make` in
the repository root (a no-op when build/ is up to date), as
digit/_lib/libdigit.so.MAJOR, and the shipped model as digit/_data/. The
version, the soname and the model's name are read from include/digit.h, the
one place they are written. The wheel is tagged for this platform only,
since the library inside is native code.
"""

import os
import re
import shutil
import subprocess
from pathlib import Path

from setuptools import Distribution, setup
from setuptools.command.build_py import build_py

try:
    from setuptools.command.bdist_wheel import bdist_wheel
except ImportError:  # setuptools < 70.1
    from wheel.bdist_wheel import bdist_wheel

REPO = Path(__file__).resolve().parent.parent
HEADER = REPO / "include" / "digit.h"


def header_macro(name: str) -> str:
    """The value of `#define NAME value` in digit.h, quotes removed."""
    if not HEADER.is_file():
        raise SystemExit(f"setup.py: {HEADER} is missing; build the wheel from a "
                         "libdigit checkout (pip wheel ./python)")
    m = re.search(rf"^#define {name} (\S+)", HEADER.read_text(), re.M)
    if not m:
        raise SystemExit(f"setup.py: {HEADER} does not define {name}")
    return m.group(1).strip('"')


MAJOR = header_macro("DIGIT_VERSION_MAJOR")
VERSION = ".".join([MAJOR, header_macro("DIGIT_VERSION_MINOR"),
                    header_macro("DIGIT_VERSION_PATCH")])


class BuildWithLibrary(build_py):
    """build_py, then libdigit and the shipped model copied into the package."""

    def run(self) -> None:
        super().run()
        jobs = os.environ.get("DIGIT_MAKE_JOBS", "2")
        subprocess.run(["make", "-C", str(REPO), f"-j{jobs}", "all"], check=True)
        package = Path(self.build_lib) / "digit"
        self.place(REPO / "build" / f"libdigit.so.{VERSION}",
                   package / "_lib" / f"libdigit.so.{MAJOR}")
        model = header_macro("DIGIT_DEFAULT_MODEL_FILE")
        self.place(REPO / "models" / model, package / "_data" / model)

    @staticmethod
    def place(source: Path, target: Path) -> None:
        if not source.is_file():
            raise SystemExit(f"setup.py: {source} is missing after make")
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, target)


class NativeDistribution(Distribution):
    """Holds native code (libdigit), so the wheel is a platform wheel with
    the package at its root, although no extension module is compiled."""

    def has_ext_modules(self) -> bool:
        return True


class PlatformWheel(bdist_wheel):
    """py3-none-<platform>: any Python 3 (ctypes, no C API), but only this
    platform's libdigit."""

    def get_tag(self) -> tuple:
        _, _, platform = super().get_tag()
        return "py3", "none", platform


setup(version=VERSION, distclass=NativeDistribution, cmdclass={"build_py": BuildWithLibrary, "bdist_wheel": PlatformWheel})
