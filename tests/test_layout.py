"""The layout holds: one layer per folder, imports only downwards, no circles, modules of a readable size.

fixtures/__init__.py names the layers. These tests read the source (no
imports run), so a violation is reported with the module and line that made it.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
# Above a module's layer nothing may be imported: the wiring and the reports sit on top.
TOP_LAYERS = ("plugins", "report")
# What may sit above the top layers and import them: wiring that is itself a plugin.
WIRING = ("plugins", "report", "gate", "history", "runtime")
LONG_MODULE_LINES = 400
LONG_MODULE_REASON = "Why this module is long:"
# Long modules whose reason cannot be written at their top yet, and why.
LONG_FOR_NOW: dict[str, str] = {}


def _modules() -> dict[str, Path]:
    found = {}
    for path in sorted(FIXTURES.rglob("*.py")):
        parts = path.relative_to(FIXTURES.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        found[name] = path
    return found


MODULES = _modules()


def _imports(name: str) -> list[tuple[int, str]]:
    """(line, module) of every fixtures module `name` imports, at any depth of its code."""
    path = MODULES[name]
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1] + ([base] if base else []))
            for alias in node.names:
                candidate = f"{base}.{alias.name}"
                found.append((node.lineno, candidate if candidate in MODULES else base))
    return [(line, module) for line, module in found if module == "fixtures" or module.startswith("fixtures.")]


def _layer(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def _offences(importer, imported) -> list[str]:
    """`path:line imports module` for each import of a module in a layer `importer` accepts, of a layer `imported` accepts."""
    return [
        f"{MODULES[name].relative_to(FIXTURES.parent)}:{line} imports {module}"
        for name in MODULES
        if importer(_layer(name))
        for line, module in _imports(name)
        if imported(_layer(module))
    ]


def test_a_rule_imports_only_rules_and_the_model():
    offences = _offences(lambda layer: layer == "rules", lambda layer: layer not in ("rules", "model"))
    assert not offences, "rules/ are pure functions over rules/ and model/:\n" + "\n".join(offences)


def test_the_model_imports_only_the_model():
    offences = _offences(lambda layer: layer == "model", lambda layer: layer != "model")
    assert not offences, "\n".join(offences)


def test_nothing_below_the_wiring_imports_plugins_or_reports():
    offences = _offences(lambda layer: layer not in WIRING, lambda layer: layer in TOP_LAYERS)
    assert not offences, "an import from a lower layer up into plugins/ or report/:\n" + "\n".join(offences)


def test_no_import_circle():
    graph = {name: {module for _line, module in _imports(name) if module in MODULES and module != name} for name in MODULES}
    # A package's __init__ is imported with any of its modules: not an edge of the circle.
    graph = {name: {m for m in targets if not name.startswith(m + ".")} for name, targets in graph.items()}
    circles, state = [], {}

    def visit(name: str, path: list[str]) -> None:
        state[name] = "open"
        for module in sorted(graph[name]):
            if state.get(module) == "open":
                circles.append(" -> ".join(path[path.index(module) :] + [name, module]) if module in path else f"{name} -> {module}")
            elif module not in state:
                visit(module, [*path, name])
        state[name] = "done"

    for name in sorted(graph):
        if name not in state:
            visit(name, [])
    assert not circles, "import circles:\n" + "\n".join(circles)


@pytest.mark.parametrize("name", [n for n in MODULES if _layer(n) != "sandbox"])
def test_a_long_module_says_why(name):
    path = MODULES[name]
    text = path.read_text(encoding="utf-8")
    lines = len(text.splitlines())
    if lines > LONG_MODULE_LINES and name not in LONG_FOR_NOW:
        docstring = ast.get_docstring(ast.parse(text)) or ""
        assert LONG_MODULE_REASON in docstring, (
            f"{path.relative_to(FIXTURES.parent)} has {lines} lines: split it, or say at its top ({LONG_MODULE_REASON} ...)"
        )
