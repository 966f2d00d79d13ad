"""One registry from (family, key) to the solver's label and to the formulation's grammar name.

Every column and row of the fleet model is made once, here, from its family (``units``,
``busy``, ``capacity``, ``site_power``, ...) and its key (indices: SKU column, workload, site,
period, slice). The solver's label is built from the family and the indices alone
(``busy_3_0_0_17``): PuLP rewrites ``-``, ``+``, ``@``, spaces and brackets in names, so labels
made from user ids could collide or change. The grammar name (``busy[gb300-nvl72,chat,17]``,
``site_power[hall-a]``, ``power_cap[2026Q3]``) carries the ids, escaped so that two ids never give
one name. Values, duals, model files, reports and diagnoses look a row or column up by its key
or its label here, never by parsing a name back.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

_ESCAPE = re.compile(r"[\\,\[\]\s]")
_FAMILY = re.compile(r"[a-z][a-z_]*")


def escape(identifier: str) -> str:
    """An id made safe inside a name: ``\\``, ``,``, ``[``, ``]`` and whitespace become ``\\xNN``."""
    return _ESCAPE.sub(lambda m: f"\\x{ord(m.group()):02x}", identifier)


@dataclass(kw_only=True)
class Names:
    """The registry of one model: ids per index (escaped), and every name made so far.

    ``periodic`` says whether grammar names carry the period (a buildout) or not (a single-period
    plan, whose rows read ``power_cap``, ``units[h200-sxm]``)."""

    skus: tuple[str, ...]  # column ids, escaped
    workloads: tuple[str, ...]
    sites: tuple[str, ...]
    periods: tuple[str, ...]  # period labels, escaped
    periodic: bool
    _labels: dict[tuple[str, tuple[int, ...]], str] = field(default_factory=dict)
    _grammar: dict[str, str] = field(default_factory=dict)

    @classmethod
    def of(cls, sku_ids, workloads, site_ids, period_labels) -> Names:
        return cls(
            skus=tuple(escape(s) for s in sku_ids),
            workloads=tuple(escape(w) for w in workloads),
            sites=tuple(escape(s) for s in site_ids),
            periods=tuple(escape(p) for p in period_labels),
            periodic=len(period_labels) > 1,
        )

    def add(self, family: str, key: tuple[int, ...], ids: tuple[str, ...], period: int | None = None) -> str:
        """Register the column or row ``family[key]`` and return its solver label.

        ``ids`` are the grammar's indices (escaped ids and slice numbers, without the period);
        ``period`` joins them before the last slice index (``busy[s,w,2026Q3,17]``) or at the end
        when the model has several periods."""
        if not _FAMILY.fullmatch(family) or not all(isinstance(i, int) for i in key):
            raise ValueError(f"a name is a lower-case family and integer indices: {family}{key}")
        full = (*key, period) if period is not None else key
        label = "_".join((family, *(str(i) for i in full)))
        if (family, full) in self._labels or label in self._grammar:
            raise ValueError(f"{label} is registered twice")
        parts = list(ids)
        if period is not None and self.periodic:
            parts.insert(len(parts) - 1 if family in _SLICED else len(parts), self.periods[period])
        self._labels[family, full] = label
        self._grammar[label] = f"{family}[{','.join(parts)}]" if parts else family
        return label

    def add_slices(
        self, family: str, key: tuple[int, ...], ids: tuple[str, ...], slices: int, period: int | None = None
    ) -> list[str]:
        """``add(family, (*key, t), (*ids, str(t)), period)`` for every slice t < ``slices``, at once."""
        if family not in _SLICED:
            raise ValueError(f"{family} is not indexed by slice")
        if not _FAMILY.fullmatch(family) or not all(isinstance(i, int) for i in key):
            raise ValueError(f"a name is a lower-case family and integer indices: {family}{key}")
        head = "_".join((family, *(str(i) for i in key)))
        tail = "" if period is None else f"_{period}"
        labels = [f"{head}_{t}{tail}" for t in range(slices)]
        fulls = [(*key, t, period) if period is not None else (*key, t) for t in range(slices)]
        if any((family, f) in self._labels for f in fulls) or not self._grammar.keys().isdisjoint(labels):
            raise ValueError(f"{head}_*{tail} is registered twice")
        parts = [*ids, self.periods[period]] if period is not None and self.periodic else list(ids)
        prefix = f"{family}[{''.join(f'{i},' for i in parts)}"
        self._labels.update({(family, f): label for f, label in zip(fulls, labels, strict=True)})
        self._grammar.update({label: f"{prefix}{t}]" for t, label in enumerate(labels)})
        return labels

    def label(self, family: str, key: tuple[int, ...], period: int | None = None) -> str:
        """The solver label of ``family[key]`` (in ``period``)."""
        return self._labels[family, (*key, period) if period is not None else key]

    def grammar(self, label: str) -> str:
        """The grammar name of a solver label."""
        return self._grammar[label]

    def grammar_names(self) -> dict[str, str]:
        """Solver label -> grammar name, for every registered column and row."""
        return dict(self._grammar)

    def __contains__(self, label: str) -> bool:
        return label in self._grammar


_SLICED = frozenset({"busy", "unserved", "capacity", "serve_demand"})
