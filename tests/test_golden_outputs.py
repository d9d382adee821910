"""Verification: the model's outputs are the ones recorded before a refactoring.

Each case of :mod:`tests.golden.record` (every bundled scenario, plus variants) is
run again and its Parquet files compared with the recorded ones: byte for byte when
pyarrow is the version that recorded them, and value for value (exact floats, same
dtypes and columns) always. A change that is meant to change outputs records them
again (``python -m tests.golden.record``) and says so in its commit.
"""

from __future__ import annotations

import json
from importlib.metadata import version

import pandas as pd
import pytest

from tests.golden.record import CASES, HERE, PARQUET, run_case

MANIFEST = json.loads((HERE / "manifest.json").read_text())


@pytest.mark.parametrize("case", list(CASES))
def test_outputs_are_the_recorded_ones(case, tmp_path):
    run_case(case, tmp_path)
    same_writer = MANIFEST["pyarrow"] == version("pyarrow")
    for name in PARQUET:
        recorded, new = HERE / case / name, tmp_path / name
        pd.testing.assert_frame_equal(
            pd.read_parquet(new), pd.read_parquet(recorded), check_exact=True, obj=f"{case}/{name}"
        )
        if same_writer:
            assert new.read_bytes() == recorded.read_bytes(), f"{case}/{name} differs in bytes"
