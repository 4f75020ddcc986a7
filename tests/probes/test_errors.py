"""Errors raised while a probe item is scored name where they happened and keep what they are."""

from __future__ import annotations

import pytest

from duplex.errors import ModelError
from duplex.probes.run import _naming
from duplex.probes.sets import ProbeItem


class StalledError(ModelError):
    """A model error with an attribute of its own (as SessionFailed keeps its recording)."""

    def __init__(self, message: str, waited_s: float) -> None:
        super().__init__(message)
        self.waited_s = waited_s


def test_a_named_error_keeps_its_class_and_attributes() -> None:
    item = ProbeItem(
        id="copa-7", context="The man broke his toe.", choices=("a", "b"), label=0, license="MIT"
    )
    with pytest.raises(StalledError) as err, _naming("copa", [item], "s2t"):
        raise StalledError("no answer", waited_s=3.0)
    assert err.value.waited_s == 3.0
    assert str(err.value) == "probe set 'copa', item copa-7, condition s2t: no answer"
