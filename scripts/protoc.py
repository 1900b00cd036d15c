"""Regenerate the gRPC code in seinhuis/v1 from proto/ (settings in pyproject.toml).

With --check, generate into a temporary folder and fail when the committed code differs.
"""

from __future__ import annotations

import argparse
import filecmp
import shutil
import sys
import tempfile
import tomllib
from pathlib import Path

from grpc_tools import protoc

ROOT = Path(__file__).resolve().parent.parent
INIT = '"""Generated gRPC code for seinhuis.v1. Do not edit: run `make proto`."""\n'


def _settings() -> dict[str, str]:
    with (ROOT / "pyproject.toml").open("rb") as f:
        return dict(tomllib.load(f)["tool"]["seinhuis"]["protoc"])


def generate(out_root: Path) -> Path:
    """Generate the package under out_root and return the package folder."""
    s = _settings()
    proto_root = ROOT / s["proto_root"]
    sources = sorted((ROOT / s["sources"]).glob("*.proto"))
    package = out_root / s["generated_package"]
    package.mkdir(parents=True, exist_ok=True)
    grpc_include = Path(protoc.__file__).parent / "_proto"
    bindir = Path(sys.executable).parent
    args = [
        "protoc",
        f"--plugin=protoc-gen-mypy={bindir / 'protoc-gen-mypy'}",
        f"--plugin=protoc-gen-mypy_grpc={bindir / 'protoc-gen-mypy_grpc'}",
        f"-I{proto_root}",
        f"-I{grpc_include}",
        f"--python_out={out_root}",
        f"--grpc_python_out={out_root}",
        f"--mypy_out={out_root}",
        f"--mypy_grpc_out={out_root}",
        *[str(p) for p in sources],
    ]
    if protoc.main(args) != 0:
        raise SystemExit("protoc failed")
    (package / "__init__.py").write_text(INIT)
    (package / "py.typed").write_text("")
    return package


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--check", action="store_true", help="fail if committed code is stale")
    args = parser.parse_args()
    committed = ROOT / _settings()["generated_package"]
    if not args.check:
        if committed.exists():
            shutil.rmtree(committed)
        generate(ROOT / _settings()["out"])
        print(f"generated {committed.relative_to(ROOT)}")
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        fresh = generate(Path(tmp))
        names = sorted(p.name for p in fresh.iterdir())
        have = sorted(p.name for p in committed.iterdir()) if committed.exists() else []
        _, mismatch, errors = filecmp.cmpfiles(fresh, committed, names, shallow=False)
        stale = sorted(set(mismatch) | set(errors) | (set(have) ^ set(names)) - {"__pycache__"})
        if stale:
            print("generated code is stale; run `make proto`: " + ", ".join(stale))
            return 1
    print("generated code is up to date")
    return 0


if __name__ == "__main__":
    sys.exit(main())
