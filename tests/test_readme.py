"""The README stays true (issue 16, item 6): its CLI reference is the commands' --help, every
environment variable the package reads is documented, set-up happens in a venv, and CI runs
exactly the README's test command."""

from __future__ import annotations

import re
import subprocess
import sys

from conftest import ROOT

README = (ROOT / "README.md").read_text(encoding="utf-8")


def test_cli_reference_is_the_current_help():
    done = subprocess.run(
        [sys.executable, str(ROOT / "tools" / "cli_reference.py"), "--check"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_a_stale_reference_is_caught():
    sys.path.insert(0, str(ROOT / "tools"))
    import cli_reference

    fresh = cli_reference.updated(README)
    assert fresh == README
    stale = README.replace("Print the version.", "Print the versoin.", 1)
    assert cli_reference.updated(stale) != stale


def test_every_environment_variable_is_documented():
    read = set()
    for file in (ROOT / "lstm_convert").rglob("*.py"):
        read.update(re.findall(r"\bLSTM_CONVERT_[A-Z_]+\b", file.read_text(encoding="utf-8")))
    assert "LSTM_CONVERT_READ_TIMEOUT" in read  # the scan works
    section = README.split("### Environment variables", 1)[1].split("\n### ", 1)[0]
    missing = sorted(name for name in read if f"`{name}`" not in section)
    assert not missing, f"not in the README's environment table: {missing}"


def test_set_up_is_in_a_venv_and_two_commands():
    setup = README.split("## Set up", 1)[1].split("\n## ", 1)[0]
    first = re.search(r"```bash\n(.*?)```", setup, flags=re.S).group(1).strip().splitlines()
    assert first[0] == "python3 -m venv .venv && . .venv/bin/activate"
    assert first[1].startswith("pip install . && lstm-convert convert") and "--force" in first[1]
    assert "minutes" in setup  # the test command's duration is stated


def test_ci_runs_exactly_the_readme_test_command():
    setup = README.split("## Set up", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```bash\n(.*?)```", setup, flags=re.S)
    command = next(b.strip() for b in blocks if "pytest" in b)
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    assert command in [line.strip() for line in ci]
