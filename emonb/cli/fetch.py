"""``emonb fetch``: download and verify the manifest's artifacts into the cache."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from emonb.cli.checks import check_output


def add_parser(sub) -> argparse.ArgumentParser:
    p = sub.add_parser("fetch", help="download and verify the manifest's artifacts into the cache")
    p.add_argument("names", nargs="*", metavar="NAME", help="artifact names (default: all)")
    p.add_argument("--cache", type=Path, default=None,
                   help="cache folder (default: $EMONB_CACHE_DIR or user cache)")  # fmt: skip
    return p


def run(args: argparse.Namespace) -> int:
    from emonb.data.manifest import fetch

    check_output(args.cache, "--cache", folder=True)
    t0 = time.perf_counter()
    paths = fetch(args.names or None, cache=args.cache, repair=True)
    print(f"{len(paths)} artifact(s) verified in {time.perf_counter() - t0:.1f} s")
    return 0
