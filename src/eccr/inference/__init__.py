"""Deployment: the :class:`Extractor` API, batch prediction engines, ONNX export.

>>> from eccr.inference import Extractor  # doctest: +SKIP
>>> Extractor.load("models/crf").extract("発熱と咳嗽を認めた。")  # doctest: +SKIP
[Span(0, 2, 'concept'), Span(3, 5, 'concept')]
"""

from eccr.inference.extractor import DocumentResult, Extractor, ModelInfo

__all__ = ["DocumentResult", "Extractor", "ModelInfo"]
