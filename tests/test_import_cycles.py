"""No import circles in ledger/, api/ and scripts/, and the layers read from the bottom up.

Every import is read from the source (module level and inside functions). For circles, those under
``if TYPE_CHECKING:`` only name types and are left out, and the strongly connected components of
the module graph are found: each one of more than one module is a circle. For the layers they
count too: a lower layer does not even name a type of a higher one (no domain service knows the
``Ledger`` façade)."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("ledger", "api", "scripts")


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


#: The layers, bottom up: a module imports only from its own layer and those below it. The
#: foundation imports nothing of the project above it; the chain and the store know no domain;
#: governance (council, schemes, rules, roles) is what every domain reads; the domains build on
#: each other in this order; the façade composes them all; the demo, the API and the CLI on top.
LAYERS = (
    ("ledger.errors", "ledger.values", "ledger.config", "ledger.files", "ledger.real_name"),
    ("ledger.chain",),
    ("ledger.store",),
    ("ledger.governance",),
    ("ledger.identity",),
    ("ledger.earning",),
    ("ledger.spending",),
    ("ledger.audit",),
    ("ledger.ledger", "ledger"),
    ("ledger.demo",),
    ("api",),
    ("scripts",),
)


def layer_of(module: str) -> int:
    """The index in LAYERS of the longest prefix naming `module`'s layer."""
    best, found = -1, -1
    for number, names in enumerate(LAYERS):
        for name in names:
            if (module == name or module.startswith(name + ".")) and len(name) > best:
                best, found = len(name), number
    assert found >= 0, f"{module} is in no layer: add it to LAYERS"
    return found


def import_graph(*, with_typing: bool = False) -> dict[str, set[str]]:
    """Module -> the project modules it imports (a package's own ``__init__`` left out: it
    gathers its modules' names, and importing a submodule runs it first anyway); with
    `with_typing`, those imported under ``if TYPE_CHECKING:`` too."""
    modules = {module_name(p): p for pkg in PACKAGES for p in (ROOT / pkg).rglob("*.py")}

    def resolve(name: str) -> str | None:
        while name and name not in modules:
            name = name.rpartition(".")[0]
        return name or None

    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        typing_only = {
            id(inner)
            for node in ast.walk(tree)
            if not with_typing
            and isinstance(node, ast.If)
            and "TYPE_CHECKING" in ast.unparse(node.test)
            for inner in ast.walk(node)
        }
        found: set[str | None] = set()
        for node in ast.walk(tree):
            if id(node) in typing_only:
                continue
            if isinstance(node, ast.Import):
                found |= {resolve(alias.name) for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                found |= {
                    resolve(f"{node.module}.{alias.name}") or resolve(node.module)
                    for alias in node.names
                }
        graph[name] = {d for d in found if d and d != name and not name.startswith(d + ".")}
    return graph


def circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan, iteratively)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for root in graph:
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, edges = work[-1]
            for nxt in edges:
                if nxt not in index:
                    index[nxt] = low[nxt] = len(index)
                    stack.append(nxt)
                    on_stack.add(nxt)
                    work.append((nxt, iter(sorted(graph[nxt]))))
                    break
                if nxt in on_stack:
                    low[node] = min(low[node], index[nxt])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    component = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.append(member)
                        if member == node:
                            break
                    if len(component) > 1:
                        found.append(sorted(component))
    return found


def test_the_finder_sees_a_circle() -> None:
    assert circles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert circles({"a": {"b"}, "b": set()}) == []


def test_no_module_of_ledger_api_or_scripts_imports_itself_round_a_circle() -> None:
    graph = import_graph()
    assert sum(len(d) for d in graph.values()) > 300  # the graph was read
    assert circles(graph) == []


def test_no_module_imports_from_a_layer_above_its_own() -> None:
    graph = import_graph(with_typing=True)
    upward = sorted(
        f"{module} (layer {layer_of(module)}) imports {target} (layer {layer_of(target)})"
        for module, targets in graph.items()
        for target in targets
        if layer_of(target) > layer_of(module)
    )
    assert upward == [], "\n".join(upward)


def test_every_ledger_module_is_in_a_layer() -> None:
    assert {layer_of(m) for m in import_graph() if m.startswith("ledger")} == set(
        range(len(LAYERS) - 2)
    )
