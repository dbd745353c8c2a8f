"""Serving: training and publishing the recommenders and search index, fold-in retraining, A/B serving.

The API and the CLI are thin shells over this package: :func:`train_recommenders`, :func:`retrain`,
:class:`~shopsense.serving.runtime.ModelHolder` (hot reload), :func:`~shopsense.serving.ab.report_ab`.
"""

from shopsense.serving.ab import ab_bucket, report_ab
from shopsense.serving.training import RECOMMENDER, SEARCH, TrainResult, retrain, train_all, train_recommenders

__all__ = ["RECOMMENDER", "SEARCH", "TrainResult", "ab_bucket", "report_ab", "retrain", "train_all",
           "train_recommenders"]
