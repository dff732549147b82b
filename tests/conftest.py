"""Shared fixtures: `device` runs a test on "cpu" and, when minigrad.cuda.is_available()
(a GPU, or the emulated build), on "cuda" too.

MINIGRAD_TEST_WITHOUT_TORCH=1 runs the suite as on a machine without PyTorch (`import torch`
raises ImportError), so CI with PyTorch installed can prove the recorded references in
tests/fixtures/torch_reference stand in for it.

The suite refuses to run against an installed minigrad whose Python files differ from this
checkout's (`pytest` imports the installed package, so edits would go untested)."""

import os
import sys
from pathlib import Path

import pytest
from torch_reference import write_recorded

import minigrad


def _installed_copy_differs() -> list[str]:
    """The checkout's minigrad/*.py files that the imported minigrad lacks or has otherwise
    (none when it is the checkout's own package, or a build's links to it)."""
    tree = Path(__file__).resolve().parents[1] / "minigrad"
    imported = Path(minigrad.__file__).resolve().parent
    if imported == tree or not tree.is_dir():
        return []
    differing = []
    for source in sorted(tree.rglob("*.py")):
        copy = imported / source.relative_to(tree)
        if not copy.is_file() or copy.read_bytes() != source.read_bytes():
            differing.append(str(source.relative_to(tree.parent)))
    return differing


def pytest_configure(config):
    differing = _installed_copy_differs()
    if differing:
        raise pytest.UsageError(
            f"the minigrad imported from {Path(minigrad.__file__).parent} is not this checkout's: "
            f"{len(differing)} file(s) differ ({', '.join(differing[:3])}, ...), so the tests would "
            "not test this code. Reinstall (pip install .), or use the editable install in README's "
            "Development notes, which always runs the checkout."
        )

if os.environ.get("MINIGRAD_TEST_WITHOUT_TORCH") == "1":
    sys.modules["torch"] = None  # a None entry makes every later `import torch` fail

DEVICES = ["cpu"] + (["cuda"] if minigrad.cuda.is_available() else [])


@pytest.fixture(params=DEVICES)
def device(request):
    return request.param


def pytest_sessionfinish(session, exitstatus):
    write_recorded()  # MINIGRAD_RECORD_TORCH_REFERENCE=1: the recorded PyTorch results, to the fixtures
