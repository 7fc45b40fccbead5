"""The project's modules import each other without cycles, deferred imports included.

A cycle hidden in a function-level import still couples two modules both ways; the layout
keeps one direction (web services queue tasks, tasks call the worker side).
"""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("lambdalab", "learn", "sandbox")


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _project_modules() -> dict[str, Path]:
    modules = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            if "migrations" not in path.parts:
                modules[_module_name(path)] = path
    return modules


def import_graph() -> dict[str, set[str]]:
    """Each project module and the project modules it imports anywhere in its body."""
    modules = _project_modules()
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        targets: set[str] = set()
        is_package = path.name == "__init__.py"
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                candidates = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    anchor = name.split(".")
                    anchor = anchor[: len(anchor) - node.level + (1 if is_package else 0)]
                    base = ".".join([*anchor, base] if base else anchor)
                candidates = [base] + [f"{base}.{alias.name}" for alias in node.names]
            else:
                continue
            targets.update(c for c in candidates if c in modules and c != name)
        # A package's __init__ is what importing a submodule runs first; it is no edge.
        graph[name] = {t for t in targets if not name.startswith(t + ".")}
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str]:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str]:
        state[node] = 1
        stack.append(node)
        for target in sorted(graph.get(node, ())):
            if state.get(target) == 1:
                return [*stack[stack.index(target) :], target]
            if target not in state and (cycle := visit(target)):
                return cycle
        stack.pop()
        state[node] = 2
        return []

    for node in sorted(graph):
        if node not in state and (cycle := visit(node)):
            return cycle
    return []


def test_the_cycle_finder_finds_a_deferred_import_cycle():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) == []


def test_the_graph_sees_function_level_imports():
    graph = import_graph()
    assert "sandbox.execution" in graph["sandbox.tasks"]
    assert "sandbox.tasks" in graph["sandbox.services"]


# The layouts the sandbox and practice apps keep: web services queue tasks, tasks call the
# worker side, never back.
ACYCLIC = ("sandbox", "learn.practice")


def test_no_module_imports_itself_through_others():
    graph = import_graph()
    scoped = {
        module: {t for t in targets if t.startswith(ACYCLIC)}
        for module, targets in graph.items()
        if module.startswith(ACYCLIC)
    }
    assert find_cycle(scoped) == []


def test_the_learning_side_reaches_the_engine_only_through_sandbox_execution():
    # Limits such as MEMORY_MAX_MB may be read from sandbox.engine.spec; running code may not.
    running = (
        "sandbox.pool",
        "sandbox.engine",
        "sandbox.engine.pool",
        "sandbox.engine.environment",
    )
    graph = import_graph()
    direct = {
        (module, target)
        for module, targets in graph.items()
        if module.startswith("learn")
        for target in targets
        if target in running or (module.startswith("learn.practice") and "engine" in target)
    }
    assert direct == set()
    assert "sandbox.execution" in graph["learn.practice.execution"]
