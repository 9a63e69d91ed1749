"""The first command leaves a fresh clone as it was: `npm install` must not rewrite the lock."""

from __future__ import annotations

import json
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_the_lock_lists_every_optional_platform_package_npm_would_add() -> None:
    """npm adds to the lock any optional platform package missing from it (anvil ships one per
    platform), which dirtied a fresh clone's work tree after `scripts/dev.sh up`."""
    lock = json.loads((ROOT / "package-lock.json").read_text())["packages"]
    missing = []
    for path, entry in lock.items():
        for name, version in (entry.get("optionalDependencies") or {}).items():
            if not any(lock.get(f"{where}node_modules/{name}") for where in _resolution(path)):
                missing.append(f"{path} -> {name}@{version}")
    assert not missing, f"package-lock.json lacks {missing}: run `npm install` and commit the lock"


def test_the_install_output_is_quiet() -> None:
    """Install steps write to .vpl/install.log and show it only when they fail."""
    script = (ROOT / "scripts" / "dev.sh").read_text()
    for step in ("apt-get install", "pip install -q -e", "npm install"):
        line = next(line for line in script.splitlines() if step in line and "#" not in line)
        assert line.strip().startswith("quiet "), line


def _resolution(path: str) -> list[str]:
    """Where node looks for a dependency of the package at `path` (a lock key such as
    ``node_modules/a/node_modules/b``): its own node_modules, then each enclosing one, as prefixes."""
    prefixes = [f"{path}/" if path else ""]
    while path:
        path = path.rpartition("node_modules/")[0].rstrip("/")
        prefixes.append(f"{path}/" if path else "")
    return prefixes
