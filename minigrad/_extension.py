"""Finds minigrad._C, the compiled kernels, and says what to run when it is missing or older than
the C++/CUDA sources beside it (a source checkout), instead of failing deep inside an import or
silently running stale kernels."""

from __future__ import annotations

import os
from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent
_ROOT = _PACKAGE.parent
_DEV_INSTALL = 'pip install --no-build-isolation -Ceditable.rebuild=true -Cbuild-dir=build/editable -e ".[test]"'


def _source_tree() -> bool:
    """Whether this package is a source checkout's minigrad/ (beside csrc/ and CMakeLists.txt)."""
    return (_ROOT / "csrc").is_dir() and (_ROOT / "CMakeLists.txt").is_file()


def _newest_source() -> tuple[float, Path]:
    newest = (0.0, _ROOT)
    for folder in ("csrc", "cuda"):
        for dirpath, _, files in os.walk(_ROOT / folder):
            for name in files:
                path = Path(dirpath, name)
                newest = max(newest, (path.stat().st_mtime, path))
    cmake = _ROOT / "CMakeLists.txt"
    return max(newest, (cmake.stat().st_mtime, cmake))


def _load():
    """minigrad._C; ImportError saying what to run when it is missing, or when in a source
    checkout its sources changed after it was built (MINIGRAD_ALLOW_STALE=1 accepts that)."""
    try:
        from minigrad import _C
    except ImportError as exc:
        where = f"{_PACKAGE} is minigrad's source tree, which" if _source_tree() else f"{_PACKAGE}"
        raise ImportError(
            f"minigrad's compiled kernels (minigrad._C) are missing: {where} holds no built _C module "
            f"({exc}). Install the package with `pip install .`; to develop in this checkout, install it "
            f"editable once with `{_DEV_INSTALL}` (each import then rebuilds what changed). "
            "From the source tree, run `pytest` rather than `python -m pytest`, which puts the "
            "uncompiled ./minigrad first on sys.path when the package is installed normally."
        ) from exc
    if not _source_tree() or os.environ.get("MINIGRAD_ALLOW_STALE") == "1":
        return _C
    built = os.stat(_C.__file__).st_mtime
    changed, path = _newest_source()
    if changed > built:
        raise ImportError(
            f"minigrad._C ({_C.__file__}) is older than its sources ({path.relative_to(_ROOT)} changed "
            f"after it was built): rebuild it with `{_DEV_INSTALL}` (or `cmake --build <your build dir>` "
            "for a CMake developer build); MINIGRAD_ALLOW_STALE=1 runs it anyway."
        )
    return _C


_C = _load()
