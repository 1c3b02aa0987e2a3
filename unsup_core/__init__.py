"""unsup_core: neural unsupervised learning in pure PyTorch, numpy and pandas.

The library never imports dagster or mlflow; the ``pipelines`` package wires it into an
orchestrated, tracked pipeline.
"""

__version__ = "0.1.0"
