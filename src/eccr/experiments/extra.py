"""Extra training documents from another corpus, minus those that overlap a fold's held-out documents.

``extra_train`` in an experiment config (``eccr experiment run --extra-train``) adds the documents of a second
corpus to every fold's training split. Corpora built from the same sources share documents —
MRNER-disease's 50 case reports *are* MedTxt-CR documents — so adding them blindly would train on the test
documents. The rule, per fold:

1. the extra documents that duplicate or share a sentence with one of the fold's **test** documents are
   removed (:func:`eccr.corpus.overlap.remove_overlapping`, whose docstring states what counts as shared);
2. of the rest, those that overlap a **validation** document are removed too, so early stopping and tuning
   are not steered by a copy of their own data;
3. the remaining documents join the training split. An extra document whose id is already used by a
   training document is added as ``extra:<id>`` (only the training split sees these documents).

What was offered, removed (by kind and by split, with the held-out ids each removed document matched) and
used is written to the fold's ``fold.json`` under ``extra_train``.

>>> from eccr.corpus.types import Corpus, Document
>>> test = Corpus([Document("t1", "胸部ＣＴで両側肺野にすりガラス影を認めた。")])
>>> extra = Corpus([Document("e1", "胸部CTで両側肺野にすりガラス影を認めた。"), Document("e2", "頭痛なし。")])
>>> train, added = add_extra_training(Corpus([Document("a", "発熱。")]), extra, held_out=(test,))
>>> list(train.ids), added.to_dict()["used"], added.to_dict()["removed"]
(['a', 'e2'], 1, 1)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from eccr.corpus.overlap import OverlapReport, remove_overlapping
from eccr.corpus.types import Corpus, Document

#: Prefix given to an extra document whose id a training document already uses.
RENAMED_PREFIX = "extra:"

#: The held-out splits checked, in order, and their names in ``fold.json``.
HELD_OUT_NAMES = ("test", "validation")


@dataclass(frozen=True)
class ExtraTraining:
    """What :func:`add_extra_training` did for one fold.

    Attributes:
        source: where the extra corpus came from.
        offered: extra documents before any removal.
        removed: per held-out split (``test``, ``validation``), the overlap report of the documents removed
            because of it.
        used: ids (as added to the training split) of the extra documents used.
    """

    source: str | None
    offered: int
    removed: tuple[tuple[str, OverlapReport], ...]
    used: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        """The ``extra_train`` entry of ``fold.json``: counts first, then the removed documents."""
        removed = {name: report for name, report in self.removed}
        return {
            "source": self.source,
            "offered": self.offered,
            "removed": sum(len(r.overlaps) for r in removed.values()),
            "used": len(self.used),
            "removed_by_split": {
                name: {kind: report.counts()[kind] for kind in ("duplicate", "shared-sentence")}
                for name, report in removed.items()
            },
            "renamed": sum(i.startswith(RENAMED_PREFIX) for i in self.used),
            "removed_documents": {
                name: [o.to_dict() for o in report.overlaps] for name, report in removed.items()
            },
        }


def add_extra_training(
    train: Corpus, extra: Sequence[Document], *, held_out: Sequence[Sequence[Document]]
) -> tuple[Corpus, ExtraTraining]:
    """``train`` with the documents of ``extra`` that overlap no held-out document, and what was done.

    Args:
        train: the fold's training split.
        extra: the extra corpus (all its documents are candidates).
        held_out: the fold's test split, then (optionally) its validation split; overlaps are removed
            against each in turn (see the module docstring).
    """
    candidates = list(extra)
    removed: list[tuple[str, OverlapReport]] = []
    for name, documents in zip(HELD_OUT_NAMES, held_out, strict=False):
        candidates, report = remove_overlapping(candidates, documents)
        removed.append((name, report))
    taken = set(train.ids)
    added = [
        doc if doc.id not in taken else Document(RENAMED_PREFIX + doc.id, doc.text, doc.spans, doc.meta)
        for doc in candidates
    ]
    source = getattr(extra, "source", None)
    return (
        Corpus([*train, *added], source=train.source),
        ExtraTraining(source, len(list(extra)), tuple(removed), tuple(d.id for d in added)),
    )
