"""Lifetime-value models: BG/NBD purchases, Gamma-Gamma spend, P(alive) and CLV.

Model-based metrics need two steps, like natural-breaks cut points (:mod:`fenji.engine.prepass`):

1. **SQL.** :mod:`~fenji.engine.clv.summary` summarises the orders per customer at the as-of
   date — x (repeat purchase days), t_x, T and mean repeat spend — in one aggregate query run by
   the engine; millions of orders never reach Python.
2. **Python.** :mod:`~fenji.engine.clv.bgnbd` and :mod:`~fenji.engine.clv.gammagamma` fit the
   models by maximum likelihood (SciPy, vectorised NumPy over distinct summaries) with
   standard errors, and :mod:`~fenji.engine.clv.models` predicts per customer; the predictions
   go back into the engine as a table.

The package depends on NumPy and SciPy only (imported when a model is used, not by the
engine at large), never on Django. Errors are :class:`~fenji.engine.clv.errors.ModelError`
with stable codes.
"""
