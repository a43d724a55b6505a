#!/usr/bin/env python3
"""Set-up and the two project commands, needing only Python 3.11 and pip.

    python3 dev.py book [--quick] [emonb book options]   build the HTML book into book/_build/html
    python3 dev.py test [pytest options]                  ruff, lint-imports (the layers), then pytest
    python3 dev.py env                                    only create or update ./.venv
    python3 dev.py lock [--upgrade]                       rewrite requirements.lock from requirements.txt

book, test and env create ./.venv on first use and install requirements.lock into it
(`pip install --require-hashes`: every package at its pinned version and sha256, pip itself
first), then this package (`pip install --no-deps --no-build-isolation -e .`, built by the
locked setuptools); they reinstall when requirements.lock, requirements.txt or pyproject.toml
change.

requirements.txt pins the direct dependencies; requirements.lock pins every transitive one
with its hashes, for Python 3.11 on Linux x86-64. After editing requirements.txt, `lock`
(run there) re-resolves it with pip-compile (pinned below, installed into a throwaway
venv with requirements.txt's pip) against the package registry's defaults: no pip
configuration of this machine (indexes, find-links, constraints) takes part.
"""

from __future__ import annotations

import hashlib
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PY = BIN / ("python.exe" if os.name == "nt" else "python")
STAMP = VENV / ".emonb-installed"
LOCK = ROOT / "requirements.lock"
PIP_TOOLS = "pip-tools==7.7.0"  # pip-compile, the resolver of `dev.py lock`
LOCK_ARGS = ["--generate-hashes", "--allow-unsafe", "--strip-extras", "--no-emit-index-url",
             "--no-emit-find-links", "--no-emit-trusted-host"]
PIP_KEEP = {"PIP_CERT", "PIP_CLIENT_CERT", "PIP_PROXY", "PIP_DEFAULT_TIMEOUT", "PIP_TIMEOUT",
            "PIP_RETRIES", "PIP_CACHE_DIR", "PIP_NO_CACHE_DIR", "PIP_DISABLE_PIP_VERSION_CHECK"}


def _say(msg: str) -> None:
    print(f"[dev.py] {msg}", flush=True)


def _run(cmd: list[str], **kw) -> None:
    proc = subprocess.run(cmd, **kw)
    if proc.returncode != 0:
        sys.exit(proc.returncode)


def _locked(name: str) -> str:
    """One entry of requirements.lock, hashes included, on one line."""
    entry = []
    for line in LOCK.read_text().splitlines():
        if entry and not line.startswith((" ", "\t")):
            break
        if entry or line.startswith(f"{name}=="):
            entry.append(line.split("#")[0].rstrip().rstrip("\\").strip())
    if not entry:
        sys.exit(f"dev.py: {name} is missing from {LOCK.name}: run python3 dev.py lock")
    return " ".join(part for part in entry if part)


def ensure_venv() -> None:
    digest = hashlib.sha256()
    for name in ("requirements.lock", "requirements.txt", "pyproject.toml"):
        digest.update((ROOT / name).read_bytes())
    want = digest.hexdigest()
    if STAMP.exists() and STAMP.read_text().strip() == want and PY.exists():
        return
    t0 = time.perf_counter()
    if not PY.exists():
        _say(f"creating {VENV.name} with {sys.executable} (Python {sys.version.split()[0]})")
        _run([sys.executable, "-m", "venv", str(VENV)])
    _say(f"installing {LOCK.name} (hash-checked) and emonb (editable) into .venv")
    pip = [str(PY), "-m", "pip", "--disable-pip-version-check", "-q"]
    with tempfile.TemporaryDirectory() as tmp:  # the locked pip first, then it installs the rest
        only_pip = Path(tmp) / "pip.txt"
        only_pip.write_text(_locked("pip") + "\n")
        _run([*pip, "install", "--require-hashes", "-r", str(only_pip)])
    _run([*pip, "install", "--require-hashes", "-r", str(LOCK)])
    _run([*pip, "install", "--no-deps", "--no-build-isolation", "-e", str(ROOT)])
    STAMP.write_text(want)
    _say(f"environment ready in {time.perf_counter() - t0:.0f} s")


def write_lock(options: list[str]) -> None:
    """requirements.txt -> requirements.lock, resolved by the pinned pip-tools in a throwaway venv.

    pip-compile keeps the versions an existing lock has where requirements.txt allows them;
    `--upgrade` (or `--upgrade-package NAME`) re-resolves to the newest allowed.
    """
    if (sys.version_info[:2], sys.platform, platform.machine()) != ((3, 11), "linux", "x86_64"):
        sys.exit("dev.py lock: the lock is for Python 3.11 on Linux x86-64: run it there "
                 f"(this is Python {sys.version.split()[0]} on {sys.platform} {platform.machine()})")
    pins = dict(line.split("#")[0].strip().split("==") for line in
                (ROOT / "requirements.txt").read_text().splitlines() if "==" in line.split("#")[0])
    with tempfile.TemporaryDirectory(prefix="emonb-lock-") as tmp:
        venv = Path(tmp) / "venv"
        tools = [f"pip=={pins['pip']}", PIP_TOOLS]  # requirements.txt's pip resolves it
        _say(f"installing {' '.join(tools)} into a throwaway venv")
        _run([sys.executable, "-m", "venv", str(venv)])
        _run([str(venv / "bin/python"), "-m", "pip", "--disable-pip-version-check", "-q",
              "install", *tools])
        # The package registry's defaults only: no pip configuration file of this machine and
        # none of its PIP_* settings that choose packages (indexes, find-links, constraints).
        env = {k: v for k, v in os.environ.items() if not k.startswith("PIP_") or k in PIP_KEEP}
        env |= {"PIP_CONFIG_FILE": os.devnull, "CUSTOM_COMPILE_COMMAND": "python3 dev.py lock"}
        _say("resolving requirements.txt (a minute or two)")
        _run([str(venv / "bin/pip-compile"), "--quiet", *LOCK_ARGS, *options,
              "--output-file", LOCK.name, "requirements.txt"], cwd=ROOT, env=env)
    pinned = [line for line in LOCK.read_text().splitlines() if "==" in line.split(" ")[0]]
    _say(f"wrote {LOCK.name}: {len(pinned)} packages, each with its sha256 hashes")


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in {"book", "test", "env", "lock"}:
        print(__doc__)
        return 2
    command, rest = argv[0], argv[1:]
    if command == "lock":
        write_lock(rest)
        return 0
    ensure_venv()
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    t0 = time.perf_counter()
    if command == "book":
        _run([str(BIN / "emonb"), "fetch"], cwd=ROOT, env=env)
        _run([str(BIN / "emonb"), "book", *rest], cwd=ROOT, env=env)
        _say(
            f"book built in {time.perf_counter() - t0:.0f} s: open {ROOT / 'book/_build/html/index.html'}"
        )
    elif command == "test":
        _run([str(PY), "-m", "ruff", "check", "emonb", "tests", "dev.py"], cwd=ROOT, env=env)
        _run([str(BIN / "lint-imports")], cwd=ROOT, env=env)  # pyproject's layer contract
        _run([str(PY), "-m", "pytest", *rest], cwd=ROOT, env=env)
        _say(f"tests done in {time.perf_counter() - t0:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
