"""The GitHub stand-in's issue comments: the calls PyGithub makes for a pull request comment.

- `GET /repos/{owner}/{repo}/issues/{number}/comments` — 200, the comments oldest first (in one
  page: the stand-in sends no `Link` header, as GitHub does when everything fits in one page);
- `POST /repos/{owner}/{repo}/issues/{number}/comments` — 201 and the new comment;
- `PATCH /repos/{owner}/{repo}/issues/comments/{id}` — 200 and the edited comment.

As GitHub: 401 without a token, 404 for a comment that does not exist, 422 without a body or with
one over 65536 characters, and 403
"Resource not accessible by integration" for a write with a read-only token (`read_only()`), which
is what a workflow's GITHUB_TOKEN is on a pull request from a fork.
"""

from __future__ import annotations

import re
import threading
from datetime import datetime, timezone
from typing import Any
from urllib.parse import urlsplit

from smops.emulator.github_repos import credential

ISSUE_COMMENTS = re.compile(r"^/repos/([^/]+/[^/]+)/issues/(\d+)/comments$")
COMMENT = re.compile(r"^/repos/([^/]+/[^/]+)/issues/comments/(\d+)$")
DOCS = "https://docs.github.com/rest/issues/comments"
BOT = {"login": "github-actions[bot]", "id": 41898282, "type": "Bot"}
BODY_MAX = 65536


class IssueComments:
    def __init__(self) -> None:
        self.comments: dict[int, dict[str, Any]] = {}  # id → the comment as GitHub returns it
        self._read_only: set[str] = set()
        self._lock = threading.Lock()

    def read_only(self, token: str) -> None:
        """Writes with this token are refused, as for a fork's pull request."""
        with self._lock:
            self._read_only.add(token)

    def reset(self) -> None:
        with self._lock:
            self.comments.clear()
            self._read_only.clear()

    def on(self, repository: str, number: int) -> list[dict[str, Any]]:
        """The comments of one issue or pull request, oldest first."""
        with self._lock:
            return [c for c in self.comments.values() if c["issue_url"].endswith(f"/repos/{repository}/issues/{number}")]

    def handle(self, method: str, path: str, headers: dict[str, str], body: Any, base_url: str):
        """(status, body) for a request to these endpoints; None for any other path."""
        path = urlsplit(path).path
        listing, single = ISSUE_COMMENTS.match(path), COMMENT.match(path)
        if not (listing or single):
            return None
        token = credential(headers)
        if not token:
            return 401, {"message": "Requires authentication", "documentation_url": DOCS}
        if method == "GET" and listing:
            return 200, self.on(listing.group(1), int(listing.group(2)))
        if method not in ("POST", "PATCH") or (method == "POST") != bool(listing):
            return 404, {"message": "Not Found", "documentation_url": DOCS}
        if token in self._read_only:
            return 403, {"message": "Resource not accessible by integration", "documentation_url": DOCS, "status": "403"}
        if not isinstance(body, dict) or not isinstance(body.get("body"), str):
            return 422, {"message": 'Invalid request.\n\n"body" wasn\'t supplied.', "documentation_url": DOCS}
        if len(body["body"]) > BODY_MAX:
            return 422, {"message": "Validation Failed", "documentation_url": DOCS, "errors": [{
                "resource": "IssueComment", "code": "unprocessable", "field": "data",
                "message": f"Body is too long (maximum is {BODY_MAX} characters)"}]}
        now = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        with self._lock:
            if listing:
                repository, number = listing.group(1), int(listing.group(2))
                comment_id = max(self.comments, default=1000) + 1
                self.comments[comment_id] = {
                    "id": comment_id,
                    "node_id": f"IC_standin{comment_id}",
                    "url": f"{base_url}/repos/{repository}/issues/comments/{comment_id}",
                    "html_url": f"https://github.com/{repository}/pull/{number}#issuecomment-{comment_id}",
                    "issue_url": f"{base_url}/repos/{repository}/issues/{number}",
                    "body": body["body"],
                    "user": BOT,
                    "created_at": now,
                    "updated_at": now,
                    "author_association": "NONE",
                }
                return 201, self.comments[comment_id]
            comment = self.comments.get(int(single.group(2)))
            if comment is None or f"/repos/{single.group(1)}/" not in comment["url"]:
                return 404, {"message": "Not Found", "documentation_url": DOCS}
            comment.update(body=body["body"], updated_at=now)
            return 200, comment
