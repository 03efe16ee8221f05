"""actions/upload-artifact stand-in: the store is STANDIN_ARTIFACTS_DIR, a folder per artifact."""

import os
import shutil
import sys
from pathlib import Path

store, name = Path(os.environ["STANDIN_ARTIFACTS_DIR"]), os.environ["INPUT_NAME"]
source = Path(os.environ["GITHUB_WORKSPACE"], os.environ["INPUT_PATH"].strip())
if not source.exists():
    severity = "error" if os.environ["INPUT_IF_NO_FILES_FOUND"] == "error" else "warning"
    print(f"::{severity}::no files at {source}")
    sys.exit(1 if severity == "error" else 0)
if (store / name).exists():
    sys.exit(f"::error::upload-artifact stand-in: this run has an artifact named {name} already")
if source.is_dir():
    shutil.copytree(source, store / name)
else:
    (store / name).mkdir(parents=True)
    shutil.copy2(source, store / name)
with open(os.environ["GITHUB_OUTPUT"], "a", encoding="utf-8") as out:
    out.write(f"artifact-id={name}\n")
print(f"uploaded {source} as artifact {name}")
