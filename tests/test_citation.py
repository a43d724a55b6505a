"""How to cite and reuse emonb: CITATION.cff, LICENSE, and the one repository address."""

import tomllib
import yaml

from tests.conftest import ROOT

#: The keys the Citation File Format 1.2.0 requires.
CFF_REQUIRED = {"cff-version", "message", "title", "authors"}


def _pyproject() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]


def test_citation_cff_parses_and_matches_pyproject():
    cff = yaml.safe_load((ROOT / "CITATION.cff").read_text(encoding="utf-8"))
    assert CFF_REQUIRED <= set(cff), CFF_REQUIRED - set(cff)
    assert cff["cff-version"] == "1.2.0"
    assert str(cff["version"]) == _pyproject()["version"]
    assert cff["license"] == _pyproject()["license"] == "MIT"
    assert all(a.get("name") or a.get("family-names") for a in cff["authors"])
    cited = " ".join(f"{r['title']} {r['authors'][0].get('family-names', '')} {r['year']}"
                     for r in cff["references"])  # fmt: skip
    for work in ("Goodfellow 2013", "Arriaga 2017", "Kartynnik 2019", "Cheong 2023",
                 "Ekman 2002"):  # fmt: skip
        assert work in cited, work
    assert all({"type", "title", "authors", "year"} <= set(r) for r in cff["references"])


def test_repository_address_is_written_once():
    """_config.yml's repository.url is the address (the launch buttons use it); CITATION.cff
    repeats it for citers and must agree."""
    book = yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8"))
    cff = yaml.safe_load((ROOT / "CITATION.cff").read_text(encoding="utf-8"))
    url = book["repository"]["url"]
    assert url.startswith("https://github.com/") and cff["repository-code"] == url
    assert book["launch_buttons"]["binderhub_url"] and "colab_url" not in book["launch_buttons"]


def test_licence_file_is_mit():
    text = (ROOT / "LICENSE").read_text(encoding="utf-8")
    assert text.startswith("MIT License") and "Copyright (c) 2026 the emonb authors" in text


def test_binder_installs_the_lock_and_fetches():
    binder = ROOT / "binder"
    assert (binder / "runtime.txt").read_text().strip() == "python-3.11"
    lines = [ln.split("#")[0].strip() for ln in (binder / "requirements.txt").read_text().splitlines()]
    assert [ln for ln in lines if ln] == ["-r ../requirements.lock"]
    post = binder / "postBuild"
    assert post.stat().st_mode & 0o111 and "emonb fetch" in post.read_text()
