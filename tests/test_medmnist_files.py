"""MedMNIST metadata, the cache folder and the real download code against a local server."""
import hashlib
import shutil
import subprocess
import sys

import numpy as np
import pytest

from exercise_logic.data import medmnist_files
from exercise_logic.data.medmnist_files import (ChecksumWarning, DatasetUnavailableError, download,
                                                ensure_file)
from exercise_logic.data.npz_format import CorruptDatasetError, read_medmnist_npz


def test_metadata_of_all_2d_datasets_without_torch_or_install_hint():
    code = ("import sys, exercise_logic.data.medmnist_files as m;"
            "info = m.medmnist_info();"
            "assert all(f in info for f in m.MEDMNIST_2D_FLAGS);"
            "assert 'torch' not in sys.modules, 'torch was imported'")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert "Please install" not in result.stdout + result.stderr
    for flag in medmnist_files.MEDMNIST_2D_FLAGS:
        for size in medmnist_files.MEDMNIST_SIZES:
            assert medmnist_files.published_url(flag, size).startswith("https://")
            assert len(medmnist_files.published_md5(flag, size)) == 32


def test_file_names_and_root_override(tmp_path, isolated_folders):
    assert medmnist_files.file_path("chestmnist") == isolated_folders / "chestmnist.npz"
    assert medmnist_files.file_path("chestmnist", 64, tmp_path) == tmp_path / "chestmnist_64.npz"
    with pytest.raises(ValueError, match="size must be one of"):
        medmnist_files.file_name("chestmnist", 32)
    with pytest.raises(ValueError, match="unknown MedMNIST dataset"):
        medmnist_files.dataset_info("chestmnist3d")


def test_download_with_matching_md5_is_written_whole(http_folder, tmp_path, chest_npz):
    folder, base = http_folder
    shutil.copy(chest_npz, folder / "chestmnist.npz")
    md5 = hashlib.md5((folder / "chestmnist.npz").read_bytes()).hexdigest()
    target = tmp_path / "cache" / "chestmnist.npz"
    download(f"{base}/chestmnist.npz", target, md5=md5, progress=False)
    assert target.read_bytes() == chest_npz.read_bytes()
    assert list(target.parent.iterdir()) == [target]


def test_download_with_wrong_md5_leaves_nothing(http_folder, tmp_path, chest_npz):
    folder, base = http_folder
    shutil.copy(chest_npz, folder / "chestmnist.npz")
    target = tmp_path / "cache" / "chestmnist.npz"
    with pytest.raises(ValueError, match="checksum mismatch"):
        download(f"{base}/chestmnist.npz", target, md5="0" * 32, progress=False)
    assert list(target.parent.iterdir()) == []


def test_loader_downloads_from_mirror_and_refuses_a_corrupt_file(http_folder, isolated_folders,
                                                                 chest_npz, monkeypatch):
    folder, base = http_folder
    shutil.copy(chest_npz, folder / "chestmnist.npz")
    monkeypatch.setenv("MEDMNIST_MIRROR", base)
    # The served file is not the published one, so its MD5 check fails.
    with pytest.raises(DatasetUnavailableError) as caught:
        ensure_file("chestmnist", progress=False)
    message = str(caught.value)
    for part in ("'chestmnist'", f"{base}/chestmnist.npz", str(isolated_folders / "chestmnist.npz"),
                 "synthetic", "checksum mismatch"):
        assert part in message
    assert list(isolated_folders.iterdir()) == []


def test_truncated_transfer_is_an_error_and_leaves_nothing(tmp_path):
    import http.server
    import threading

    class Truncating(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Length", "100000")
            self.end_headers()
            self.wfile.write(b"x" * 1000)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Truncating)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        target = tmp_path / "cache" / "chestmnist.npz"
        with pytest.raises(OSError):
            download(f"http://127.0.0.1:{server.server_address[1]}/x", target, progress=False)
        assert list(target.parent.iterdir()) == []
    finally:
        server.shutdown()
        server.server_close()


def test_offline_error_names_dataset_url_path_and_alternative(isolated_folders, monkeypatch):
    monkeypatch.setenv("MEDMNIST_MIRROR", "http://127.0.0.1:9")  # nothing listens on port 9
    with pytest.raises(DatasetUnavailableError) as caught:
        ensure_file("pneumoniamnist", 64, progress=False)
    message = str(caught.value)
    assert "'pneumoniamnist'" in message and "http://127.0.0.1:9/pneumoniamnist_64.npz" in message
    assert str(isolated_folders / "pneumoniamnist_64.npz") in message and "synthetic" in message
    with pytest.raises(DatasetUnavailableError, match="is not at"):
        ensure_file("pneumoniamnist", download_missing=False)


def test_present_file_with_other_md5_warns_but_loads(isolated_folders, chest_npz):
    shutil.copy(chest_npz, isolated_folders / "chestmnist.npz")
    with pytest.warns(ChecksumWarning, match="differs from the published"):
        path = ensure_file("chestmnist", progress=False)
    assert path == isolated_folders / "chestmnist.npz"


def test_corrupt_npz_is_reported_with_its_path(tmp_path):
    broken = tmp_path / "chestmnist.npz"
    broken.write_bytes(b"this is not a zip archive")
    with pytest.raises(CorruptDatasetError, match="chestmnist.npz is not a readable"):
        read_medmnist_npz(broken)
    partial = tmp_path / "partial.npz"
    np.savez(partial, train_images=np.zeros((2, 28, 28), np.uint8))
    with pytest.raises(CorruptDatasetError, match="lacks the arrays"):
        read_medmnist_npz(partial)
