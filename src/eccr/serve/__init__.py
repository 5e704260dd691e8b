"""The REST service: ``eccr serve`` (:mod:`eccr.serve.app`), micro-batching (:mod:`eccr.serve.batching`)."""

from eccr.serve.app import ServeSettings, create_app

__all__ = ["ServeSettings", "create_app"]
