"""The torch shell's state layout: a learner's state split into parameter-shaped lists (one entry per parameter of a
group, kept per parameter) and group-level leaves (kept in the param group's ``group_state``), and back."""
from __future__ import annotations

from typing import Any, NamedTuple

import torch

_GSTATE = "group_state"  # the param group's entry that holds its group-level state (counters, shared learner state)
_LEARNER = "learner."  # prefix of the learner's state entries
_REFUSED = ("differentiable", "capturable", "fused")  # torch.optim flags this optimizer accepts only when off
_LATER_FLAGS = ("weight_decay", "maximize", "foreach") + _REFUSED  # group entries an older state dict may lack


class _Leaves(list):
    """A list with one entry per parameter of a group: marks the parameter-shaped nodes of a learner's state."""

    __slots__ = ()


def _is_namedtuple(x) -> bool:
    return isinstance(x, tuple) and hasattr(x, "_fields")


def _join(path: str, key) -> str:
    return f"{path}.{key}" if path else str(key)


def _split(state) -> tuple:
    """(per, shared): the learner state's parameter-shaped nodes and its group-level leaves, keyed by dotted path."""
    per: dict[str, list] = {}
    shared: dict[str, Any] = {}

    def walk(node, path):
        if type(node) is _Leaves:
            per[path] = node
        elif _is_namedtuple(node):
            for name, child in zip(node._fields, node):
                walk(child, _join(path, name))
        elif isinstance(node, dict):
            for key, child in node.items():
                walk(child, _join(path, key))
        elif isinstance(node, (list, tuple)):
            for i, child in enumerate(node):
                walk(child, _join(path, i))
        else:
            shared[path] = node

    walk(state, "")
    return per, shared


def _assemble(template, per: dict[str, list], shared: dict[str, Any]):
    """Rebuild a learner state shaped like ``template`` from ``per`` (lists) and ``shared`` (leaves)."""

    def build(node, path):
        if type(node) is _Leaves:
            return _Leaves(per[path])
        if _is_namedtuple(node):
            return type(node)(*(build(child, _join(path, name)) for name, child in zip(node._fields, node)))
        if isinstance(node, dict):
            return {key: build(child, _join(path, key)) for key, child in node.items()}
        if isinstance(node, (list, tuple)):
            return type(node)(build(child, _join(path, i)) for i, child in enumerate(node))
        return shared[path]

    return build(template, "")


class Layout(NamedTuple):
    """A learner's state layout: an ``init`` state on one parameter (``template``), the dotted paths of its
    parameter-shaped fields (``per``) and of its group-level leaves (``shared``)."""

    template: Any
    per: tuple
    shared: tuple


def store_learner_state(states: list[dict], group_state: dict, learner_state) -> None:
    """Write a learner state over the parameters whose state dicts are ``states`` (in order) into those dicts and the
    group's ``group_state``."""
    per, shared = _split(learner_state)
    seen = set()
    for path, values in per.items():
        for st, v in zip(states, values):
            if isinstance(v, torch.Tensor):
                if id(v) in seen:  # one tensor in two fields (a functional init may share its zeros): the
                    v = v.clone()  # in-place kernels need a buffer per field
                seen.add(id(v))
            st[_LEARNER + path] = v
    for path, value in shared.items():
        group_state[_LEARNER + path] = value


def learner_lists(layout: Layout, states: list[dict], group_state: dict) -> tuple:
    """(per, shared): the learner's state over ``states`` as the kernels of :mod:`o2nc.torch._fast` take it."""
    per = {f: [st[_LEARNER + f] for st in states] for f in layout.per}
    shared = {f: group_state[_LEARNER + f] for f in layout.shared}
    return per, shared


def learner_state(layout: Layout, states: list[dict], group_state: dict):
    """The learner's state over ``states``, as the learner's own NamedTuple (the inverse of
    :func:`store_learner_state`)."""
    per, shared = learner_lists(layout, states, group_state)
    return _assemble(layout.template, per, shared)
