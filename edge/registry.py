"""One small Registry: ``@reg.register(key)`` next to the code, ``reg.get(key)``, ``reg.names()``.

Keys are strings (backend names) or types (layer converters); for a type key, ``get`` walks the
MRO so a subclass of a registered layer finds its parent's entry. A duplicate key is an error.
"""

from __future__ import annotations

from typing import Any, Callable, Generic, Iterator, TypeVar

from edge.errors import EdgeError, InternalError

T = TypeVar("T")


class Registry(Generic[T]):
    def __init__(self, what: str):
        self.what = what
        self._items: dict[Any, T] = {}

    def register(self, *keys: Any) -> Callable[[T], T]:
        """Decorator registering the object under every key given."""

        def deco(obj: T) -> T:
            for key in keys:
                if key in self._items:
                    raise InternalError(f"{self.what} '{_name(key)}' is registered twice")
                self._items[key] = obj
            return obj

        return deco

    def find(self, key: Any) -> T | None:
        """The entry for ``key`` (for a type: its nearest registered base), or None."""
        if isinstance(key, type):
            for base in key.__mro__:
                if base in self._items:
                    return self._items[base]
            return None
        return self._items.get(key)

    def get(self, key: Any) -> T:
        """The entry for ``key``; an unknown key raises EdgeError listing the known ones."""
        obj = self.find(key)
        if obj is None:
            raise EdgeError(f"unknown {self.what} '{_name(key)}'; known: {', '.join(self.names())}")
        return obj

    def names(self) -> list[str]:
        return sorted(_name(k) for k in self._items)

    def __contains__(self, key: Any) -> bool:
        return self.find(key) is not None

    def __iter__(self) -> Iterator[Any]:
        return iter(self._items)

    def items(self):
        return self._items.items()


def _name(key: Any) -> str:
    return key.__name__ if isinstance(key, type) else str(key)
