"""The classes a model file may hold, by name: a registry that needs no torch, so that
the input readers (:mod:`sklearn_rnn._reader`) register themselves without it."""

_REGISTRY = {}


def register(cls):
    """Let model files hold instances of ``cls``; usable as a class decorator.

    A file names its class by ``__name__``. A later class of a name already taken is
    not registered (unless it is the same class defined again, as a module reload
    does), so that a user's subclass named like one of sklearn-rnn's estimators never
    stands in for it; saving an instance of it raises :class:`TypeError`.

    Parameters
    ----------
    cls : type

    Returns
    -------
    cls
    """
    known = _REGISTRY.get(cls.__name__)
    if known is None or _same_definition(known, cls):
        _REGISTRY[cls.__name__] = cls
    return cls


def _same_definition(a, b):
    return (a.__module__, a.__qualname__) == (b.__module__, b.__qualname__)
