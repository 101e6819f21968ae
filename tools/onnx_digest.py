"""SHA-256 of the ONNX bytes written for every fixture, to prove a refactor changes nothing.

    python tools/onnx_digest.py --write /tmp/before.json      # on the old code
    python tools/onnx_digest.py --compare /tmp/before.json    # on the new code; exit 1 on a change

Each fixture file is converted through the public API without the parity check (the check does
not change the graph), once per option set in OPTION_SETS, into a temporary folder. The digest
covers the exact bytes of the written `.onnx` (the hand-written protobuf writer included).
Files the converter refuses are recorded with their error class, so a refusal that starts or
stops is a change too.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OPTION_SETS: dict[str, dict] = {
    "default": {},
    "half": {"bias_split": "half"},
    "state_io": {"state_io": True},
}


def digests(only: str | None = None) -> dict[str, str]:
    from lstm_convert.api import convert
    from lstm_convert.errors import ConvertError

    manifest = json.loads((ROOT / "tests" / "fixtures" / "manifest.json").read_text())
    out: dict[str, str] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for entry in manifest:
            config = ROOT / entry["config"] if entry.get("config") else None
            for file in entry["files"]:
                if only and only not in file:
                    continue
                for label, options in OPTION_SETS.items():
                    target = Path(tmp) / "out.onnx"
                    target.unlink(missing_ok=True)
                    key = f"{file} [{label}]"
                    try:
                        convert(
                            ROOT / file,
                            target,
                            verify=False,
                            config_path=config,
                            force=True,
                            **options,
                        )
                        out[key] = hashlib.sha256(target.read_bytes()).hexdigest()
                    except ConvertError as exc:
                        out[key] = f"refused: {type(exc).__name__}"
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument("--write", type=Path, help="write the digests to this JSON file")
    group.add_argument("--compare", type=Path, help="compare with digests written earlier")
    parser.add_argument("--only", help="only fixture files whose path contains this text")
    args = parser.parse_args()
    now = digests(args.only)
    if args.write:
        args.write.write_text(json.dumps(now, indent=1, sort_keys=True) + "\n")
        print(f"{len(now)} conversions digested into {args.write}")
        return 0
    before = json.loads(args.compare.read_text())
    if args.only:
        before = {k: v for k, v in before.items() if args.only in k}
    changed = sorted(k for k in before.keys() | now.keys() if before.get(k) != now.get(k))
    for key in changed:
        print(f"CHANGED {key}: {before.get(key)} -> {now.get(key)}")
    print(f"{len(now)} conversions, {len(changed)} changed")
    return 1 if changed else 0


if __name__ == "__main__":
    sys.exit(main())
