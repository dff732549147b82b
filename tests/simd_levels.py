"""The SIMD levels below this CPU's: MINIGRAD_SIMD caps the level at import, so tests of
the lower kernels run them in a subprocess with it set."""

import subprocess
import sys
from pathlib import Path

import pytest
from train_utils import same_minigrad_env

from minigrad import _C

LOWER_LEVELS = {"avx512": ["avx2", "generic"], "avx2": ["generic"], "generic": []}


def skip_unless_below_native(level: str) -> None:
    """Skip the calling test unless `level` is below the level this CPU runs."""
    native = _C.build_info()["simd"]
    if level not in LOWER_LEVELS[native]:
        pytest.skip(f"this CPU runs {native}; {level} is not below it")


def run_tests_at_level(level: str, test_file: str, selection: str, tmp_path: Path, timeout: int = 300) -> str:
    """Run the tests of test_file that `-k selection` picks in a subprocess capped at `level`
    (skipping the caller unless it is below this CPU's); assert they all passed, return the output."""
    skip_unless_below_native(level)
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(Path(test_file)), "-k", selection]
    proc = subprocess.run(command, env={**same_minigrad_env(), "MINIGRAD_SIMD": level}, cwd=tmp_path,
                          capture_output=True, text=True, timeout=timeout)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    assert " passed" in proc.stdout and "failed" not in proc.stdout
    return proc.stdout
