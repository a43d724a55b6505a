"""What activation maximisation maximises: a class score or one channel of a layer.

An :class:`Objective` reads the scores and the recorded leaf outputs of one run of
:meth:`emonb.models.runner.Runner.run` and returns one number per image. It declares the
run it needs (:attr:`Objective.score`: a final softmax bypassed or not, and the layers it
reads, :meth:`Objective.keep`); the runner makes every substitution, the objective none.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from emonb._tf import tf
from emonb.errors import EmonbError
from emonb.featviz.regularizers import DEFAULT_REGULARIZERS, FILTER_REGULARIZERS
from emonb.models import graph
from emonb.models.targets import resolve_targets

if TYPE_CHECKING:
    from emonb.featviz.regularizers import Regularizer
    from emonb.models.runner import Runner, Score

__all__ = ["ClassObjective", "FilterObjective", "Objective", "as_objective"]


class Objective:
    """What to maximise: a function of the runner's scores and the recorded layer outputs.

    Subclasses implement :meth:`__call__`; :meth:`bind` validates the objective against a
    model's :class:`~emonb.models.runner.Runner` (and may cache what it needs).
    :attr:`score` tells which run the objective reads: ``"logit"`` (a final softmax
    bypassed for the run) or ``"probability"`` (the model's own function).

    References
    ----------
    Erhan, Bengio, Courville & Vincent 2009, "Visualizing higher-layer features of a deep
    network"; Olah, Mordvintsev & Schubert 2017, "Feature Visualization" (Distill).
    """

    #: The runner's score for the optimisation run (see :class:`~emonb.models.runner.Runner`).
    score: Score = "probability"

    def bind(self, runner: Runner) -> None:
        """Check the objective against ``runner``'s model; raise :class:`EmonbError` if it
        does not fit."""

    def keep(self) -> tuple[str, ...]:
        """Qualified names of the layers whose own outputs :meth:`__call__` reads."""
        return ()

    def __call__(self, scores, record: dict) -> tf.Tensor:
        """Values to maximise, shape (N,), from the runner's ``scores`` (N, n_classes) and
        ``record`` (qualified layer name -> output)."""
        raise NotImplementedError

    def describe(self) -> str:
        """A short label for figure titles."""
        return type(self).__name__

    def default_regularizers(self) -> tuple[Regularizer, ...]:
        """The priors used when none are given. Penalty weights are in the objective's
        units, so objectives of different scale need different defaults."""
        return DEFAULT_REGULARIZERS


class ClassObjective(Objective):
    """Maximise one class score: the pre-softmax logit (default) or the probability.

    Parameters
    ----------
    target
        Class index or name (``"fear"``), parsed by
        :func:`emonb.models.targets.resolve_targets`.
    score
        ``"logit"``: the input of a final softmax (the runner bypasses the softmax for the
        run, or computes the layer with a linear activation). ``"probability"``: the
        softmax output (which can also rise by lowering the other classes; Simonyan et al.
        2014 advise the logit for that reason).

    References
    ----------
    Simonyan, Vedaldi & Zisserman 2014, "Deep inside convolutional networks: visualising
    image classification models and saliency maps" (ICLR workshop).
    """

    SCORES = ("logit", "probability")

    def __init__(self, target: int | str, score: Score = "logit") -> None:
        if score not in self.SCORES:
            raise EmonbError(f"unknown score {score!r}; choose one of {', '.join(self.SCORES)}")
        self.target = target
        self.score = score
        self.index: int | None = None
        self.class_name: str | None = None
        self._softmax = False  # apply a softmax to the scores (a model without one)

    def bind(self, runner: Runner) -> None:
        t = self.target
        if isinstance(t, bool) or not isinstance(t, (int, np.integer, str)):
            raise EmonbError(f"a class target is an int or a name, not {t!r}")
        if isinstance(t, str) and t == "predicted":
            raise EmonbError("a class target is an int or a name; 'predicted' needs an image")
        names = runner.class_names
        self.index = int(resolve_targets(t, 1, names)[0])
        self.class_name = names[self.index]
        last = list(graph.iter_layers(runner.net.model))[-1][1]
        self._softmax = self.score == "probability" and not graph.is_softmax(last)

    def __call__(self, scores, record: dict) -> tf.Tensor:
        if self.index is None:
            raise EmonbError("ClassObjective is not bound to a model (call bind(runner) first)")
        if self._softmax:
            scores = tf.nn.softmax(scores, axis=-1)
        return scores[:, self.index]

    def describe(self) -> str:
        return f"{self.class_name or self.target} ({self.score})"


class FilterObjective(Objective):
    """Maximise the mean activation of one channel (filter) of a layer.

    Parameters
    ----------
    layer
        Qualified layer name (``"block/conv1"``), unique bare name, or index into
        :func:`emonb.models.graph.iter_layers`.
    filter
        Channel index (last axis of the layer's output).

    Notes
    -----
    The mean of a *linear* convolution (no activation, e.g. mini-Xception's ``conv2d_1``,
    followed by batch norm and a ReLU) depends on little more than the mean grey level
    when its kernel sums to about 0, so maximising it is nearly degenerate; target the
    activation layer that follows (``activation_1``) to see the pattern the unit detects.
    Channel means are of order 1, much smaller than class logits, so the default priors
    (:data:`~emonb.featviz.regularizers.FILTER_REGULARIZERS`) are lighter than for classes.

    References
    ----------
    Erhan, Bengio, Courville & Vincent 2009, "Visualizing higher-layer features of a deep
    network"; Olah, Mordvintsev & Schubert 2017, "Feature Visualization" (Distill).
    """

    def __init__(self, layer: str | int, filter: int) -> None:  # noqa: A002 (the paper's word)
        self.layer = layer
        self.filter = filter
        self.name: str | None = None
        self.channels: int | None = None

    def bind(self, runner: Runner) -> None:
        name, _ = graph.find_layer(runner.net.model, self.layer)
        channels = int(runner.output_shape(name)[-1])
        f = self.filter
        if not isinstance(f, (int, np.integer)) or isinstance(f, bool) or not 0 <= f < channels:
            raise EmonbError(
                f"filter {f!r} is out of range for layer {name!r}, which has {channels} "
                f"channels: valid filters are 0..{channels - 1}"
            )
        self.name, self.channels = name, channels

    def keep(self) -> tuple[str, ...]:
        return () if self.name is None else (self.name,)

    def __call__(self, scores, record: dict) -> tf.Tensor:
        if self.name is None:
            raise EmonbError("FilterObjective is not bound to a model (call bind(runner) first)")
        a = record[self.name][..., int(self.filter)]
        return tf.reduce_mean(tf.reshape(a, (tf.shape(a)[0], -1)), axis=1)

    def describe(self) -> str:
        return f"{self.name or self.layer} filter {self.filter}"

    def default_regularizers(self) -> tuple[Regularizer, ...]:
        return FILTER_REGULARIZERS


def as_objective(objective: Objective | int | str) -> Objective:
    """``objective`` itself, or a :class:`ClassObjective` on the logit of a class index or name."""
    if isinstance(objective, Objective):
        return objective
    if isinstance(objective, (int, str, np.integer)) and not isinstance(objective, bool):
        return ClassObjective(objective)
    raise EmonbError(
        f"an objective is an Objective, a class index or a class name, not {objective!r}"
    )
