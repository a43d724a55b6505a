"""emonb.bench's provenance: what makes a recorded file's checkout count as dirty."""

from emonb.bench import code_changes, provenance


def test_recorded_results_do_not_make_a_checkout_dirty():
    status = "\n".join([
        " M benchmarks/landmarks_cpu.json",  # the previous benchmark's output
        "M  benchmarks/video_pipeline.py",
        " M emonb/video/io.py",
        'R  old.py -> "new name.py"',
        "?? notes.txt",
    ])  # fmt: skip
    assert code_changes(status) == ["benchmarks/video_pipeline.py", "emonb/video/io.py",
                                    "new name.py", "notes.txt"]  # fmt: skip
    assert code_changes(" M benchmarks/a.json\n M benchmarks/b.json\n") == []
    # git's output stripped: the first line has lost its leading space (a bug this caught)
    assert code_changes("M benchmarks/a.json\n M benchmarks/b.json") == []
    assert code_changes("MM emonb/cli.py") == ["emonb/cli.py"]
    assert code_changes("") == []


def test_provenance_names_command_commit_date_and_machine():
    prov = provenance(["benchmarks/x.py", "--json", "out file.json"])
    assert prov["command"] == "benchmarks/x.py --json 'out file.json'"
    assert len(prov["commit"]) == 40 and isinstance(prov["dirty"], bool)
    assert prov["date"].endswith("+00:00") and prov["machine"]["cpus"] >= 1
