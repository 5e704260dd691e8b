"""Request and response bodies of the REST service (they are also its OpenAPI schema)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from eccr.corpus.types import Span


class ExtractRequest(BaseModel):
    """Exactly one of ``text`` (one text) or ``texts`` (a batch)."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"text": "発熱と咳嗽を認めた。"}]}
    )

    text: str | None = Field(None, description="One text.")
    texts: list[str] | None = Field(None, description="Several texts, answered in order.")

    @model_validator(mode="after")
    def _one_of(self) -> ExtractRequest:
        if (self.text is None) == (self.texts is None):
            raise ValueError("send exactly one of 'text' (a string) or 'texts' (a list of strings)")
        return self


class SpanOut(BaseModel):
    """A concept: ``text[start:end]`` of the text sent (half-open offsets in characters, i.e. code points)."""

    start: int
    end: int
    label: str
    text: str


class Result(BaseModel):
    spans: list[SpanOut]


class ExtractResponse(BaseModel):
    model: str = Field(description="Id of the model that answered: <directory>@<fingerprint>.")
    spans: list[SpanOut] | None = Field(None, description="For a 'text' request.")
    results: list[Result] | None = Field(None, description="For a 'texts' request, in order.")


class ModelResponse(BaseModel):
    model_config = ConfigDict(extra="allow")

    model_id: str
    kind: str
    labels: list[str]
    span_labels: list[str]
    scheme: str | None = None
    versions: dict[str, str]
    runtime: str
    device: str
    limits: dict[str, Any]


def span_json(span: Span, text: str) -> dict[str, Any]:
    return {"start": span.start, "end": span.end, "label": span.label, "text": text[span.start : span.end]}
