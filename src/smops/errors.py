"""The three ways a command can fail, each with its exit code (see DESIGN.md's contract)."""


class SmopsError(Exception):
    """A failure to report as one line: what was wrong, then what to do about it."""

    exit_code = 1

    def __init__(
        self, problem: str, fix: str = "", *, details: str = "", outputs: dict | None = None
    ):
        super().__init__(problem)
        self.problem = problem
        self.fix = fix
        self.details = details
        self.outputs = outputs or {}

    def __str__(self) -> str:
        return f"{self.problem}: {self.fix}" if self.fix else self.problem


class BadInput(SmopsError):
    """Refused before anything in AWS changed."""

    exit_code = 2


class RemoteFailure(SmopsError):
    """The remote operation ran and failed (pipeline failed, deployment rolled back, ...)."""

    exit_code = 1


class TimedOut(SmopsError):
    """Gave up waiting; the remote operation may still be running."""

    exit_code = 3
