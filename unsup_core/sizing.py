"""Sizes that follow the data when a config leaves them unset (``None``): batch sizes and
per-class label budgets. Each rule is one function, stated in its docstring and in the README
("Defaults that adapt to the data"); an explicit value always wins (and is checked against the
data before training, :mod:`unsup_core.preflight`).
"""

from __future__ import annotations

import math

ALL_LABELS = 0  # a label budget of 0: every training label
BATCHES_PER_EPOCH = 16  # the batch rule aims at this many optimiser steps per epoch
MIN_BATCH, MAX_BATCH = 16, 512
LABEL_LADDER = (1, 5, 10, 20)  # few-label rungs of a label-budget curve


def auto_batch_size(n_rows: int) -> int:
    """The power of two nearest ``n_rows / 16``, clipped to [16, 512]: about 16 optimiser steps
    per epoch on small tables (N = 200: 16, so 13 steps), 64 on the digits' ~1,100 training
    rows, and 512 from N ~ 6,000 up (N = 200,000: 391 steps per epoch), where larger steps use
    the CPU better and ``max_steps`` bounds the cost."""
    if n_rows < 1:
        raise ValueError(f"n_rows={n_rows} must be >= 1")
    nearest = 2 ** round(math.log2(max(n_rows / BATCHES_PER_EPOCH, 1.0)))
    return int(min(MAX_BATCH, max(MIN_BATCH, nearest)))


def auto_label_budgets(smallest_class: int) -> tuple[int, ...]:
    """The label-budget curve for a training split whose smallest class has ``smallest_class``
    objects: the rungs 1, 5, 10, 20 that class can fill, then 0 (every label). N = 200 with a
    class of 8 training objects: (1, 5, 0); the digits or N = 200,000: (1, 5, 10, 20, 0)."""
    if smallest_class < 1:
        raise ValueError(f"smallest_class={smallest_class} must be >= 1")
    return tuple(k for k in LABEL_LADDER if k <= smallest_class) + (ALL_LABELS,)


def auto_labels_per_class(smallest_class: int, preferred: int = 10) -> int:
    """One label budget: ``preferred`` labels per class, or the smallest class's training count
    when it has fewer (every class then contributes the same number)."""
    if smallest_class < 1 or preferred < 1:
        raise ValueError(f"smallest_class={smallest_class} and preferred={preferred} must be >= 1")
    return int(min(preferred, smallest_class))


__all__ = [
    "ALL_LABELS",
    "auto_batch_size",
    "auto_label_budgets",
    "auto_labels_per_class",
]
