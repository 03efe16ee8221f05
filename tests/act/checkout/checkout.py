"""actions/checkout stand-in: copy the folder STANDIN_REPOSITORIES maps `owner/repo@ref` to."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

repository, ref = os.environ["INPUT_REPOSITORY"], os.environ["INPUT_REF"]
mapping = json.loads(os.environ.get("STANDIN_REPOSITORIES") or "{}")
source = mapping.get(f"{repository}@{ref}")
if source is None:
    sys.exit(f"::error::checkout stand-in: {repository}@{ref} is not mapped (have {sorted(mapping)})")
target = Path(os.environ["GITHUB_WORKSPACE"], os.environ["INPUT_PATH"])
listed = subprocess.run(
    ["git", "-C", source, "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
    check=True, capture_output=True,
).stdout.decode().split("\0")
copied = 0
for name in filter(None, listed):
    origin = Path(source, name)
    if origin.is_file():  # a tracked file deleted in the working tree is not there any more
        (target / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(origin, target / name)
        copied += 1
print(f"checked out {repository}@{ref} ({copied} files from {source}) into {target}")
