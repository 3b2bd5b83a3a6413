"""Make ``import datajoint`` load ``datajoint_core`` (a pytest plugin for the conformance run).

Loaded with ``-p dj_alias`` before the suite's conftest, it puts :class:`AliasFinder` first on
``sys.meta_path``. ``datajoint`` becomes ``datajoint_core`` and ``datajoint.<m>`` becomes
``datajoint_core.<m>`` when ``<m>`` is a public module path of the reference *and* datajoint_core
has a module of that name. Every other ``datajoint.<m>`` raises ``ModuleNotFoundError`` whose
message says which of the two it is, so the classifier can tell "imports a private module of the
reference" from "a public module datajoint_core lacks". No twin modules are created: the import
returns datajoint_core's own module objects, and a public datajoint_core module that loads is
also named by its ``datajoint.<m>`` path in ``sys.modules``. ``python -m datajoint.cli`` runs
``datajoint_core.cli``; ``ours_site/sitecustomize.py`` installs the finder in the suite's
subprocesses too.

Stdlib only: this file is put on the pytest subprocess's path by itself.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import os
import sys
from types import ModuleType

SOURCE = "datajoint"
TARGET = "datajoint_core"

# The reference's public module paths: the modules that define (or are) a name of the reference's
# ``datajoint.__all__`` (found by introspecting datajoint 2.3.5: each name's ``__module__``), the
# modules it exposes lazily as attributes (``dj.diagram``, ``dj.gc``, ``dj.cli``), and the modules
# behind ``dj.config`` (``settings``) and ``dj.logger`` (``logging``). Everything else
# (``declare``, ``heading``, ``utils``, ``adapters``, ``storage``, ...) is an implementation detail.
PUBLIC_MODULES = frozenset(
    {
        "autopopulate",
        "blob",
        "builtin_codecs",
        "builtin_codecs.npy",
        "builtin_codecs.schema",
        "cli",
        "codecs",
        "condition",
        "connection",
        "deploy",
        "diagram",
        "errors",
        "expression",
        "gc",
        "instance",
        "jobs",
        "logging",
        "migrate",
        "objectref",
        "schemas",
        "settings",
        "spark",
        "storage_adapter",
        "table",
        "user_tables",
    }
)

PRIVATE_MARK = "is a private module of the reference"
MISSING_MARK = "is a public module of the reference that datajoint_core lacks"


def resolve(name: str) -> str:
    """The datajoint_core module that ``name`` (``datajoint`` or ``datajoint.<m>``) maps to.

    Raises ModuleNotFoundError for a private module path, and for a public one datajoint_core
    does not have.
    """
    if name == SOURCE:
        return TARGET
    if not name.startswith(SOURCE + "."):
        raise ValueError(f"{name!r} is not a {SOURCE} module")
    sub = name[len(SOURCE) + 1 :]
    if sub not in PUBLIC_MODULES:
        raise ModuleNotFoundError(
            f"No module named {name!r}: {name} {PRIVATE_MARK} (the conformance shim maps only "
            "public module paths)",
            name=name,
        )
    target = f"{TARGET}.{sub}"
    try:
        found = importlib.util.find_spec(target)
    except ModuleNotFoundError:  # a missing parent package (datajoint_core.builtin_codecs)
        found = None
    if found is not None:
        return target
    raise ModuleNotFoundError(f"No module named {name!r}: {name} {MISSING_MARK}", name=name)


class _AliasLoader(importlib.abc.Loader):
    """Replaces the placeholder module in ``sys.modules`` with the datajoint_core module."""

    def __init__(self, target: str) -> None:
        self.target = target

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType | None:
        return None  # a throwaway placeholder; exec_module swaps the real module in

    def exec_module(self, module: ModuleType) -> None:
        # The import system re-reads sys.modules[name] after exec_module, so the caller gets the
        # datajoint_core module itself, with its own __name__ and __spec__ untouched.
        sys.modules[module.__name__] = importlib.import_module(self.target)

    def get_code(self, fullname: str) -> object:
        """The datajoint_core module's code: ``python -m datajoint.cli`` runs it as __main__."""
        found = importlib.util.find_spec(self.target)
        loader = found.loader if found is not None else None
        if loader is None or not hasattr(loader, "get_code"):
            raise ImportError(f"no code for {self.target}", name=fullname)
        return loader.get_code(self.target)


class _NamingLoader(importlib.abc.Loader):
    """Loads a public datajoint_core module as usual, then names it ``datajoint.<m>`` in
    ``sys.modules`` too (so ``"datajoint.diagram" in sys.modules`` tells that it was loaded)."""

    def __init__(self, loader: importlib.abc.Loader, alias: str) -> None:
        self.loader = loader
        self.alias = alias

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType | None:
        return self.loader.create_module(spec)

    def exec_module(self, module: ModuleType) -> None:
        self.loader.exec_module(module)
        sys.modules[self.alias] = module

    def __getattr__(self, name: str) -> object:  # get_source, get_resource_reader, ...
        return getattr(self.loader, name)


class AliasFinder(importlib.abc.MetaPathFinder):
    """Answers for ``datajoint`` and ``datajoint.*``, and names public ``datajoint_core.*``
    modules as their ``datajoint.*`` path when they load; declines every other name."""

    def find_spec(
        self, fullname: str, path: object = None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname.startswith(TARGET + "."):
            return self._named(fullname, path, target)
        if fullname != SOURCE and not fullname.startswith(SOURCE + "."):
            return None
        real = resolve(fullname)
        spec = importlib.machinery.ModuleSpec(fullname, _AliasLoader(real))
        found = importlib.util.find_spec(real)
        if found is not None and found.submodule_search_locations is not None:
            spec.submodule_search_locations = []  # a package: submodule imports may follow
        return spec

    def _named(
        self, fullname: str, path: object, target: ModuleType | None
    ) -> importlib.machinery.ModuleSpec | None:
        sub = fullname[len(TARGET) + 1 :]
        if sub not in PUBLIC_MODULES:
            return None
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(fullname, path, target)
            if spec is not None:
                if spec.loader is not None:
                    spec.loader = _NamingLoader(spec.loader, f"{SOURCE}.{sub}")
                return spec
        return None


def install() -> AliasFinder:
    """Put an AliasFinder first on ``sys.meta_path`` (idempotent) and return it."""
    for finder in sys.meta_path:
        if isinstance(finder, AliasFinder):
            return finder
    finder = AliasFinder()
    sys.meta_path.insert(0, finder)
    return finder


def uninstall() -> None:
    """Remove the finder and every ``datajoint`` alias from ``sys.modules``."""
    sys.meta_path[:] = [f for f in sys.meta_path if not isinstance(f, AliasFinder)]
    for name in [n for n in sys.modules if n == SOURCE or n.startswith(SOURCE + ".")]:
        del sys.modules[name]


if __name__ == "dj_alias":  # loaded as a pytest plugin, not imported by the unit tests
    install()
    # Test dependencies of the suite that the project venv lacks (faker, polars) live in a
    # separate directory, appended so the project's own packages always win.
    for extra in filter(None, os.environ.get("DJ_CONFORMANCE_APPEND_PATH", "").split(os.pathsep)):
        if extra not in sys.path:
            sys.path.append(extra)
