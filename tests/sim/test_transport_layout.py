"""``Carrier`` is built from mixins (``Arrivals``, ``FullLoader``) and stays a slotted object.

Every base of a slotted class must declare ``__slots__`` too, else instances grow a
``__dict__``: an unknown attribute would then be set silently instead of failing, and every
attribute and method lookup on the hot path would have an instance dictionary to consult.
"""

from __future__ import annotations

from sim.model.transport import Carrier
from sim.model.transport_arrivals import RETURN_SLOTS, Arrivals
from sim.model.transport_dispatch import LOADER_SLOTS, FullLoader


def test_a_carrier_has_no_instance_dict() -> None:
    assert Carrier.__mro__ == (Carrier, Arrivals, FullLoader, object)
    assert Carrier.__dictoffset__ == 0
    assert all("__slots__" in vars(c) for c in Carrier.__mro__[:-1])


def test_the_mixins_state_is_in_the_carriers_slots() -> None:
    slots = set(Carrier.__slots__)
    assert set(RETURN_SLOTS) <= slots
    assert set(LOADER_SLOTS) <= slots
    assert len(Carrier.__slots__) == len(slots)  # no name twice
