"""Do the explanations mean anything? Metrics for explanation maps, grouped by what they test.

Every metric is a function over plain arrays (maps ``(N, H, W)`` as the methods return
them, preprocessed images ``(N, H, W, C)``), seeded, with its paper in its docstring;
settings (steps, stages, faces) are arguments, never read from the environment. Import
from the modules:

=========================================  ==============================================
module                                     what it tests
=========================================  ==============================================
:mod:`emonb.metrics.perturbation`          faithfulness: deletion and insertion curves
                                           (Petsiuk et al. 2018), faithfulness
                                           correlation (Bhatt et al. 2020)
:mod:`emonb.metrics.road`                  faithfulness without blur leakage: ROAD, noisy
                                           linear imputation (Rong et al. 2022)
:mod:`emonb.metrics.robustness`            robustness: max-sensitivity (Yeh et al. 2019)
:mod:`emonb.metrics.complexity`            complexity: sparseness (Gini; Chalasani et al.
                                           2020), entropy (Bhatt et al. 2020)
:mod:`emonb.metrics.randomization`         randomisation: cascading model randomization
                                           and data randomization (permuted labels;
                                           Adebayo et al. 2018), random logit (Sixt et
                                           al. 2020)
:mod:`emonb.metrics.sanity`                both randomization checks over every method of
                                           the registry, on the faces given
:mod:`emonb.metrics.localisation`          localisation: pointing game (Zhang et al. 2016),
                                           energy share (Wang et al. 2020)
:mod:`emonb.metrics.regions`               face regions: map mass and occlusion per region
                                           (canonical boxes or each face's own), the seed
                                           paper's claims, the layout check
:mod:`emonb.metrics.action_units`          evidence per FACS action unit: enrichment of the
                                           maps and occlusion drops per AU region of each
                                           face's mesh, per emotion, against EMFACS
:mod:`emonb.metrics.activity`              the AUs each face shows (mesh geometry, not
                                           maps) against FER-2013's labels: AUC per AU
                                           and emotion with bootstrap intervals
:mod:`emonb.metrics.stats`                 shared statistics: bootstrap intervals (of
                                           values or of clusters), Spearman, SSIM
:mod:`emonb.metrics.settings`              :class:`~emonb.metrics.settings.EvaluationSettings`:
                                           every size and knob of a map evaluation,
                                           checked, with quick mode
:mod:`emonb.metrics.suite`                 the per-face metrics as configured objects
                                           (deletion/insertion, ROAD, faithfulness
                                           correlation, max-sensitivity, random-logit,
                                           sparseness, complexity), the pointing game
:mod:`emonb.metrics.result`                :class:`~emonb.metrics.result.MapEvaluation` and
                                           its ranked table
:mod:`emonb.metrics.evaluate`              :func:`~emonb.metrics.evaluate.evaluate_maps`,
                                           which composes all of them (chapter 08, CLI)
=========================================  ==============================================
"""
