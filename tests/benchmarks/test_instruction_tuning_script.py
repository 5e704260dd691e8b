"""``benchmarks/instruction_tuning.py gpu --smoke``: the prepared GPU comparison runs end to end on CPU."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "benchmarks" / "instruction_tuning.py"


@pytest.mark.slow
def test_gpu_script_smoke_run_writes_every_representation(unlabeled_path, tmp_path):
    result = subprocess.run([sys.executable, str(SCRIPT), "gpu", "--smoke", "--out", str(tmp_path)],
                            capture_output=True, text=True, timeout=600, cwd=ROOT)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    data = json.loads((tmp_path / "gpu-results.json").read_text(encoding="utf-8"))
    assert {"inline-free", "inline-constrained", "json-free"} <= set(data)
    assert data["inline-constrained"]["exact_reproduction"] == 1.0
    assert data["json-free"]["exact_reproduction"] is None
    for key in ("inline-free", "inline-constrained", "json-free"):
        assert 0.0 <= data[key]["wsm_f1_p1"] <= 1.0 and data[key]["sentences_per_s"] > 0
