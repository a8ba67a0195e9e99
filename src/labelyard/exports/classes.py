"""Class ids of an export: the label schema's classes in order, then labels as first seen."""

from __future__ import annotations

from collections.abc import Iterable


class Classes:
    """Zero-based ids of class names; a label not seen before gets the next id."""

    def __init__(self, names: Iterable[str] = ()) -> None:
        self._ids: dict[str, int] = {}
        for name in names:
            self.id_of(name)

    def id_of(self, label: str) -> int:
        """The id of ``label``, added at the end if new."""
        found = self._ids.get(label)
        if found is None:
            found = self._ids[label] = len(self._ids)
        return found

    @property
    def names(self) -> list[str]:
        """Every class name, in id order."""
        return list(self._ids)
