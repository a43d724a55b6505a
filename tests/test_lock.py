"""requirements.lock agrees with requirements.txt and pyproject.toml.

`python3 dev.py` installs the lock with `pip install --require-hashes` and then emonb with
`--no-deps`, so the lock alone decides what is installed: every pin of requirements.txt must
be in it at the same version, every entry pinned and hashed, and emonb's own dependencies
covered. After editing requirements.txt: `python3 dev.py lock`.
"""

import re
from pathlib import Path

import pytest
import tomllib
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parent.parent
HASH = re.compile(r"--hash=sha256:[0-9a-f]{64}")
EXTRAS = ("book", "video", "test")  # what requirements.txt installs (not bench)


def _logical_lines(text: str) -> list[str]:
    """Lines without comments, with backslash continuations joined."""
    out, current = [], ""
    for raw in text.splitlines():
        line = re.sub(r"(^|\s)#.*$", "", raw).strip()
        if line.endswith("\\"):
            current += line[:-1].strip() + " "
            continue
        current += line
        if current.strip():
            out.append(current.strip())
        current = ""
    if current.strip():
        out.append(current.strip())
    return out


def _pins(text: str, source: str) -> tuple[dict[str, str], list[str]]:
    """{normalised name: version} of `name==version` lines, and every other line as a problem."""
    pins, problems = {}, []
    for line in _logical_lines(text):
        spec = line.split(" --hash=")[0].strip()
        match = re.fullmatch(r"([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;=<>!~,]+)", spec)
        if not match:
            problems.append(f"{source}: not pinned with ==: {line[:80]}")
            continue
        name = canonicalize_name(match[1])
        if name in pins:
            problems.append(f"{source}: {name} pinned twice")
        pins[name] = match[2]
    return pins, problems


def lock_problems(requirements: str, lock: str, pyproject: str | None = None) -> list[str]:
    """Everything that keeps `lock` from being requirements.txt's hashed lock (empty if none)."""
    wanted, problems = _pins(requirements, "requirements.txt")
    locked, lock_problems_ = _pins(lock, "requirements.lock")
    problems += lock_problems_
    for name, version in wanted.items():
        if name not in locked:
            problems.append(f"{name}=={version} of requirements.txt is not in the lock")
        elif locked[name] != version:
            problems.append(
                f"{name}: requirements.txt pins {version}, the lock {locked[name]}"
            )
    for line in _logical_lines(lock):
        if re.match(r"[A-Za-z0-9]", line) and not HASH.search(line):
            problems.append(f"requirements.lock: no sha256 hash: {line.split()[0]}")
    if "://" in lock:
        problems.append("requirements.lock names an index or URL: resolve against the defaults")
    if pyproject is not None:  # emonb is installed with --no-deps: the lock must cover it
        project = tomllib.loads(pyproject)["project"]
        deps = list(project["dependencies"])
        for extra in EXTRAS:
            deps += project["optional-dependencies"][extra]
        for dep in map(Requirement, deps):
            name = canonicalize_name(dep.name)
            if name not in locked:
                problems.append(f"pyproject's {dep} is not in the lock")
            elif not dep.specifier.contains(locked[name], prereleases=True):
                problems.append(f"pyproject's {dep} excludes the locked {locked[name]}")
    return problems


def _read(name: str) -> str:
    return (ROOT / name).read_text()


def test_lock_agrees_with_requirements_and_pyproject():
    problems = lock_problems(
        _read("requirements.txt"), _read("requirements.lock"), _read("pyproject.toml")
    )
    assert not problems, "run `python3 dev.py lock`:\n" + "\n".join(problems)


def test_the_lock_pins_the_installer_and_build_backend():
    """dev.py installs the locked pip first and builds emonb with the locked setuptools."""
    locked, _ = _pins(_read("requirements.lock"), "requirements.lock")
    assert {"pip", "setuptools"} <= set(locked)


def _tamper(text: str, old: str, new: str) -> str:
    assert old in text, old
    return text.replace(old, new, 1)


@pytest.mark.parametrize(
    "change, expected",
    [
        (lambda req, lock: (req, _tamper(lock, "keras==3.15.1", "keras==3.15.0")),
         "keras: requirements.txt pins 3.15.1, the lock 3.15.0"),
        (lambda req, lock: (req + "left-pad==1.0\n", lock),
         "left-pad==1.0 of requirements.txt is not in the lock"),
        (lambda req, lock: (req, re.sub(r"(?m)^zipp==\S+ \\\n(    --hash=\S+( \\)?\n)+",
                                        "zipp==9.9 \\\n", lock)),
         "requirements.lock: no sha256 hash: zipp==9.9"),
        (lambda req, lock: (req, lock + "rich>=14\n    --hash=sha256:" + "0" * 64 + "\n"),
         "requirements.lock: not pinned with ==: rich>=14"),
        (lambda req, lock: (req, "--index-url https://example.org/simple\n" + lock),
         "requirements.lock names an index or URL"),
    ],
    ids=["other-version", "missing", "no-hash", "unpinned", "index"],
)
def test_a_stale_or_loose_lock_fails(tmp_path, change, expected):
    """The check fails on modified copies of the real files."""
    req, lock = change(_read("requirements.txt"), _read("requirements.lock"))
    (tmp_path / "requirements.txt").write_text(req)
    (tmp_path / "requirements.lock").write_text(lock)
    problems = lock_problems(
        (tmp_path / "requirements.txt").read_text(), (tmp_path / "requirements.lock").read_text()
    )
    assert any(p.startswith(expected) for p in problems), problems


def test_pyproject_outside_the_lock_fails():
    pyproject = _tamper(_read("pyproject.toml"), '"numpy>=1.26"', '"numpy>=9"')
    problems = lock_problems(_read("requirements.txt"), _read("requirements.lock"), pyproject)
    assert any("numpy>=9 excludes the locked" in p for p in problems), problems
