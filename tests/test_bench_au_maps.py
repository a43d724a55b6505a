"""benchmarks/au_maps.py in a quick mode, on the manifest's real faces (a Training-only .npz
of their crops; every face counts as happy with --threshold 0): the file it writes has the
committed benchmarks/au_maps_cpu.json's keys, both maps' regions, and a complete provenance."""

import numpy as np

from emonb.anatomy.au_maps import au_names
from emonb.records import load_json
from tests.test_benchmarks import BENCH, _script, assert_same_keys


def test_au_maps_quick(tmp_path):
    from tests.metrics.test_action_units import real_face_crops

    images = real_face_crops()[::4]
    data, out = tmp_path / "faces.npz", tmp_path / "au_maps.json"
    np.savez(data, images=images, labels=np.full(len(images), 3),
             usage=np.full(len(images), "Training"))  # fmt: skip
    argv = ["--data", str(data), "--threshold", "0", "--n-boot", "50", "--json", str(out)]
    assert _script("au_maps").main(argv) == 0
    new = assert_same_keys(out, "au_maps_cpu.json")
    old = load_json(BENCH / "au_maps_cpu.json")
    assert new["provenance"]["command"] == "benchmarks/au_maps.py " + " ".join(argv)
    assert new["data"]["sampled"] == len(images) and new["data"]["accepted"] == len(images)
    assert set(new["au12"]) == set(old["au12"]) and set(new["ms_per_face"]) == set(old["ms_per_face"])
    for m in ("appearance", "muscle"):
        assert list(new["drops"][m]) == list(au_names(m)) == list(new["areas"][m])
        assert set(new["drops"][m]["AU12"]) == {"mean", "lo", "hi"}
    # py-feat's AU12 lies on the cheek, the appearance region on the lip corners: larger
    assert new["au12"]["area_share"]["appearance"] > new["au12"]["area_share"]["muscle"]
    # the disks are made to cover py-feat's AU12 area (to a sub-pixel)
    share = new["au12"]["area_share"]
    assert abs(share["lip_corner_disks"] - share["muscle"]) < 0.1 * share["muscle"]
