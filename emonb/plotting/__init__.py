"""Figures, one module per topic of the book; import each helper from its module.

========================== ==================================================================
module                     what it draws
========================== ==================================================================
:mod:`~.images`            ``overlay`` (pure: array in, uint8 RGB out), ``plot_image_grid``,
                           ``save_figure`` and ``DPI`` (300); the colour look-up helpers
:mod:`~.data`              class samples, preprocessing stages, face boxes, probabilities
                           (chapter 00)
:mod:`~.training`          training histories, epoch curves, confusion matrix, speed
                           benchmark (chapters 01, 02, 90)
:mod:`~.activations`       feature maps, filters, per-layer heatmaps, activation histograms
                           (chapter 03)
:mod:`~.maps`              explanation maps over the face and the seed paper's Figure 1
                           (chapters 04, 05)
:mod:`~.stable`            what makes a saved figure the same bytes twice (no date, no
                           version, a fixed SVG salt)
:mod:`~.video`             probabilities over time, HOG orientation histograms (chapter 07)
:mod:`~.metrics`           faithfulness: ranking, deletion/insertion curves, randomization
                           checks, face-region importance (chapter 08)
========================== ==================================================================

Every helper takes ``ax=None`` (or builds its own Figure) and returns the Axes or Figure it
drew on. The library never calls ``plt.show()`` and writes files only through
:func:`emonb.plotting.images.save_figure`. Nothing is re-exported here: write
``from emonb.plotting.images import overlay``.
"""
