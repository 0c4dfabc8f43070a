"""Brain-Score's behavioural readout for the ``probabilities`` task, written for this toolkit.

Brain-Score's own model commitment (``ModelCommitment`` with ``ProbabilitiesMapping`` in
``brainscore_vision/model_helpers/brain_transformation/behavior.py``) answers
``start_task(BrainModel.Task.probabilities, fitting_stimuli)`` like this: it records its behavioural
readout layer on the fitting stimuli (one row of features per stimulus), standardises every feature
(scikit-learn's ``StandardScaler``, fitted on the fitting stimuli), and fits a multinomial logistic
regression (``LogisticRegression``, solver ``newton-cg``, ``C = 1e-3``) to the stimuli's
``image_label``, each distinct label a class in the order it first appears. ``look_at`` then returns the
regression's ``predict_proba`` on the new stimuli as a ``BehavioralAssembly`` of presentation x choice,
with the labels as the ``choice`` coordinate.

:class:`ProbabilitiesReadout` is that readout; the toolkit's Brain-Score model
(:func:`topoanalysis.brain.adapter.brain_model`) feeds it its committed IT layer's firing rates,
recorded as for a neural recording.

Brain-Score asks scikit-learn for the multinomial model with ``multi_class='multinomial'``, deprecated
since scikit-learn 1.5 and removed in 1.8. Without it, three or more labels get the multinomial model
anyway; two labels get the binary logistic model, whose fit equals the two-class multinomial one at
twice the ``C`` (the multinomial penalty splits the weight difference between two opposite vectors,
halving its squared norm). So this readout passes ``2 C`` for two labels and matches Brain-Score's on
any scikit-learn version.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from ..errors import InputError

BRAINSCORE_C = 1e-3
"""The inverse regularisation strength of Brain-Score's ``ProbabilitiesMapping`` classifier."""


class ProbabilitiesReadout:
    """A standardised multinomial logistic regression from features to labels, as Brain-Score fits it.

    Parameters
    ----------
    c : float
        Inverse regularisation strength of the multinomial model (Brain-Score's: :data:`BRAINSCORE_C`).

    Attributes
    ----------
    choices : list
        The labels, in the order they first appear in the fitting labels; the columns of
        :meth:`predict_proba`.

    Examples
    --------
    >>> readout = ProbabilitiesReadout().fit(np.array([[0.0, 1], [1, 0], [0, 2], [2, 0]]), ["b", "a", "b", "a"])
    >>> readout.choices
    ['b', 'a']
    >>> readout.predict_proba(np.array([[0.0, 3]])).argmax(axis=1).tolist()
    [0]
    """

    def __init__(self, c: float = BRAINSCORE_C) -> None:
        self.c = float(c)
        self.choices: list = []
        self._scaler = None
        self._classifier = None

    def fit(self, features: np.ndarray, labels: Sequence) -> ProbabilitiesReadout:
        """Fit on ``features`` (stimuli x units) and one label per stimulus; returns ``self``."""
        from sklearn.linear_model import LogisticRegression
        from sklearn.preprocessing import StandardScaler

        features, labels = np.asarray(features, dtype=float), np.asarray(labels)
        if features.ndim != 2 or len(features) != len(labels):
            raise InputError(f"the readout needs one row of features per label: got features of shape "
                             f"{features.shape} for {len(labels)} labels")
        self.choices = pd.unique(pd.Series(labels)).tolist()
        if len(self.choices) < 2:
            raise InputError(f"the fitting stimuli carry {len(self.choices)} distinct image_label; a choice between "
                             "labels needs at least two: pass fitting stimuli of two or more labels")
        index = {label: i for i, label in enumerate(self.choices)}
        self._scaler = StandardScaler().fit(features)
        c = 2 * self.c if len(self.choices) == 2 else self.c  # the binary model at 2 C is the 2-class multinomial
        self._classifier = LogisticRegression(solver="newton-cg", C=c).fit(
            self._scaler.transform(features), np.array([index[label] for label in labels]))
        return self

    def predict_proba(self, features: np.ndarray) -> np.ndarray:
        """Each stimulus's probability of each label: ``(stimuli, len(choices))``, rows summing to 1."""
        if self._classifier is None:
            raise RuntimeError("fit the readout before predicting")
        return self._classifier.predict_proba(self._scaler.transform(np.asarray(features, dtype=float)))
