"""Repositories, environments, tokens and App installations for the GitHub stand-in.

What `smops doctor` reads with PyGithub, answered with the shapes of GitHub's REST API
(docs.github.com/rest: repos, deployments/environments, deployments/branch-policies, branches,
commits, apps): a repository and the caller's permissions on it, its environments with their
protection rules (required reviewers, deployment branch policy), a branch's protection, whether a
ref exists, and the installation of a GitHub App on a repository.

Tokens are what GitHub reveals of them: a classic personal access token gets its scopes back in
`X-OAuth-Scopes` on every answer; a fine-grained one gets no such header (GitHub shows its
permissions to no API), only its repository access. A private repository the caller may not see
is GitHub's 404, as GitHub hides it.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from typing import Any

NOT_FOUND = {"message": "Not Found", "documentation_url": "https://docs.github.com/rest"}
TIME = "2026-01-05T10:00:00Z"
REPO = r"^/repos/(?P<repo>[^/]+/[^/?]+)"
ROUTES = {
    "repository": re.compile(REPO + r"$"),
    "environments": re.compile(REPO + r"/environments$"),
    "environment": re.compile(REPO + r"/environments/(?P<name>[^/?]+)$"),
    "branch_policies": re.compile(REPO + r"/environments/(?P<name>[^/?]+)/deployment-branch-policies$"),
    "branch": re.compile(REPO + r"/branches/(?P<name>[^/?]+)$"),
    "commit": re.compile(REPO + r"/commits/(?P<ref>.+)$"),
    "installation": re.compile(REPO + r"/installation$"),
}


@dataclass
class Environment:
    name: str
    reviewers: list[str] = field(default_factory=list)  # logins of the required reviewers
    # None: any branch may deploy; "protected": protected branches only; "custom": branch_names.
    branch_policy: str | None = None
    branch_names: list[str] = field(default_factory=list)


@dataclass
class Repository:
    full_name: str
    private: bool = True
    default_branch: str = "main"
    protected_branches: set[str] = field(default_factory=set)
    branches: set[str] = field(default_factory=lambda: {"main"})
    tags: set[str] = field(default_factory=set)
    environments: dict[str, Environment] = field(default_factory=dict)


@dataclass
class Token:
    scopes: list[str] | None  # a classic token's scopes; None for a fine-grained token
    push: bool = True  # the token's user may push to the repositories it sees
    repositories: set[str] | None = None  # a fine-grained token's repository access (None: all)


@dataclass
class Installation:
    id: int
    repositories: set[str]
    permissions: dict[str, str] = field(default_factory=lambda: {"contents": "write", "metadata": "read"})


class Repositories:
    """The state behind the routes above; the stand-in asks it first for every request."""

    def __init__(self) -> None:
        self.repositories: dict[str, Repository] = {}
        self.tokens: dict[str, Token] = {}
        self.installations: dict[int, Installation] = {}

    # -- what a test sets up ---------------------------------------------------------------------

    def add_repository(self, full_name: str, **settings: Any) -> Repository:
        self.repositories[full_name.lower()] = repository = Repository(full_name, **settings)
        return repository

    def add_environment(self, full_name: str, name: str, **settings: Any) -> Environment:
        environment = Environment(name, **settings)
        self.repositories[full_name.lower()].environments[name] = environment
        return environment

    def add_token(self, token: str, scopes: list[str] | None, **settings: Any) -> None:
        self.tokens[token] = Token(scopes, **settings)

    def add_installation(self, installation_id: int, repositories: list[str], **settings: Any) -> None:
        self.installations[installation_id] = Installation(installation_id, {r.lower() for r in repositories}, **settings)

    # -- answering -------------------------------------------------------------------------------

    def headers(self, headers: dict[str, str]) -> dict[str, str]:
        """X-OAuth-Scopes for a classic token, as GitHub sends on every answer."""
        token = self.tokens.get(credential(headers))
        if token is None or token.scopes is None:
            return {}
        return {"X-OAuth-Scopes": ", ".join(token.scopes), "X-Accepted-OAuth-Scopes": "repo"}

    def answer(self, method: str, path: str, headers: dict[str, str], base_url: str) -> tuple[int, Any] | None:
        """(status, body) for the routes above; None for any other request."""
        if method != "GET":
            return None
        for route, pattern in ROUTES.items():
            match = pattern.match(path.split("?", 1)[0])  # pages and filters are not modelled
            if match:
                break
        else:
            return None
        repository = self.repositories.get(match["repo"].lower())
        if route == "installation":
            return self._installation(repository)
        if repository is None or not self._visible(repository, headers):
            return 404, NOT_FOUND
        url = f"{base_url}/repos/{repository.full_name}"
        if route == "repository":
            return 200, self._repository(repository, headers, base_url)
        if route == "environments":
            environments = [_environment(e, url, repository) for e in repository.environments.values()]
            return 200, {"total_count": len(environments), "environments": environments}
        if route == "branch":
            return self._branch(repository, match["name"], url)
        if route == "commit":
            return self._commit(repository, match["ref"], url)
        environment = repository.environments.get(match["name"])
        if environment is None:
            return 404, NOT_FOUND
        if route == "environment":
            return 200, _environment(environment, url, repository)
        policies = [{"id": 361471 + i, "node_id": f"MDE2OkdhdGVCcmFuY2hQb2xpY3kz{i}", "name": name, "type": "branch"}
                    for i, name in enumerate(environment.branch_names)]
        return 200, {"total_count": len(policies), "branch_policies": policies}

    def installation_permissions(self, installation_id: int) -> dict[str, str] | None:
        installation = self.installations.get(installation_id)
        return dict(installation.permissions) if installation else None

    def _visible(self, repository: Repository, headers: dict[str, str]) -> bool:
        if not repository.private:
            return True
        given = credential(headers)
        if given.startswith("ghs_"):  # an installation token: the installation's repositories
            return any(repository.full_name.lower() in i.repositories for i in self.installations.values())
        token = self.tokens.get(given)
        if token is None:
            return bool(given)  # an unregistered token sees everything, as before
        if token.scopes is not None:
            return "repo" in token.scopes
        return token.repositories is None or repository.full_name.lower() in token.repositories

    def _repository(self, repository: Repository, headers: dict[str, str], base_url: str) -> dict:
        owner, name = repository.full_name.split("/")
        token = self.tokens.get(credential(headers))
        push = token.push if token else bool(credential(headers))
        return {
            "id": 1296269 + len(repository.full_name),
            "node_id": "MDEwOlJlcG9zaXRvcnkxMjk2MjY5",
            "name": name,
            "full_name": repository.full_name,
            "owner": {"login": owner, "id": 1, "node_id": "MDQ6VXNlcjE=", "type": "Organization", "site_admin": False,
                      "url": f"{base_url}/users/{owner}"},
            "private": repository.private,
            "visibility": "private" if repository.private else "public",
            "html_url": f"https://github.com/{repository.full_name}",
            "description": None,
            "fork": False,
            "url": f"{base_url}/repos/{repository.full_name}",
            "default_branch": repository.default_branch,
            "archived": False,
            "disabled": False,
            "created_at": TIME,
            "updated_at": TIME,
            "pushed_at": TIME,
            "permissions": {"admin": push, "maintain": push, "push": push, "triage": True, "pull": True},
        }

    def _branch(self, repository: Repository, name: str, url: str) -> tuple[int, Any]:
        if name not in repository.branches:
            return 404, {"message": "Branch not found", "documentation_url": "https://docs.github.com/rest"}
        return 200, {
            "name": name,
            "commit": {"sha": _sha(name), "url": f"{url}/commits/{_sha(name)}"},
            "protected": name in repository.protected_branches,
            "_links": {"self": f"{url}/branches/{name}", "html": f"https://github.com/{repository.full_name}/tree/{name}"},
        }

    def _commit(self, repository: Repository, ref: str, url: str) -> tuple[int, Any]:
        if ref not in repository.branches | repository.tags and ref not in {_sha(r) for r in repository.branches | repository.tags}:
            return 422, {"message": f"No commit found for SHA: {ref}", "documentation_url": "https://docs.github.com/rest"}
        sha = ref if len(ref) == 40 else _sha(ref)
        return 200, {"sha": sha, "node_id": "C_kwDO", "url": f"{url}/commits/{sha}",
                     "html_url": f"https://github.com/{repository.full_name}/commit/{sha}",
                     "commit": {"message": "release", "tree": {"sha": _sha(sha)}}, "parents": []}

    def _installation(self, repository: Repository | None) -> tuple[int, Any]:
        for installation in self.installations.values():
            if repository is not None and repository.full_name.lower() in installation.repositories:
                owner = repository.full_name.split("/")[0]
                return 200, {
                    "id": installation.id,
                    "account": {"login": owner, "id": 1, "type": "Organization"},
                    "repository_selection": "selected",
                    "access_tokens_url": f"/app/installations/{installation.id}/access_tokens",
                    "repositories_url": "/installation/repositories",
                    "app_id": 1,
                    "target_id": 1,
                    "target_type": "Organization",
                    "permissions": dict(installation.permissions),
                    "events": [],
                    "created_at": TIME,
                    "updated_at": TIME,
                    "suspended_at": None,
                }
        return 404, NOT_FOUND


def _environment(environment: Environment, url: str, repository: Repository) -> dict:
    rules: list[dict[str, Any]] = []
    if environment.reviewers:
        rules.append({
            "id": 3755, "node_id": "MDQ6R2F0ZTM3NTU=", "prevent_self_review": False, "type": "required_reviewers",
            "reviewers": [{"type": "User", "reviewer": {"login": login, "id": 100 + i, "node_id": "MDQ6VXNlcjE=", "type": "User", "site_admin": False}}
                          for i, login in enumerate(environment.reviewers)],
        })
    policy = None
    if environment.branch_policy:
        rules.append({"id": 3756, "node_id": "MDQ6R2F0ZTM3NTY=", "type": "branch_policy"})
        policy = {"protected_branches": environment.branch_policy == "protected",
                  "custom_branch_policies": environment.branch_policy == "custom"}
    return {
        "id": 161088068,
        "node_id": "MDExOkVudmlyb25tZW50MTYxMDg4MDY4",
        "name": environment.name,
        "url": f"{url}/environments/{environment.name}",
        "html_url": f"https://github.com/{repository.full_name}/deployments/activity_log?environments_filter={environment.name}",
        "created_at": TIME,
        "updated_at": TIME,
        "can_admins_bypass": True,
        "protection_rules": rules,
        "deployment_branch_policy": policy,
    }


def credential(headers: dict[str, str]) -> str:
    """The token of an `Authorization: token X` or `Bearer X` header."""
    value = next((v for k, v in headers.items() if k.lower() == "authorization"), "")
    return value.split(" ", 1)[1].strip() if " " in value else ""


def _sha(ref: str) -> str:
    return hashlib.sha1(ref.encode()).hexdigest()
