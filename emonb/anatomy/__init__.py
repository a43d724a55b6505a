"""Faces as anatomy: geometry only. :mod:`emonb.anatomy.layout` holds the canonical layout of
an aligned 48x48 face (boxes for brows, eyes, nose and mouth); :mod:`emonb.anatomy.regions`
rasterises FACS action-unit and anatomical regions on each face's 468-point mesh;
:mod:`emonb.anatomy.activity` measures the action units each face shows from its mesh. The
detectors and the mesh are :mod:`emonb.faces`; the measures on these regions (enrichment,
agreement, occlusion) are :mod:`emonb.metrics`."""
