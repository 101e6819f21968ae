"""The tree stays ruff-clean (lint and format), as the README's test command promises.

ruff comes with the test extra; it is run through this interpreter, so the test never
depends on what happens to be on PATH and is never silently skipped.
"""

import subprocess
import sys

import pytest
from conftest import ROOT


@pytest.mark.parametrize("args", [["check", "."], ["format", "--check", "."]])
def test_ruff(args):
    result = subprocess.run(
        [sys.executable, "-m", "ruff", *args], cwd=ROOT, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr
