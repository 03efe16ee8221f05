"""The package's layout as the README's "The package" states it: no two modules import each other
(directly or round a longer circle, lazy imports included; a package's face gathering its own
modules aside), and a stage imports another stage only through the entries named there."""

from __future__ import annotations

import ast
from pathlib import Path

from conftest import ROOT

PACKAGE = ROOT / "src" / "smops"
STAGES = {"build", "deploy", "monitor", "onboard", "bridge"}
# importer's stage -> modules of other stages it may import (README: "The calls across stages").
ACROSS = {
    "build": {"smops.monitor.data_baseline", "smops.bridge.dispatch"},
    "onboard": {"smops.monitor.baseline", "smops.bridge.dispatch", "smops.bridge.package",
                "smops.deploy.alarms", "smops.deploy.cleanup", "smops.deploy.scaling", "smops.monitor.capture"},
    "bridge": {"smops.monitor.baseline", "smops.monitor.drift"},
}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports() -> dict[str, set[str]]:
    """Module → the smops modules it imports anywhere in its body (`from smops.x import y` counts
    y when y is a module)."""
    modules = {module_name(p): p for p in PACKAGE.rglob("*.py") if "templates" not in p.parts}
    found = {}
    for name, path in modules.items():
        targets = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                targets |= {a.name for a in node.names if a.name.startswith("smops")}
            elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("smops"):
                for alias in node.names:
                    child = f"{node.module}.{alias.name}"
                    targets.add(child if child in modules else node.module)
        found[name] = {t for t in targets if t in modules and t != name}
    return found


def stage(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 2 and parts[1] in STAGES else None


def test_no_module_imports_another_that_imports_it_back():
    graph = imports()
    circles = []
    for start in graph:
        seen, todo = set(), [(start, (start,))]
        while todo:
            node, path = todo.pop()
            for nxt in graph.get(node, ()):
                if nxt == start:
                    circles.append(" -> ".join((*path, start)))
                elif nxt not in seen and not nxt.endswith("__init__"):
                    seen.add(nxt)
                    todo.append((nxt, (*path, nxt)))
    # A package's face (its __init__) may gather its modules, which take shared names from it.
    faces = {m for m in graph if (PACKAGE.parent / m.replace(".", "/") / "__init__.py").exists()}
    real = [c for c in circles if not faces & set(c.split(" -> "))]
    assert real == []


def test_a_stage_reaches_another_only_through_its_named_entries():
    crossing = sorted(
        f"{module} imports {target}"
        for module, targets in imports().items()
        for target in targets
        if stage(module) and stage(target) and stage(module) != stage(target)
        and target not in ACROSS.get(stage(module), set())
    )
    assert crossing == []


def test_the_ground_imports_no_stage():
    ground = [m for m in imports() if m.count(".") == 1 and m.split(".")[1] not in STAGES | {"cli", "emulator", "demo", "status", "__main__"}]
    upward = sorted(f"{m} imports {t}" for m in ground for t in imports()[m] if stage(t))
    assert ground and upward == []
