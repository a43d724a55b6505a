"""Faces in video: detect, classify, explain, follow and auto-annotate, frame by frame.

The seed paper runs a face detector and the emotion CNN on a live stream, overlays an
activation map on each face and saves the face patches under the emotion on screen, an
automatically annotated set. Import from the module that holds each concept:

=====================================  ===================================================
concept                                module
=====================================  ===================================================
run a file or camera end to end        :mod:`emonb.video.pipeline`: :func:`analyse_video`,
(per frame: detect, classify,          :class:`VideoPipeline`, :class:`VideoResult`
explain, follow, draw; timings)        (faces, timeline, table, JSON), :data:`STAGES`
follow faces, smooth their labels      :mod:`emonb.video.tracking`: :func:`iou`,
                                       :class:`FaceTracker`, :class:`EmotionSmoother`
                                       (the smoothing rule), :class:`TrackedFace`,
                                       :func:`label_changes`
decode and write beside the model     :mod:`emonb.video.stages`: :class:`FrameReader`,
(threads, bounded queues, faults)      :class:`OutputStage`
draw on frames                         :mod:`emonb.video.draw`: :func:`annotate_frame`,
                                       :func:`blend_heatmap`, :func:`animation_frames`
read video, write results              :mod:`emonb.video.io`: :func:`open_video`,
                                       :func:`iter_frames`, :func:`read_frames`,
                                       :class:`FaceExporter` (the auto-annotated patches),
                                       :func:`exported_patches`, :func:`write_animation`,
                                       :func:`write_json`; :func:`open_writer` (H.264 /
                                       VP9 by suffix, mp4v fallback), :func:`web_videos`,
                                       :func:`video_html` (a page's ``<video>``)
a 1080p test clip (benchmarks)         :mod:`emonb.video.clips`: :func:`upscaled_clip`,
                                       :func:`cached_clip`
watch it live in a browser             :mod:`emonb.video.serve`: :class:`PreviewServer`
(``emonb video --serve``)              (``on_frame=server.publish``)
=====================================  ===================================================

For example::

    from emonb.video.pipeline import analyse_video

    result = analyse_video("clip.mp4", net, out="annotated.mp4", export_faces="faces/")
    result.fps, result.timings_ms()          # pipeline speed and where the time goes
"""
