"""Token classification run by ONNX Runtime (``kind: onnx``): an exported ``hf`` model for CPU deployment.

``eccr export-onnx`` (:mod:`eccr.inference.onnx_export`) turns a trained ``hf`` model directory into one of
these: ``model.onnx`` (fp32, or with dynamic int8 quantisation of the weights) with the tokenizer,
``config.json`` and ``eccr-model.json`` (kind ``onnx``, spec ``onnx:<the hf spec>``, the hf options plus
``quantization``). Everything around the forward pass — tokenisation, windows, merging by maximum context,
decoding to character spans — is the ``hf`` model's own code (this class only replaces
:meth:`~eccr.models.token_classification.TokenClassificationModel.batch_logits`), so the two kinds cannot
drift apart. Nothing here unpickles anything: an ONNX file is a protobuf graph, and no custom-op libraries
are ever registered.

An ``onnx`` model cannot be trained; train the ``hf`` model and export it.
"""

from __future__ import annotations

import contextlib
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar, Literal

import numpy as np
from pydantic import BaseModel, Field

from eccr.corpus.types import Corpus
from eccr.errors import ConfigError, Location, ModelError
from eccr.models.token_classification import TokenClassificationModel, TokenClassificationOptions

#: The graph file of an ``onnx`` model directory.
ONNX_FILE = "model.onnx"
#: Graph inputs (``position_ids`` only where the model's recipe counts positions itself) and output.
INPUT_NAMES = ("input_ids", "attention_mask", "position_ids")
OUTPUT_NAME = "logits"


class OnnxOptions(TokenClassificationOptions):
    """The ``hf`` options the model was trained with, plus how the graph was exported and runs.

    Attributes:
        quantization: ``none`` (fp32) or ``int8`` (dynamic quantisation of the weights).
        opset: ONNX opset of the exported graph.
        threads: ONNX Runtime intra-op threads (``null``: as many as torch uses, i.e. ``OMP_NUM_THREADS`` or
            the physical cores).
    """

    quantization: Literal["none", "int8"] = "none"
    opset: int = Field(18, ge=13)
    threads: int | None = Field(None, ge=1)


class OnnxTokenClassificationModel(TokenClassificationModel):
    """``onnx:<hf spec>``: the forward pass of an exported token-classification model in ONNX Runtime."""

    kind: ClassVar[str] = "onnx"
    Options: ClassVar[type[BaseModel]] = OnnxOptions
    uses_validation: ClassVar[bool] = False

    _graph: Path | None = None
    _config: Any = None

    def fit(self, train: Corpus, validation: Corpus | None = None, *, run_dir: Path | None = None) -> None:
        raise ModelError(
            "E163",
            "an onnx model is exported, not trained: train the hf model (--model hf:…) "
            "and run eccr export-onnx on it",
        )

    # --- the forward pass ----------------------------------------------------------------------------
    @contextlib.contextmanager
    def inference_mode(self) -> Iterator[None]:
        yield  # an inference session has no training mode and no autograd

    def batch_logits(self, inputs: dict[str, Any]) -> np.ndarray:
        # the graph's inputs: input_ids and attention_mask, and position_ids where the recipe counts them
        feed = {i.name: inputs[i.name].numpy().astype(np.int64, copy=False) for i in self.model.get_inputs()}
        return np.asarray(self.model.run([OUTPUT_NAME], feed)[0], dtype=np.float32)

    def _collator(self) -> Any:
        from eccr.training.collator import WindowCollator

        assert self.recipe is not None
        from_zero = self.recipe.position_rule(getattr(self._config, "model_type", None)) == "from-zero"
        return WindowCollator(self.tokenizer, position_ids=from_zero)

    def runtime(self) -> tuple[str, dict[str, str]]:
        import onnxruntime

        return "onnxruntime", {"onnxruntime": onnxruntime.__version__, "quantization": self.opts.quantization}

    def device(self) -> str:
        self._require_trained()
        return "cuda" if self.model.get_providers()[0] == "CUDAExecutionProvider" else "cpu"

    def to_device(self, device: str) -> None:
        """Recreate the session on ``device`` (``auto``: CUDA when ONNX Runtime has it, else the CPU)."""
        import onnxruntime

        available = onnxruntime.get_available_providers()
        if device == "auto":
            device = "cuda" if "CUDAExecutionProvider" in available else "cpu"
        if device.startswith("cuda") and "CUDAExecutionProvider" not in available:
            raise ConfigError(
                "E160",
                f"device {device!r} needs onnxruntime-gpu; this onnxruntime offers {', '.join(available)}",
            )
        if device != self.device():
            assert self._graph is not None
            self.model = _session(self._graph, device, self.opts.threads)

    # --- persistence ---------------------------------------------------------------------------------
    def attach(self, graph: Path, source: TokenClassificationModel) -> None:
        """Use an exported graph with the source model's tokenizer, recipe, config and labels (for export)."""
        self.labels = list(source.labels)
        self._graph, self._config = graph, source.model.config
        self.tokenizer, self.recipe = source.tokenizer, source.recipe
        self.tokenizer_record = dict(source.tokenizer_record)
        self._setup(graph, "cpu")

    def save_weights(self, directory: Path) -> None:
        """The graph, ``config.json``, the tokenizer and its record into ``directory``."""
        from eccr.models.hf_tokenizer import write_record

        self._require_trained()
        assert self._graph is not None
        if self._graph.resolve() != (directory / ONNX_FILE).resolve():
            shutil.copyfile(self._graph, directory / ONNX_FILE)
        self._config.save_pretrained(directory)
        self.tokenizer.save_pretrained(directory)
        write_record(directory, self.tokenizer_record)

    def load_weights(self, directory: Path) -> None:
        import json

        from transformers import AutoConfig

        from eccr.models.hf_tokenizer import TOKENIZER_RECORD

        graph = directory / ONNX_FILE
        if not graph.is_file():
            raise ModelError("E060", f"{directory} holds no {ONNX_FILE}", Location(file=str(directory)))
        try:
            self._config = AutoConfig.from_pretrained(str(directory), trust_remote_code=False)
        except (OSError, ValueError) as err:
            raise ModelError(
                "E062", f"cannot load the model config in {directory}: {err}", Location(file=str(directory))
            ) from None
        self._load_tokenizer(directory, self._config)
        saved = directory / TOKENIZER_RECORD
        if saved.is_file():
            self.tokenizer_record = json.loads(saved.read_text(encoding="utf-8"))
        self.allow_misaligned_tokenizer = (
            False  # as for hf: predicting on a misaligned tokenizer needs consent
        )
        self._graph = graph
        self._setup(graph, "cpu")

    def _setup(self, graph: Path, device: str) -> None:
        from eccr.align import SpecialTokens
        from eccr.models import decoders
        from eccr.models.token_classification import _scheme_from_labels

        if not self.labels:
            raise ModelError("E061", "eccr-model.json lists no labels", Location(file=str(graph.parent)))
        assert self.recipe is not None
        self.scheme = _scheme_from_labels(self.opts.scheme, self.labels, self.opts.typed)
        self.decoder = self.recipe.decoder
        if self.decoder:
            decoders.prepare_decoder_tokenizer(self.tokenizer, self._config, self.recipe)
        self.model = _session(graph, device, self.opts.threads)
        self.special = SpecialTokens.from_tokenizer(self.tokenizer)
        if self.opts.window is None:
            self._resolve_window(self._config)


def _session(graph: Path, device: str, threads: int | None) -> Any:
    """An ONNX Runtime session for ``graph`` on ``device`` with all graph optimisations."""
    import onnxruntime
    import torch

    options = onnxruntime.SessionOptions()
    options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.intra_op_num_threads = threads or torch.get_num_threads()
    options.inter_op_num_threads = 1
    providers = (
        ["CUDAExecutionProvider", "CPUExecutionProvider"]
        if device.startswith("cuda")
        else ["CPUExecutionProvider"]
    )
    try:
        return onnxruntime.InferenceSession(str(graph), sess_options=options, providers=providers)
    except Exception as err:  # onnxruntime raises its own exception types (InvalidGraph, Fail…)
        raise ModelError(
            "E062", f"cannot load the ONNX graph: {type(err).__name__}: {err}", Location(file=str(graph))
        ) from None
