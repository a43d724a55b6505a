"""emonb.book.performance: the video pipeline's tables and notes in the file format before the
resolutions and after."""



def _video_mode(fps, **ms):
    return {"fps_median": fps, "fps_min": fps - 1, "fps_max": fps + 1,
            "ms_per_frame_of_median_run": {**ms, "total": round(1000 / fps, 2)}}  # fmt: skip


#: benchmarks/video_pipeline.py's file before the resolutions: summary[mode], one clip.
OLD_VIDEO = {
    "resolution": "640x360", "repeat": 1, "video": "pexels-video",
    "summary": {"annotate": _video_mode(25.0, read=1.5, detect=6.0, export=0.0),
                "annotate + export": _video_mode(20.0, read=1.5, detect=6.0, export=6.0)},
    "runs": {"annotate": [{"fps": 25.0, "ms_per_frame": {"read": 1.5, "total": 40.0}}]},
}  # fmt: skip


def _new_video(threaded: bool | None = None, wait: bool = False) -> dict:
    extra = {"wait": 2.0} if wait else {}
    summary = {"640x360": {"annotate": _video_mode(32.0, read=1.5, detect=6.0, **extra),
                           "annotate + export": _video_mode(28.0, read=1.5, detect=6.0,
                                                            export=3.0)},
               "1920x1080": {"annotate": _video_mode(12.5, read=9.0, detect=8.0),
                             "annotate + export": _video_mode(10.0, read=9.0, detect=8.0,
                                                              export=20.0)}}  # fmt: skip
    run = {"fps": 32.0, "ms_per_frame": {"read": 1.5, **extra}}
    if threaded is not None:
        run["threaded"] = threaded
    return {
        "label": "after: threaded", "video": "pexels-video",
        "resolutions": ["640x360", "1920x1080"], "repeat": 1, "target_fps": 30,
        "clips": {"640x360": {"description": "pexels-video as it is", "frames": 472,
                              "fps": 23.976, "source": "pexels-video"},
                  "1920x1080": {"description": "pexels-video upscaled", "frames": 472,
                                "fps": 23.976, "source": "pexels-video"}},
        "summary": summary,
        "runs": {res: {mode: [run] for mode in by_mode} for res, by_mode in summary.items()},
    }  # fmt: skip


def test_video_table_reads_the_file_before_the_resolutions_as_640x360():
    from emonb.book.performance import video_table

    table = video_table(OLD_VIDEO)
    assert list(table.index) == [("640x360", "annotate"), ("640x360", "annotate + export")]
    assert table.index.names == ["resolution", "mode"]
    assert list(table.columns) == ["frames/s (median)", "frames/s (min)", "frames/s (max)",
                                   "read (ms)", "detect (ms)", "export (ms)",
                                   "total (ms)"]  # fmt: skip
    assert table.loc[("640x360", "annotate + export"), "export (ms)"] == 6.0
    assert table.loc[("640x360", "annotate"), "frames/s (median)"] == 25.0
    older = {k: v for k, v in OLD_VIDEO.items() if k != "resolution"}  # the clip was 640x360
    assert list(video_table(older).index.get_level_values(0)) == ["640x360"] * 2


def test_video_table_has_a_row_per_resolution_and_mode_and_every_stage_reported():
    from emonb.book.performance import video_table

    table = video_table(_new_video(wait=True))
    assert list(table.index) == [(r, m) for r in ("640x360", "1920x1080")
                                 for m in ("annotate", "annotate + export")]  # fmt: skip
    # stages as the runs report them (a stage one mode lacks is empty there), total last
    assert list(table.columns[3:]) == ["read (ms)", "detect (ms)", "wait (ms)", "export (ms)",
                                       "total (ms)"]  # fmt: skip
    assert table.loc[("1920x1080", "annotate + export"), "export (ms)"] == 20.0
    assert table.loc[("640x360", "annotate"), "wait (ms)"] == 2.0
    assert table["wait (ms)"].isna().sum() == 3
    assert table.loc[("1920x1080", "annotate"), "frames/s (min)"] == 11.5


def test_video_notes_speak_of_threads_only_when_the_file_does():
    from emonb.book.performance import video_notes, video_threaded

    assert video_notes(OLD_VIDEO) == "" and not video_threaded(OLD_VIDEO)
    plain = video_notes(_new_video())
    assert "thread" not in plain.lower() and not video_threaded(_new_video(threaded=False))
    assert "* **1920x1080**: pexels-video upscaled; 472 frames at 23.976 frames/s." in plain
    assert "keeps up in 640x360 annotate (32); not in the others." in plain
    for result in (_new_video(threaded=True), _new_video(wait=True)):
        assert video_threaded(result)
        assert "read, write and export stages run on their own threads" in video_notes(result)
        assert "do not add up to the total" in video_notes(result)
    assert "`wait` is the time" in video_notes(_new_video(wait=True))
    assert "`wait`" not in video_notes(_new_video(threaded=True))
    slow = _new_video()
    slow["target_fps"] = 60
    assert "no median run keeps up" in video_notes(slow)


def test_video_settings_name_the_resolutions_in_either_format():
    from emonb.book.performance import video_settings

    old = video_settings(OLD_VIDEO)["setting"]
    assert old["resolutions"] == "640x360" and "label" not in old and old["repeat"] == 1
    new = video_settings(_new_video())["setting"]
    assert new["resolutions"] == "640x360, 1920x1080" and new["label"] == "after: threaded"
    assert new["target_fps"] == 30


def _maps_result():
    engine = {"engine": "in-process", "workers": 1, "tasks": 2, "side_wait_seconds": 4.04}
    return {
        "runs": [
            {"engine_given": "in-process", "engine": engine, "wall_seconds": 100.0,
             "evaluation_seconds": 90.0,
             "seconds": {"saliency": {"maps": 2.0, "curves": 5.0}, "rise": {"maps": 8.0},
                         "randomization": 20.0, "pointing": 12.0, "action_units": 3.0}},
            {"engine_given": "local:2", "engine": {**engine, "engine": "dask", "workers": 2, "tasks": 9},
             "wall_seconds": 70.0, "evaluation_seconds": 55.0,
             "seconds": {"saliency": {"maps": 3.0, "curves": 6.0}, "randomization": 24.0}},
        ],
        "equality": [{"engine": "local:2", "numbers": 1234, "largest_difference": 2e-7}],
        "estimate": {"seconds": {"1": 90.0, "2": 55.5, "4": 40.0}},
    }  # fmt: skip


def test_evaluation_tables_of_the_map_benchmark():
    from emonb.book.performance import evaluation_estimate, evaluation_runs, evaluation_stages

    result = _maps_result()
    runs = evaluation_runs(result)
    assert list(runs.index) == ["in-process", "local:2"]
    assert runs["workers"].tolist() == [1, 2] and runs["tasks"].dtype.kind == "i"
    assert runs.loc["local:2", "workers"] == 2 and runs.loc["local:2", "largest difference"] == 2e-7
    import pandas as pd

    assert pd.isna(runs.loc["in-process", "numbers compared"])  # the reference
    assert runs.loc["local:2", "numbers compared"] == 1234 and runs["numbers compared"].dtype == "Int64"

    stages = evaluation_stages(result)
    assert stages.loc["maps", "in-process"] == 10.0  # saliency's and rise's maps summed
    assert stages.loc["curves", "local:2"] == 6.0
    assert stages.loc["pointing", "in-process"] == 12.0 and stages.loc["pointing", "local:2"] == 0.0
    assert stages.loc["randomization", "local:2"] == 24.0
    assert runs.loc["in-process", "waited for the side tasks (s)"] == 4.0  # rounded
    assert stages.loc["action_units", "in-process"] == 3.0
    est = evaluation_estimate(result)
    assert est.loc[4, "estimated evaluation (s)"] == 40.0
    assert evaluation_estimate({**result, "estimate": None}) is None


def _evaluation(n: int, half_widths: dict[str, float], au_half: float) -> dict:
    """An evaluate-maps result of ``n`` faces: two methods, each metric's interval
    ``mean +- half width`` (the second method's twice the first's), one AU interval."""
    rows = []
    for k, (method, mean) in enumerate((("occlusion", 0.4), ("gradcam", 0.2))):
        row = {"method": method}
        for metric, half in half_widths.items():
            lo, hi = ("lo", "hi") if metric == "insertion - deletion" else (f"{metric} lo", f"{metric} hi")
            row.update({metric: mean, lo: mean - half * (k + 1), hi: mean + half * (k + 1)})
        rows.append(row)
    return {"table": rows,
            "settings": {"n": n, "road_faces": 100, "robustness_faces": 16, "au_faces": n - 10},
            "action_units": {"au_map": "appearance", "appearance": {"occlusion": {
                "happy": {"AU12": {"mean": 0.2, "lo": 0.2 - au_half, "hi": 0.2 + au_half}}}}}}  # fmt: skip


def test_whole_split_gain_is_the_median_width_ratio_per_metric():
    from emonb.book.performance import whole_split_gain, whole_split_ranking

    sample = _evaluation(500, {"insertion - deletion": 0.03, "ROAD (LeRF - MoRF)": 0.05}, 0.04)
    whole = _evaluation(3589, {"insertion - deletion": 0.01, "ROAD (LeRF - MoRF)": 0.05}, 0.01)
    gain = whole_split_gain(sample, whole)
    assert list(gain.index) == ["insertion - deletion", "ROAD (LeRF - MoRF)", "AU occlusion drop"]
    # widths 0.06 and 0.12 (median 0.09) against 0.02 and 0.04 (median 0.03)
    row = gain.loc["insertion - deletion"]
    assert (row["faces (sample)"], row["faces (whole)"]) == (500, 3589)
    assert row["median width (sample)"] == 0.09 and row["median width (whole)"] == 0.03
    assert row["width ratio"] == 3.0
    assert gain.loc["ROAD (LeRF - MoRF)", "width ratio"] == 1.0  # the same 100 faces in both
    assert gain.loc["ROAD (LeRF - MoRF)", "faces (whole)"] == 100
    assert gain.loc["AU occlusion drop", "width ratio"] == 4.0
    assert gain.loc["AU occlusion drop", "faces (whole)"] == 3579

    ranking = whole_split_ranking(sample, whole)
    assert list(ranking.index) == ["occlusion", "gradcam"]
    assert ranking["3589 faces: width"].tolist() == [0.02, 0.04]
    assert ranking["500 faces: rank"].tolist() == [1, 2]
    # 0.4 - 0.03 = 0.37 > 0.2 + 0.06 on 500 faces; the last method has no next one
    assert ranking.loc["occlusion", "500 faces: apart from the next"] == True  # noqa: E712
    assert pd_isna(ranking.loc["gradcam", "3589 faces: apart from the next"])


def pd_isna(v) -> bool:
    import pandas as pd

    return bool(pd.isna(v))
