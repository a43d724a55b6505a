"""Faces in images: where they are and where their parts are.

=====================================  ===================================================
concept                                module
=====================================  ===================================================
a face box, its crop, face crops       :mod:`emonb.faces.box`: :class:`Box`, :func:`crop`,
                                       :func:`is_face_crop`
find faces (one entry point)           :mod:`emonb.faces.detect`: :func:`find_faces`,
                                       :data:`DETECTORS`, :data:`DEFAULT_DETECTOR`
OpenCV's Haar cascade                  :mod:`emonb.faces.haar`: :func:`detect_faces`
MediaPipe's BlazeFace detector         :mod:`emonb.faces.blazeface`: :class:`BlazeFace`
the 468-point face mesh                :mod:`emonb.faces.mesh`: :class:`FaceMesh`,
                                       :class:`Landmarks`
the LiteRT runtime of both models      :mod:`emonb.faces.lite`: :class:`LiteModel`
drawing boxes and landmarks            :mod:`emonb.faces.draw`: :func:`draw_landmarks`
=====================================  ===================================================

The geometry on a face (the canonical 48x48 layout, action-unit and anatomical regions on
the mesh) is :mod:`emonb.anatomy`; the measures on it are in :mod:`emonb.metrics`.
The most used names are importable from here.
"""

from emonb.faces.box import CROP_ASPECT, CROP_SCALE, Box, crop, is_face_crop
from emonb.faces.detect import DEFAULT_DETECTOR, DETECTORS, find_faces
from emonb.faces.haar import detect_faces, largest_face

__all__ = ["CROP_ASPECT", "CROP_SCALE", "DEFAULT_DETECTOR", "DETECTORS", "Box", "crop",
           "detect_faces", "find_faces", "is_face_crop", "largest_face"]  # fmt: skip
