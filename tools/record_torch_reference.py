"""Re-records PyTorch's reference results (tests/fixtures/torch_reference/*.npz) that let the
differential tests run without PyTorch (tests/torch_reference.py). Needs PyTorch.

    python tools/record_torch_reference.py            # every module that uses the recordings
    python tools/record_torch_reference.py -k conv    # extra arguments go to pytest

Without -k the old recordings are deleted first, so keys no test asks for any more disappear. Run
it where `pytest` finds the built package (an install, or PYTHONPATH=. after a dev build), then
check the new files into git.
"""

import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
TESTS = ROOT / "tests"
FIXTURES = TESTS / "fixtures" / "torch_reference"


def recording_modules() -> list[str]:
    """The test modules that ask for recorded PyTorch results."""
    return sorted(str(p) for p in TESTS.glob("test_*.py") if "TorchReference(__name__)" in p.read_text())


def main(argv: list[str]) -> int:
    try:
        import torch  # noqa: F401
    except ImportError:
        print("record_torch_reference: PyTorch is needed to record its results (pip install torch)", file=sys.stderr)
        return 1
    if not argv:
        for old in FIXTURES.glob("*.npz"):
            old.unlink()
    os.environ["MINIGRAD_RECORD_TORCH_REFERENCE"] = "1"  # read when tests/torch_reference.py is imported
    os.environ.pop("MINIGRAD_TEST_WITHOUT_TORCH", None)
    return int(pytest.main(["-q", "-p", "no:cacheprovider", "--rootdir", str(ROOT), *recording_modules(), *argv]))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
