"""Activation maximisation: what image does the network *want to see*?

Gradient ascent on the input image (Erhan et al. 2009; Simonyan et al. 2014) towards a
class score or one channel of a layer, from noise or from a given face, with
natural-image priors so the result is not adversarial high-frequency noise (Mahendran &
Vedaldi 2016; Olah et al. 2017). One concept per module:

- :mod:`emonb.featviz.objectives` -- what is maximised: :class:`Objective`,
  :class:`ClassObjective` (a class logit or probability), :class:`FilterObjective` (the
  mean activation of one channel);
- :mod:`emonb.featviz.regularizers` -- the priors: :class:`Regularizer`,
  :class:`TotalVariation`, :class:`L2`, :class:`Jitter`, :class:`Blur`, and the default
  sets ``DEFAULT_REGULARIZERS`` (classes) and ``FILTER_REGULARIZERS`` (channels);
- :mod:`emonb.featviz.parametrization` -- :class:`FourierParametrization`, the
  decorrelated spectrum the image can be optimised as;
- :mod:`emonb.featviz.optimize` -- :class:`ActivationMaximization` (the optimiser; the
  model runs through :class:`emonb.models.runner.Runner`) and its :class:`Result`;
- :mod:`emonb.featviz.masks` -- :func:`mask_regions`, faces with regions of the canonical
  layout (:data:`emonb.anatomy.layout.FACE_REGIONS`) greyed out, as starting images;
- :mod:`emonb.featviz.filters` -- post-filters for display (:func:`unsharp_mask`,
  :func:`contrast`, :func:`emboss`, :func:`offset`, :func:`apply_postfilters`).

Import from the modules (``from emonb.featviz.optimize import ActivationMaximization``);
this package re-exports nothing.
"""
