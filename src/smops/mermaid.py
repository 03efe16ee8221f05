"""Mermaid for job summaries and comments, which GitHub renders as diagrams: labels made safe
inside quotes, and a fenced block with the status classes every picture colours its nodes by."""

from __future__ import annotations

CLASSES = [
    "classDef succeeded fill:#dafbe1,stroke:#1a7f37,color:#0a3622",
    "classDef failed fill:#ffebe9,stroke:#cf222e,stroke-width:4px,color:#67060c",
    "classDef running fill:#fff8c5,stroke:#9a6700,color:#4d2d00",
    "classDef stopped fill:#eaeef2,stroke:#57606a,color:#24292f",
    "classDef notrun fill:#f6f8fa,stroke:#8c959f,stroke-dasharray:4 3,color:#57606a",
]


def label(value: object) -> str:
    """A label safe inside Mermaid's double quotes."""
    text = " ".join(str(value).split())
    return text.replace("&", "#amp;").replace('"', "#quot;").replace("<", "#lt;").replace(">", "#gt;")


def fenced(lines: list[str]) -> str:
    return "\n".join(["```mermaid", *lines, *(f"  {c}" for c in CLASSES), "```"])
