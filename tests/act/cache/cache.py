"""actions/cache stand-in: entries are folders of STANDIN_CACHE_DIR named after their keys."""

import os
import shutil
import sys
from pathlib import Path
from urllib.parse import quote, unquote

store = Path(os.environ["STANDIN_CACHE_DIR"])
store.mkdir(parents=True, exist_ok=True)
paths = [line.strip() for line in os.environ["INPUT_PATH"].splitlines() if line.strip()]
if len(paths) != 1:
    sys.exit(f"::error::cache stand-in: one path only, got {paths}")
path = Path(os.environ["GITHUB_WORKSPACE"], os.path.expanduser(paths[0]))
key = os.environ["INPUT_KEY"]
prefixes = [line.strip() for line in os.environ["INPUT_RESTORE_KEYS"].splitlines() if line.strip()]


def entry(name: str) -> Path:
    return store / quote(name, safe="")


matched = key if entry(key).is_dir() else ""
if not matched:
    candidates = [p for p in store.iterdir() if p.is_dir() and any(unquote(p.name).startswith(x) for x in prefixes)]
    if candidates:
        newest = max(candidates, key=lambda p: p.stat().st_mtime)
        matched = unquote(newest.name)
        shutil.copytree(newest, entry(key), dirs_exist_ok=True)
entry(key).mkdir(exist_ok=True)
if path.is_symlink():
    # An earlier cache step of this job restored here (a second smops action, with other extras):
    # actions/cache restores over what is there, and at the job's end saves the folder as it is
    # under each key it missed. So this key's entry becomes that same folder.
    shared = path.resolve()
    if shared != entry(key).resolve():
        shutil.copytree(entry(key), shared, dirs_exist_ok=True)
        shutil.rmtree(entry(key))
        entry(key).symlink_to(shared, target_is_directory=True)
elif path.exists():
    sys.exit(f"::error::cache stand-in: {path} exists already and is no cache's")
else:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.symlink_to(entry(key), target_is_directory=True)
print(f"cache {'hit' if matched == key else 'restored from ' + matched if matched else 'miss'} for {key}")
with open(os.environ["GITHUB_OUTPUT"], "a", encoding="utf-8") as out:
    out.write(f"cache-hit={str(matched == key).lower()}\ncache-primary-key={key}\ncache-matched-key={matched}\n")
