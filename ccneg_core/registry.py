"""The one registry style of ccneg: a name -> ``"module.path:attribute"`` table, loaded on use.

Every extension point (pipeline steps, negation backends, build engines, input formats,
model kinds, benchmark datasets, tasks, training losses) is a :class:`Registry`: adding an
entry is one module that defines the thing plus one line in the table that names it. The
targets are strings, so that

* nothing is imported until it is used: choosing the rule backend never imports an LLM SDK,
  listing the losses for ``--help`` never builds a model, and a part that needs an optional
  package (torch, transformers, ray, httpx) costs nothing to runs that do not use it;
* command-line choices and help are read from the table's keys, never written out again;
* a plug-in (or a test) adds an entry with one line: ``REGISTRY["name"] = "pkg.mod:thing"``.

A registry is a ``dict`` subclass, so the usual mapping operations work on it.
"""

from __future__ import annotations

import importlib
from typing import Any


class UnknownName(ValueError):
    """A name no entry of the registry has; the message lists the known ones."""


class Registry(dict[str, str]):
    """Names of one kind of thing (``what``, e.g. "loss") -> ``"module:attribute"`` targets."""

    def __init__(self, what: str, entries: dict[str, str]) -> None:
        super().__init__()
        self.what = what
        for name, target in entries.items():
            self[name] = target

    def __setitem__(self, name: str, target: str) -> None:
        module, sep, attribute = target.partition(":")
        if not (module and sep and attribute):
            raise ValueError(f"{self.what} {name!r}: a target looks like 'package.module:attribute', not {target!r}")
        super().__setitem__(name, target)

    def names(self) -> list[str]:
        """The registered names, in registration order (what ``--help`` and choices list)."""
        return list(self)

    def check(self, name: str) -> str:
        """``name`` if it is registered; else :class:`UnknownName` listing the known names."""
        if name not in self:
            raise UnknownName(f"unknown {self.what} {name!r}; choose one of: {', '.join(self)}")
        return name

    def load(self, name: str) -> Any:
        """Import the entry's module and return its attribute.

        A missing module raises ``ImportError`` (the caller knows which extra to suggest);
        a module without the attribute is a broken registration and raises ``AttributeError``.
        """
        module_name, _, attribute = self[self.check(name)].partition(":")
        module = importlib.import_module(module_name)
        try:
            return getattr(module, attribute)
        except AttributeError:
            raise AttributeError(f"{self.what} {name!r}: {module_name} has no attribute {attribute!r}") from None

    def load_all(self) -> dict[str, Any]:
        """Every entry, loaded (for help texts and checks that need them all)."""
        return {name: self.load(name) for name in self}
