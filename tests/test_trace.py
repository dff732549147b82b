"""autograd.trace: the hook minigrad.onnx builds its graphs from."""

import threading

import pytest

import minigrad
from minigrad.autograd import no_grad, trace


def test_trace_reports_every_op_of_this_thread_only():
    seen = []
    x = minigrad.randn(2, 3)
    other = []

    def elsewhere():
        other.append(minigrad.relu(x))

    with no_grad(), trace(lambda op, inputs, params, result: seen.append((op.__name__, inputs, params, result))):
        y = (x * 2).reshape(3, 2)
        thread = threading.Thread(target=elsewhere)
        thread.start()
        thread.join()
    minigrad.relu(x)  # after the block: not reported
    assert [name for name, *_ in seen] == ["MulOp", "ReshapeOp"]
    assert seen[0][1][0] is x and seen[1][2] == {"shape": (3, 2)} and seen[1][3] is y
    assert other  # the other thread ran its op, unreported


def test_trace_does_not_nest():
    with trace(lambda *a: None):
        with pytest.raises(RuntimeError, match="already tracing"):
            with trace(lambda *a: None):
                pass
    with trace(lambda *a: None):  # the outer block ended cleanly
        pass
