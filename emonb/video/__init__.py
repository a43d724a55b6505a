"""Faces in video: detect, classify, explain, follow and auto-annotate, frame by frame.

The seed paper runs a face detector and the emotion CNN on a live stream, overlays an
activation map on each face and saves the face patches under the emotion on screen, an
automatically annotated set. Import from the module that holds each concept:

=====================================  ===================================================
concept                                module
=====================================  ===================================================
run a file or camera end to end        :mod:`emonb.video.pipeline`: :func:`analyse_video`,
(per frame: detect, classify,          :class:`VideoPipeline`, :func:`action_units`
explain, follow, draw)
what a run measured (faces,            :mod:`emonb.video.result`: :class:`VideoResult`,
timeline, table, timings, JSON)        :data:`STAGES`, :func:`write_json`
follow faces, smooth their labels      :mod:`emonb.video.tracking`: :func:`iou`,
                                       :class:`FaceTracker`, :class:`EmotionSmoother`
                                       (the smoothing rule), :class:`TrackedFace`,
                                       :func:`label_changes`
decode and write beside the model      :mod:`emonb.video.stages`: :class:`FrameReader`,
(threads, bounded queues, faults)      :class:`OutputStage`
draw on frames                         :mod:`emonb.video.draw`: :func:`annotate_frame`,
                                       :func:`blend_heatmap`, :func:`animation_frames`
read a file, manifest video or camera  :mod:`emonb.video.sources`: :func:`open_video`,
                                       :func:`iter_frames`, :func:`read_frames`,
                                       :func:`is_camera`
write video (H.264 / VP9 by suffix,    :mod:`emonb.video.writers`: :func:`open_writer`,
mp4v fallback)                         :data:`ENCODERS`, :func:`encoder_for`,
                                       :func:`ffmpeg_exe`
the auto-annotated face set, the GIF   :mod:`emonb.video.export`: :class:`FaceExporter`,
                                       :func:`exported_patches`, :func:`write_animation`
video in a web page                    :mod:`emonb.video.web`: :func:`web_videos`,
                                       :func:`video_html` (a page's ``<video>``)
real faces of the manifest's clip and  :mod:`emonb.video.real_faces`: :func:`real_faces`
photos (FER-2013-style crops)
a 1080p test clip (benchmarks)         :mod:`emonb.video.clips`: :func:`upscaled_clip`,
                                       :func:`cached_clip`
watch it live in a browser             :mod:`emonb.video.serve`: :class:`PreviewServer`
(``emonb video --serve``)              (``on_frame=server.publish``; its page:
                                       ``emonb/video/preview/``)
=====================================  ===================================================

For example::

    from emonb.video.pipeline import analyse_video

    result = analyse_video("clip.mp4", net, out="annotated.mp4", export_faces="faces/")
    result.fps, result.timings_ms()          # pipeline speed and where the time goes
"""
