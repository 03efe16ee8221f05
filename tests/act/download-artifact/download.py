"""actions/download-artifact stand-in: copies an artifact of this run out of the store the
upload-artifact stand-in writes (STANDIN_ARTIFACTS_DIR)."""

import os
import shutil
import sys
from pathlib import Path

store, name = Path(os.environ["STANDIN_ARTIFACTS_DIR"]), os.environ["INPUT_NAME"]
if not (store / name).is_dir():
    sys.exit(f"::error::download-artifact stand-in: this run has no artifact {name}")
shutil.copytree(store / name, Path(os.environ["GITHUB_WORKSPACE"], os.environ["INPUT_PATH"]), dirs_exist_ok=True)
print(f"downloaded artifact {name}")
