"""Serving: the composition root (:class:`~shopsense.serving.workspace.Workspace`), the one training pipeline
(:func:`~shopsense.serving.pipeline.train_all`), the one erasure (:func:`~shopsense.serving.erasure.erase_user`),
fold-in retraining, hot reload and A/B serving. The API and the CLI are thin shells over this package.
"""

from shopsense.serving.ab import ab_bucket, report_ab
from shopsense.serving.pipeline import PipelineResult, TrainOptions, train_all
from shopsense.serving.training import RECOMMENDER, SEARCH, TrainResult, retrain, train_recommenders

__all__ = ["RECOMMENDER", "SEARCH", "PipelineResult", "TrainOptions", "TrainResult", "ab_bucket", "report_ab",
           "retrain", "train_all", "train_recommenders"]
