"""actions/checkout stand-in: copy the folder STANDIN_REPOSITORIES maps `owner/repo@ref` to."""

import json
import os
import shutil
import sys
from pathlib import Path

repository, ref = os.environ["INPUT_REPOSITORY"], os.environ["INPUT_REF"]
mapping = json.loads(os.environ.get("STANDIN_REPOSITORIES") or "{}")
source = mapping.get(f"{repository}@{ref}")
if source is None:
    sys.exit(f"::error::checkout stand-in: {repository}@{ref} is not mapped (have {sorted(mapping)})")
target = Path(os.environ["GITHUB_WORKSPACE"], os.environ["INPUT_PATH"])
shutil.copytree(source, target, dirs_exist_ok=True)
print(f"checked out {repository}@{ref} from {source} into {target}")
