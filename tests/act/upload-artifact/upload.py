"""actions/upload-artifact stand-in: the run's artifacts are zips under STANDIN_ARTIFACT_DIR/RUN_ID/."""

import glob
import hashlib
import os
import sys
import zipfile
from pathlib import Path

workspace = Path(os.environ["GITHUB_WORKSPACE"])
name = os.environ["INPUT_NAME"] or "artifact"
lines = [line.strip() for line in os.environ["INPUT_PATH"].splitlines() if line.strip()]
hidden = os.environ["INPUT_INCLUDE_HIDDEN_FILES"] == "true"


def expand(pattern: str) -> set[Path]:
    """The files a pattern names (a folder: all under it), without hidden ones unless asked."""
    found = set()
    for match in glob.glob(str(workspace / os.path.expanduser(pattern)), recursive=True):
        path = Path(match)
        found |= {p for p in path.rglob("*") if p.is_file()} if path.is_dir() else {path}
    return {p for p in found if hidden or not p.name.startswith(".")}


files = set().union(*(expand(x) for x in lines if not x.startswith("!"))) - set().union(
    *(expand(x[1:]) for x in lines if x.startswith("!")))
if not files:
    message = f"No files were found with the provided path: {' '.join(lines)}. No artifacts will be uploaded."
    behaviour = os.environ["INPUT_IF_NO_FILES_FOUND"]
    if behaviour == "error":
        sys.exit(f"::error::{message}")
    if behaviour == "warn":
        print(f"::warning::{message}")
    sys.exit(0)
store = Path(os.environ["STANDIN_ARTIFACT_DIR"], os.environ["GITHUB_RUN_ID"])
store.mkdir(parents=True, exist_ok=True)
target = store / f"{name}.zip"
if target.exists() and os.environ["INPUT_OVERWRITE"] != "true":
    sys.exit(f"::error::an artifact named {name} already exists in this run: give another name, or overwrite: true")
root = Path(os.path.commonpath([str(p.parent) for p in files]))
with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED, compresslevel=int(os.environ["INPUT_COMPRESSION_LEVEL"])) as archive:
    for path in sorted(files):
        archive.write(path, path.relative_to(root).as_posix())
artifact_id = len(list(store.glob("*.zip")))
url = f"{os.environ.get('GITHUB_SERVER_URL', 'https://github.com')}/{os.environ['GITHUB_REPOSITORY']}/actions/runs/" \
      f"{os.environ['GITHUB_RUN_ID']}/artifacts/{artifact_id}"
print(f"uploaded {len(files)} files as artifact {name} ({target})")
with open(os.environ["GITHUB_OUTPUT"], "a", encoding="utf-8") as out:
    digest = hashlib.sha256(target.read_bytes()).hexdigest()
    out.write(f"artifact-id={artifact_id}\nartifact-url={url}\nartifact-digest={digest}\n")
