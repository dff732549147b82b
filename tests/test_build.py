"""The compiled module imports, reports how it was built, and handles threads."""

import pytest

import minigrad
from minigrad import _C


def test_build_info_fields():
    info = minigrad.build_info()
    assert isinstance(info["cuda"], bool)
    assert info["simd"] in ("avx512", "avx2", "generic")
    assert isinstance(info["openmp"], bool)
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
