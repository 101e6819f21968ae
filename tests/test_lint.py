"""The tree stays ruff-clean (lint and format), as the README's test command promises."""

import shutil
import subprocess

import pytest
from conftest import ROOT

ruff = shutil.which("ruff")


@pytest.mark.skipif(ruff is None, reason="ruff is installed by the test extra")
@pytest.mark.parametrize("args", [["check", "."], ["format", "--check", "."]])
def test_ruff(args):
    result = subprocess.run([ruff, *args], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
