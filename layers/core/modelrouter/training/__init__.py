"""Fitting and evaluating learned routers: the ``learn`` extra (numpy, scikit-learn, scipy, matplotlib).

Nothing here runs in Lambda: the router scores a fitted artifact with :mod:`modelrouter.learned`.
:mod:`modelrouter.training.outcomes` reads outcomes JSON Lines without numpy, so ``learn score`` and
``policy validate`` work without the extra.
"""

from __future__ import annotations
