"""Shared fixtures: `device` runs a test on "cpu" and, when minigrad.cuda.is_available()
(a GPU, or the emulated build), on "cuda" too."""

import pytest

import minigrad

DEVICES = ["cpu"] + (["cuda"] if minigrad.cuda.is_available() else [])


@pytest.fixture(params=DEVICES)
def device(request):
    return request.param
