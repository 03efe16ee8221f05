"""actions/download-artifact stand-in: unzips an artifact of this run from the store the
upload-artifact stand-in writes (STANDIN_ARTIFACT_DIR/RUN_ID/NAME.zip)."""

import os
import sys
import zipfile
from pathlib import Path

name = os.environ["INPUT_NAME"]
stored = Path(os.environ["STANDIN_ARTIFACT_DIR"], os.environ["GITHUB_RUN_ID"], f"{name}.zip")
if not stored.is_file():
    sys.exit(f"::error::Artifact not found for name: {name}")
target = Path(os.environ["GITHUB_WORKSPACE"], os.environ["INPUT_PATH"])
with zipfile.ZipFile(stored) as archive:
    archive.extractall(target)
print(f"downloaded artifact {name} to {target}")
