"""Shared fixtures: `device` runs a test on "cpu" and, when minigrad.cuda.is_available()
(a GPU, or the emulated build), on "cuda" too.

MINIGRAD_TEST_WITHOUT_TORCH=1 runs the suite as on a machine without PyTorch (`import torch`
raises ImportError), so CI with PyTorch installed can prove the recorded references in
tests/fixtures/torch_reference stand in for it."""

import os
import sys

import pytest
from torch_reference import write_recorded

import minigrad

if os.environ.get("MINIGRAD_TEST_WITHOUT_TORCH") == "1":
    sys.modules["torch"] = None  # a None entry makes every later `import torch` fail

DEVICES = ["cpu"] + (["cuda"] if minigrad.cuda.is_available() else [])


@pytest.fixture(params=DEVICES)
def device(request):
    return request.param


def pytest_sessionfinish(session, exitstatus):
    write_recorded()  # MINIGRAD_RECORD_TORCH_REFERENCE=1: the recorded PyTorch results, to the fixtures
