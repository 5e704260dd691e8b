"""Training with the Hugging Face ``Trainer`` (imported lazily: these modules import transformers).

* :mod:`eccr.training.trainer` — :class:`~eccr.training.trainer.SpanF1Trainer` (validation = character-span
  wsm F1 at p = 1, driving best-epoch selection and early stopping), ``TrainingArguments`` from eccr options,
  checkpoint discovery for resuming.
* :mod:`eccr.training.collator` — batching token-classification windows (right padding, ``-100`` labels).
* :mod:`eccr.training.callbacks` — the ``metrics.jsonl`` log of a run.

The model that uses them is :class:`eccr.models.token_classification.TokenClassificationModel`.
"""
