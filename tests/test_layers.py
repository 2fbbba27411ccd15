"""The layers of docs/design.md, enforced: a module imports only from its own layer or the
layers below it.  Imports under `if TYPE_CHECKING:` (annotations only) may point up.

Walks every module of the installed package (the hypervisor, its toolchain) with `ast`,
so a new upward import fails here with the file, the line and the two layers named.
"""

from __future__ import annotations

import ast
from pathlib import Path

import paravisor
import paravisor.toolchain

# Bottom to top.  A module belongs to the first entry its dotted name starts with.
LAYERS: list[tuple[str, tuple[str, ...]]] = [
    ("utilities", ("paravisor.errors", "paravisor.inputfiles", "paravisor.generated")),
    ("isa", ("paravisor.isa",)),
    ("abi", ("paravisor.abi",)),
    ("toolchain and jit", ("paravisor.toolchain", "paravisor.jit", "paravisor.guest_os")),
    ("mechanisms", ("paravisor.mm", "paravisor.evtchn", "paravisor.grants", "paravisor.sched",
                    "paravisor.trace", "paravisor.console", "paravisor.ring")),
    ("domain", ("paravisor.domain",)),
    ("hypercalls", ("paravisor.hypercalls",)),
    ("hypervisor", ("paravisor.hypervisor",)),
    ("services", ("paravisor.services",)),
    ("toolstack", ("paravisor.toolstack",)),
    ("cli", ("paravisor.cli",)),
    ("testing", ("paravisor.testing",)),
]


def layer_of(module: str) -> int:
    if module == "paravisor":             # the package's __init__: its version, no imports
        return 0
    for rank, (_, prefixes) in enumerate(LAYERS):
        if any(module == p or module.startswith(p + ".") for p in prefixes):
            return rank
    raise AssertionError(f"{module} is in no layer: add it to LAYERS and docs/design.md")


def modules() -> list[tuple[str, Path]]:
    found = []
    for package in (paravisor, paravisor.toolchain):
        root = Path(package.__file__).parent
        for path in sorted(root.rglob("*.py")):
            parts = [package.__name__, *path.relative_to(root).with_suffix("").parts]
            if parts[-1] == "__init__":
                parts.pop()
            found.append((".".join(parts), path))
    return found


def runtime_imports(path: Path, module: str) -> list[tuple[int, str]]:
    """(line, imported module) for every import outside `if TYPE_CHECKING:` blocks."""
    tree = ast.parse(path.read_text(), str(path))
    type_only = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            type_only.update(id(n) for n in ast.walk(node))
    found = []
    for node in ast.walk(tree):
        if id(node) in type_only:
            continue
        if isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:        # relative: resolve against this module's package
                package = module.split(".")
                if not path.name == "__init__.py":
                    package.pop()
                package = package[:len(package) - node.level + 1]
                base = ".".join(package + ([base] if base else []))
            found.append((node.lineno, base))
    return [(line, name) for line, name in found if name.startswith("paravisor")]


def test_every_module_is_in_a_layer():
    for module, _ in modules():
        layer_of(module)


def test_no_layer_imports_a_higher_one():
    problems = []
    for module, path in modules():
        rank = layer_of(module)
        for line, imported in runtime_imports(path, module):
            if layer_of(imported) > rank:
                problems.append(f"{path}:{line}: {module} ({LAYERS[rank][0]}) imports "
                                f"{imported} ({LAYERS[layer_of(imported)][0]})")
    assert not problems, "\n".join(problems)


def test_nothing_below_the_handlers_imports_them():
    """The issue that started this: the ABI is the bottom layer, not paravisor.hypercalls."""
    handlers = layer_of("paravisor.hypercalls")
    for module, path in modules():
        if layer_of(module) < handlers:
            assert not any(name.startswith("paravisor.hypercalls")
                           for _, name in runtime_imports(path, module)), module
