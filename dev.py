#!/usr/bin/env python3
"""Set-up and the two project commands, needing only Python 3.11 and pip.

    python3 dev.py book [--quick] [emonb book options]   build the HTML book into book/_build/html
    python3 dev.py test [pytest options]                  ruff, lint-imports (the layers), then pytest

Both create ./.venv on first use and install requirements.txt plus this package
(editable) into it; they reinstall when requirements.txt or pyproject.toml change.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PY = BIN / ("python.exe" if os.name == "nt" else "python")
STAMP = VENV / ".emonb-installed"


def _say(msg: str) -> None:
    print(f"[dev.py] {msg}", flush=True)


def _run(cmd: list[str], **kw) -> None:
    proc = subprocess.run(cmd, **kw)
    if proc.returncode != 0:
        sys.exit(proc.returncode)


def ensure_venv() -> None:
    digest = hashlib.sha256()
    for name in ("requirements.txt", "pyproject.toml"):
        digest.update((ROOT / name).read_bytes())
    want = digest.hexdigest()
    if STAMP.exists() and STAMP.read_text().strip() == want and PY.exists():
        return
    t0 = time.perf_counter()
    if not PY.exists():
        _say(f"creating {VENV.name} with {sys.executable} (Python {sys.version.split()[0]})")
        _run([sys.executable, "-m", "venv", str(VENV)])
    _say("installing requirements.txt and emonb (editable) into .venv")
    pip = [str(PY), "-m", "pip", "--disable-pip-version-check", "-q"]
    _run([*pip, "install", "--upgrade", "pip"])
    _run([*pip, "install", "-r", str(ROOT / "requirements.txt"), "-e", str(ROOT)])
    STAMP.write_text(want)
    _say(f"environment ready in {time.perf_counter() - t0:.0f} s")


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in {"book", "test", "env"}:
        print(__doc__)
        return 2
    command, rest = argv[0], argv[1:]
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
