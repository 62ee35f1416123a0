"""Lazy package exports (PEP 562): a stage's public names load on first use, so `ecoradar --help` stays fast."""

from __future__ import annotations

import importlib
from collections.abc import Callable


def lazy_getattr(namespace: dict, modules: tuple[str, ...]) -> Callable[[str], object]:
    """Return a module-level `__getattr__` that imports `modules` when a name of `namespace['__all__']` is used.

    Args:
        namespace (dict): the package's `globals()`; imported names are stored there, so each loads once.
        modules (tuple[str, ...]): modules holding the public names.
    """

    def __getattr__(name: str) -> object:
        if name not in namespace["__all__"]:
            raise AttributeError(f"module {namespace['__name__']!r} has no attribute {name!r}")
        for module in map(importlib.import_module, modules):
            namespace.update({n: getattr(module, n) for n in namespace["__all__"] if hasattr(module, n)})
        return namespace[name]

    return __getattr__
