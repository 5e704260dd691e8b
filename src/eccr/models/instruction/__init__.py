"""Instruction tuning (``--model it:<hub-id-or-path>``): a causal LM rewrites each sentence with ``@@…##``.

One concept per module:

* :mod:`~eccr.models.instruction.sentences` — documents to model inputs (sentences, offsets kept);
* :mod:`~eccr.models.instruction.representations` — the prompt and the answer formats (inline markers, JSON);
* :mod:`~eccr.models.instruction.parse` — reading generated answers, every problem counted;
* :mod:`~eccr.models.instruction.projection` — spans of an answer placed in the sentence by alignment;
* :mod:`~eccr.models.instruction.vocabulary` and :mod:`~eccr.models.instruction.constrained` — decoding that
  can only write the sentence back;
* :mod:`~eccr.models.instruction.generation` — batched, length-sorted generation and prompt lookup;
* :mod:`~eccr.models.instruction.model` — the model kind (training, prediction, saving);
* :mod:`~eccr.models.instruction.agreement` — ``eccr agreement``, the paper's Table S18.

The guide is ``docs/instruction-tuning.md``.
"""
