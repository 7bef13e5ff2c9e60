"""No module of ``shared/src`` or ``services/*/src`` holds state that changes while the process runs
(issue #23, visible wiring): every long-lived object is built by a composition root (a service's
``bootstrap``, ``service_app`` / ``service_worker``) and held on what it builds, so a reader finds
the wiring in one place and no test resets a module between runs.

Read from the source (AST), three shapes of module state:

1. a function rebinds a module-level name (``global``);
2. a function changes a module-level object in place (``NAME[k] = v``, ``del NAME[k]``,
   ``NAME.attr = v``, ``NAME.add/append/update/setdefault/pop/clear...``);
3. a module-level name is bound to a new stateful object: a lock, event, queue or mutable
   container from the standard library, or an instance of a project class that is not a frozen
   dataclass.

Not state for this purpose (what they are never depends on what ran before): constants, frozen
values, compiled patterns, loggers, Prometheus metric objects (the process's registry is the
exposition's, by design), context variables (per request), classes made at import (schemas,
blueprints filled by their decorators, the event catalogs filled at import). The remaining
exceptions are listed below, each with why.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SOURCES = [ROOT / "shared" / "src", *sorted((ROOT / "services").glob("*/src"))]

MUTATING_METHODS = {
    "add",
    "append",
    "clear",
    "discard",
    "extend",
    "insert",
    "pop",
    "popitem",
    "remove",
    "setdefault",
    "update",
}
# A table built with ``dict(...)`` or a literal is a constant unless a function changes it
# (shape 2); these exist only to be shared while the process runs.
STATEFUL_CONSTRUCTORS = {"Lock", "RLock", "Event", "Condition", "Semaphore", "Queue", "deque"}
# Project classes instantiated at module level whose instances are fixed once the module is
# imported (filled by decorators or calls at import, read only afterwards).
FIXED_AT_IMPORT = {
    "Blueprint": "a route table, filled by its decorators at import",
    "Catalog": "the event types, added at import; its schema memo answers the same every time",
    "EventBuilder": "a service name and its catalog",
    "Pattern": "a validator (a compiled regular expression)",
    "SystemClock": "reads the system time; holds nothing",
}
# (module, name): why it may stay.
EXCEPTIONS = {
    ("dbt_shared/ids.py", "_lock"): "guards _last",
    ("dbt_shared/ids.py", "_last"): (
        "UUIDv7's counter within one millisecond: ids are strictly increasing per process "
        "(RFC 9562, method 1), a property of the process, not of one wiring in it"
    ),
}


def _modules() -> list[tuple[str, ast.Module]]:
    found = []
    for source in SOURCES:
        for path in sorted(source.rglob("*.py")):
            found.append((path.relative_to(source).as_posix(), ast.parse(path.read_text())))
    return found


def _project_classes(modules) -> dict[str, bool]:
    """Class name -> whether every class of that name is a frozen dataclass."""
    frozen: dict[str, bool] = {}
    for _name, tree in modules:
        for node in ast.walk(tree):
            if isinstance(node, ast.ClassDef):
                is_frozen = any(
                    isinstance(d, ast.Call)
                    and any(
                        k.arg == "frozen" and getattr(k.value, "value", False) for k in d.keywords
                    )
                    for d in node.decorator_list
                )
                frozen[node.name] = frozen.get(node.name, True) and is_frozen
    return frozen


def _module_names(tree: ast.Module) -> dict[str, ast.expr | None]:
    names: dict[str, ast.expr | None] = {}
    for statement in tree.body:
        if isinstance(statement, ast.Assign):
            for target in statement.targets:
                if isinstance(target, ast.Name):
                    names[target.id] = statement.value
        elif isinstance(statement, ast.AnnAssign) and isinstance(statement.target, ast.Name):
            names[statement.target.id] = statement.value
    return names


def _changed_in_functions(tree: ast.Module, names) -> dict[str, str]:
    changed: dict[str, str] = {}
    for function in ast.walk(tree):
        if not isinstance(function, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        local = {
            a.arg
            for a in [*function.args.args, *function.args.kwonlyargs, *function.args.posonlyargs]
        }
        for node in ast.walk(function):
            if isinstance(node, ast.Global):
                for name in node.names:
                    changed[name] = "rebound (global)"
            target = None
            stored = isinstance(getattr(node, "ctx", None), (ast.Store, ast.Del))
            if stored and isinstance(node, (ast.Subscript, ast.Attribute)):
                target = node.value
            elif (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr in MUTATING_METHODS
            ):
                target = node.func.value
            if isinstance(target, ast.Name) and target.id in names and target.id not in local:
                changed.setdefault(target.id, "changed in place by a function")
    return changed


def _stateful_value(
    value: ast.expr | None, classes: dict[str, bool], stems: set[str]
) -> str | None:
    if not isinstance(value, ast.Call):
        return None
    func = value.func
    if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name):
        called, owner = func.attr, func.value.id  # threading.Lock(), Catalog.of(...)
    elif isinstance(func, ast.Name):
        called, owner = func.id, None
    else:
        return None
    if called in STATEFUL_CONSTRUCTORS and owner in (None, "threading", "queue", "collections"):
        return f"a new {ast.unparse(func)}"
    # Class.of(...), a class of this module, or module.Class() of a project module (not
    # marshmallow's fields.String, which shares a name with one of ours)
    project_class = called if owner is None or owner in stems else owner
    if classes.get(project_class) is False and project_class not in FIXED_AT_IMPORT:
        return f"an instance of {project_class}"
    return None


def module_state() -> dict[tuple[str, str], str]:
    modules = _modules()
    classes = _project_classes(modules)
    stems = {Path(module).stem for module, _tree in modules}
    found: dict[tuple[str, str], str] = {}
    for module, tree in modules:
        names = _module_names(tree)
        for name, why in _changed_in_functions(tree, names).items():
            if name in names:
                found[(module, name)] = why
        for name, value in names.items():
            why = _stateful_value(value, classes, stems)
            if why and (module, name) not in found:
                found[(module, name)] = why
    return found


def test_no_module_holds_state_outside_the_composition_roots():
    found = module_state()
    unexplained = {key: why for key, why in found.items() if key not in EXCEPTIONS}
    assert not unexplained, "module state (build it in a bootstrap instead): " + "; ".join(
        f"{module}:{name} ({why})" for (module, name), why in sorted(unexplained.items())
    )


def test_the_exceptions_are_still_there_and_still_state():
    """An exception whose state went away is dropped from the list, so the list stays true."""
    assert set(EXCEPTIONS) <= set(module_state())


def test_the_scan_sees_each_shape_of_module_state(tmp_path, monkeypatch):
    """The three shapes, as main had them (a hand-off set by ``global``, a client cache filled
    by a function, a module-level instance of a stateful class), are each found."""
    package = tmp_path / "src" / "pkg"
    package.mkdir(parents=True)
    (package / "state.py").write_text(
        "import threading\n"
        "_hand_off = None\n"
        "_clients = {}\n"
        "class _Pending:\n"
        "    pass\n"
        "_PENDING = _Pending()\n"
        "PASSES = state._Pending()\n"
        "_lock = threading.Lock()\n"
        "def configure(x):\n"
        "    global _hand_off\n"
        "    _hand_off = x\n"
        "def client(uri):\n"
        "    _clients[uri] = object()\n"
    )
    monkeypatch.setattr(__import__(__name__), "SOURCES", [tmp_path / "src"])
    assert set(module_state()) == {
        ("pkg/state.py", "_hand_off"),
        ("pkg/state.py", "_clients"),
        ("pkg/state.py", "_PENDING"),
        ("pkg/state.py", "PASSES"),
        ("pkg/state.py", "_lock"),
    }
