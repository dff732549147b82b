"""The compiled module imports, reports how it was built, and handles threads."""

import pytest

import minigrad
from minigrad import _C


def test_build_info_fields():
    info = minigrad.build_info()
    assert isinstance(info["cuda"], bool)
    assert info["simd"] in ("avx512", "avx2", "generic")
    assert isinstance(info["openmp"], bool)
    assert isinstance(info["avx512_full_rate"], bool)
    assert info["simd"] == "avx512" or not info["avx512_full_rate"]
    if info["cuda"]:
        assert info["cuda_runtime"].count(".") == 1
    else:
        assert info["cuda_runtime"] is None


def test_cuda_device_count_never_fails():
    count = _C.cuda_device_count()
    assert isinstance(count, int) and count >= 0
    status = _C.cuda_status()
    assert (count > 0) == (status == "")


def test_threads_roundtrip():
    before = minigrad.get_num_threads()
    try:
        minigrad.set_num_threads(1)
        assert minigrad.get_num_threads() == 1
        minigrad.set_num_threads(3)
        assert minigrad.get_num_threads() == 3
    finally:
        minigrad.set_num_threads(before)


@pytest.mark.parametrize("bad", [0, -4])
def test_threads_reject_nonpositive(bad):
    with pytest.raises(ValueError, match="set_num_threads"):
        minigrad.set_num_threads(bad)


def _source_checkout(tmp_path, with_extension: bool):
    """A fake checkout: this package's Python files (and maybe its _C) beside csrc/ and CMakeLists.txt."""
    import os
    import shutil
    from pathlib import Path

    package = Path(minigrad.__file__).resolve().parent
    shutil.copytree(package, tmp_path / "minigrad", ignore=shutil.ignore_patterns("__pycache__", "_C*"))
    if with_extension:
        shutil.copy2(_C.__file__, tmp_path / "minigrad")
    (tmp_path / "csrc").mkdir()
    (tmp_path / "csrc" / "kernel.cpp").write_text("// a source\n")
    (tmp_path / "CMakeLists.txt").write_text("# the build\n")
    for source in (tmp_path / "csrc" / "kernel.cpp", tmp_path / "CMakeLists.txt"):
        os.utime(source, (0, 0))  # older than any build
    return tmp_path


def _import_in(root, **env):
    import os
    import subprocess
    import sys

    # An editable install's import hook would take `minigrad` from the developer's checkout
    # before sys.path is searched; the fake checkout stands for a plain install's user.
    code = ("import sys; sys.meta_path[:] = [f for f in sys.meta_path if not type(f).__module__.startswith("
            "'_editable')]; import minigrad")
    return subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(root), **env})


def test_uncompiled_source_tree_says_what_to_run(tmp_path):
    # issue 15: `python -m pytest` from the root imported ./minigrad and failed deep inside at _C
    result = _import_in(_source_checkout(tmp_path, with_extension=False))
    assert result.returncode != 0
    assert "ImportError: minigrad's compiled kernels (minigrad._C) are missing" in result.stderr
    assert "pip install" in result.stderr and "source tree" in result.stderr


def test_stale_extension_in_a_source_tree_says_what_to_run(tmp_path):
    import os
    import time

    root = _source_checkout(tmp_path, with_extension=True)
    assert _import_in(root).returncode == 0, "a fresh copy loads"
    later = time.time() + 60
    os.utime(root / "csrc" / "kernel.cpp", (later, later))
    result = _import_in(root)
    assert result.returncode != 0 and "is older than its sources (csrc/kernel.cpp changed" in result.stderr
    assert _import_in(root, MINIGRAD_ALLOW_STALE="1").returncode == 0
