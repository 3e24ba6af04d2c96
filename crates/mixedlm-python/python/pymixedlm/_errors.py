"""Exceptions and warnings of pymixedlm, and the engine's errors turned into them."""

from __future__ import annotations

import contextlib
import sys
from typing import Iterator


def _statsmodels_convergence_warning() -> tuple[type, ...]:
    """statsmodels' ConvergenceWarning when statsmodels is already loaded (it is never
    imported here), so that a filter written for statsmodels' class also catches ours."""
    module = sys.modules.get("statsmodels.tools.sm_exceptions")
    cls = getattr(module, "ConvergenceWarning", None)
    return (cls,) if isinstance(cls, type) and issubclass(cls, UserWarning) else ()


class ConvergenceWarning(*_statsmodels_convergence_warning(), UserWarning):  # type: ignore[misc]
    """The optimizer stopped without converging (statsmodels' warning category).

    A subclass of ``UserWarning``; also of statsmodels' ``ConvergenceWarning`` when
    statsmodels was imported before pymixedlm.
    """


class ModelSpecificationWarning(UserWarning):
    """The model fitted is not the one a reader of the call might expect (the message says
    what was fitted and how to get the other)."""


class ColumnNotFoundError(KeyError):
    """A column named in the formula or in ``groups`` is not in the data.

    A ``KeyError`` (as pandas raises for a missing column) whose message prints as written.
    """

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


@contextlib.contextmanager
def engine_errors() -> Iterator[None]:
    """Re-raise the engine's ``KeyError`` as :class:`ColumnNotFoundError` (readable text)."""
    try:
        yield
    except ColumnNotFoundError:
        raise
    except KeyError as e:
        raise ColumnNotFoundError(e.args[0] if e.args else "unknown column") from None
