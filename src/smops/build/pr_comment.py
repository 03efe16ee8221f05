"""One comment per pull request and pipeline, written by smops and updated in place by later pushes.

The comment carries a hidden marker (an HTML comment) naming what wrote it; the next build finds its
comment by that marker and edits it, so a pull request collects no trail of stale reports. A
comment is a courtesy: when it cannot be written — no token, a read-only token as on pull requests
from forks, GitHub down — the build says so and goes on.
"""

from __future__ import annotations

import json
import os
import re

from smops import gha
from smops.bridge import dispatch

PULL_REF = re.compile(r"^refs/pull/(\d+)/")
BODY_MAX = 65536  # characters GitHub takes in a comment
CUT = "\n\n… cut to GitHub's comment limit: the job summary has the rest."


def pull_request_number() -> int | None:
    """The pull request this workflow run is for, from the event payload or the ref."""
    path = os.environ.get("GITHUB_EVENT_PATH")
    if path and os.path.isfile(path):
        try:
            with open(path, encoding="utf-8") as fh:
                number = (json.load(fh).get("pull_request") or {}).get("number")
        except ValueError:
            number = None
        if isinstance(number, int):
            return number
    match = PULL_REF.match(os.environ.get("GITHUB_REF", ""))
    return int(match.group(1)) if match else None


def marker(key: str) -> str:
    return f"<!-- smops:{key} -->"


def post(key: str, body: str) -> str | None:
    """Create or update this key's comment on the run's pull request: "created", "updated", or
    None when it was skipped (the reason is logged as a notice or a warning)."""
    import requests
    from github import GithubException

    number = pull_request_number()
    repository = os.environ.get("GITHUB_REPOSITORY", "")
    if number is None or not repository:
        gha.notice("not a pull request build: no pull request comment")
        return None
    if not os.environ.get("GITHUB_TOKEN", "").strip():
        gha.notice("no GITHUB_TOKEN: the pull request comment is skipped (pass the action's github-token input)")
        return None
    api_url = os.environ.get("GITHUB_API_URL") or dispatch.DEFAULT_API_URL
    github = dispatch.client(api_url, None).withLazy(True)  # no GETs for the repository or the issue
    text = f"{marker(key)}\n{body}"
    if len(text) > BODY_MAX:
        text = text[: BODY_MAX - len(CUT)] + CUT
    try:
        issue = github.get_repo(repository).get_issue(number)
        mine = next((c for c in issue.get_comments() if c.body.startswith(marker(key))), None)
        if mine:
            mine.edit(text)
            action = "updated"
        else:
            mine = issue.create_comment(text)
            action = "created"
    except GithubException as exc:
        message = exc.data.get("message") if isinstance(exc.data, dict) else None
        answer = f"GitHub answered {exc.status}" + (f" ({message})" if message else "")
        if exc.status in (403, 404):
            gha.notice(
                f"the token cannot comment on pull request #{number} ({answer}): the comment is skipped; "
                "a pull request from a fork gets a read-only token, otherwise grant pull-requests: write"
            )
        else:
            gha.warning(f"could not comment on pull request #{number}: {answer}")
        return None
    except requests.RequestException as exc:  # a comment must never fail the build
        gha.warning(f"could not comment on pull request #{number}: {type(exc).__name__}: {exc}")
        return None
    finally:
        github.close()
    gha.log(f"pull request #{number}: comment {action} ({mine.html_url})")
    return action
