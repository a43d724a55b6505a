"""Seeded synthetic "expression faces": a labelled stand-in for FER-2013.

When the real FER-2013 data is not configured, the chapters train and probe the
network on these instead. Every face is a grey 48x48 (by default) cartoon face --
oval lighter than a textured background, optional hair, dark brows, eyes (white,
dark iris and pupil, lid line), a nose hint and a mouth -- whose *facial action
cues* encode one of the seven FER-2013 classes, in FER-2013 order
(:data:`emonb.config.CLASS_NAMES`).

Class cues
----------
Each cue is applied with a random intensity ``a`` in [0.6, 1.0] (0 = neutral face,
1 = full cue), so classes overlap a little and the task is learnable but not trivial.

=========  ===================================================================  ==================
class      cue (what differs from the neutral face)                             cue regions (mask)
=========  ===================================================================  ==================
angry      brows lowered and slanted down towards the centre (V), drawn         brows, mouth
           together and thicker; lips pressed into a thin, narrower flat line
disgust    nose wrinkle (short lines across the nose bridge), flared            nose, mouth
           nostrils; upper lip raised on one side (sneer, showing teeth),
           mouth corners slightly down
fear       brows raised, flat and drawn together; eyes wide open (white         brows, eyes, mouth
           visible above and below the iris); mouth stretched horizontally,
           slightly open
happy      smile: corners curved up, mouth often open showing teeth; eyes       eyes, mouth
           narrowed into upward crescents (cheek raise)
sad        inner brow corners raised, outer ends lowered (inverted V); mouth    brows, mouth
           corners down (frown), fuller lower lip
surprise   brows high and arched; eyes wide open; mouth an open O               brows, eyes, mouth
neutral    relaxed default features; its cue regions are the brows and the      brows, mouth
           mouth, whose resting shape is what tells it apart from the others
=========  ===================================================================  ==================

Per-face variation (all from one ``numpy.random.default_rng(seed)``):

* identity: face width, height and taper, eye spacing and height, eye/iris/brow/nose/
  mouth sizes, resting brow and mouth shape, skin, hair, brow and background
  tones, hair style (none, or back hair with a fringe);
* pose: in-plane rotation within +-10 degrees, shift within +-2 px, scale
  0.9-1.1 (about the face centre), applied with :func:`cv2.warpAffine` to the
  image and to the masks alike;
* lighting: a random linear brightness gradient, global contrast (0.7-1.15) and
  brightness (+-25 grey levels); low-frequency background texture;
* blur (Gaussian, sigma 0-0.8 px) and sensor noise (Gaussian, sigma 1.5-7).

Faces are drawn 4x supersampled with anti-aliased OpenCV primitives on a canvas
with a margin, box-filtered down (``INTER_AREA``) and then warped to ``size`` px.
Geometry is specified in pixels of a 48x48 face and scales with ``size``.

Masks
-----
``region_masks[r]`` marks, for every face, the pixels of region ``r`` (one of
:data:`REGIONS`) that a cue can change: the union of the face's own feature and
of the *neutral* feature of the same identity (so a lowered brow covers both
where the brow is and where it would rest). The nose region is the nostrils and
the tip, plus the wrinkles when drawn (the bridge shadow never changes and is
left out). Masks are drawn 2x supersampled, box-filtered down, warped with the
image's affine transform (bilinear), kept where the feature covers at least half
a pixel, then dilated by 2 px (3x3 steps; scaled with ``size``), which absorbs
the blur. ``cue_masks`` is the union of the label's :data:`CUE_REGIONS`; for the
neutral class, the brows and the mouth. ``face_masks`` is the (egg-shaped) face
outline under the same transform; every region mask lies inside it.

Because the random stream does not depend on the labels when ``classes`` is
given, ``make_synthetic_faces(n, seed, classes=[c] * n)`` for different ``c``
gives the *same* faces (identity, pose, lighting, noise) with different
expressions: paired differences isolate the cue exactly.

Modules
-------
:mod:`~emonb.data.synthetic.expressions`
    the cue tables (:data:`REGIONS`, :data:`CUE_REGIONS`, neutral and expressed
    action parameters);
:mod:`~emonb.data.synthetic.variation`
    the seeded per-face draws (identity, tones, pose, lighting, noise);
:mod:`~emonb.data.synthetic.geometry`
    feature and head outlines in face px at 48;
:mod:`~emonb.data.synthetic.canvas`
    face px -> supersampled fixed-point canvas -> output image;
:mod:`~emonb.data.synthetic.render`
    drawing faces and masks with OpenCV, downsampling, warping, growing the masks;
:mod:`~emonb.data.synthetic.imaging`
    background texture, lighting, blur and noise;
:mod:`~emonb.data.synthetic.faces`
    :class:`SyntheticFaces` and :func:`make_synthetic_faces`, which composes the steps.
"""

from emonb.data.synthetic.expressions import CUE_REGIONS, REGIONS
from emonb.data.synthetic.faces import SyntheticFaces, make_synthetic_faces

__all__ = ["CUE_REGIONS", "REGIONS", "SyntheticFaces", "make_synthetic_faces"]
