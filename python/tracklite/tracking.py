"""``mlflow.tracking``'s common names: ``from tracklite.tracking import
MlflowClient`` works as it does with MLflow."""

from __future__ import annotations

from ._tracking import get_tracking_uri, is_tracking_uri_set, set_tracking_uri
from .client import MlflowClient

__all__ = ["MlflowClient", "get_tracking_uri", "is_tracking_uri_set", "set_tracking_uri"]
