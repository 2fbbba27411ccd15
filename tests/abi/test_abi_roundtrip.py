"""pack/unpack round trips for every public structure (Hypothesis)."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from paravisor import abi
from paravisor.abi.types import Array, Scalar, Struct, Union

SHORT = 3   # long arrays get a short prefix; pack zero-fills the rest


def values(typ):
    """A strategy for values of `typ` (unions: one full-size variant)."""
    if isinstance(typ, Scalar):
        bits = typ.bits
        low, high = ((-(1 << (bits - 1)), (1 << (bits - 1)) - 1) if typ.signed
                     else (0, (1 << bits) - 1))
        return st.integers(low, high)
    if isinstance(typ, Array):
        if typ.is_bytes:
            return st.binary(max_size=typ.count)
        return st.lists(values(typ.elem), max_size=min(typ.count, SHORT))
    if isinstance(typ, Union):
        full = [name for name, t in typ.variants.items() if t.size == typ.size]
        return st.sampled_from(full).flatmap(
            lambda name: values(typ.variants[name]).map(lambda v: {name: v}))
    return st.fixed_dictionaries({m.name: values(m.type) for m in typ.members})


def assert_decoded(typ, value, decoded):
    """`decoded` (from unpack) is `value` (given to pack), zero-filled where short."""
    if isinstance(typ, Scalar):
        assert decoded == value
    elif isinstance(typ, Array) and typ.is_bytes:
        assert decoded == bytes(value) + bytes(typ.count - len(value))
    elif isinstance(typ, Array):
        assert len(decoded) == typ.count
        for i, item in enumerate(decoded):
            if i < len(value):
                assert_decoded(typ.elem, value[i], item)
            else:
                assert typ.elem.encode(item) == bytes(typ.elem.size)
    elif isinstance(typ, Union):
        (name, inner), = value.items()
        assert_decoded(typ.variants[name], inner, decoded[name])
    else:
        assert set(decoded) == {m.name for m in typ.members}
        for m in typ.members:
            assert_decoded(m.type, value[m.name], decoded[m.name])


def covered(typ, base=0):
    """Byte offsets that some scalar occupies (unions: their first full-size variant)."""
    if isinstance(typ, Scalar):
        return set(range(base, base + typ.size))
    if isinstance(typ, Array):
        return set().union(*(covered(typ.elem, base + i * typ.elem.size)
                             for i in range(typ.count)))
    if isinstance(typ, Union):
        name = next(n for n, t in typ.variants.items() if t.size == typ.size)
        return covered(typ.variants[name], base)
    return set().union(*(covered(m.type, base + m.offset) for m in typ.members))


def only_full_variants(typ, decoded):
    """`decoded` with every union narrowed to the variant `covered` picks, so it packs."""
    if isinstance(typ, Union):
        name = next(n for n, t in typ.variants.items() if t.size == typ.size)
        return {name: only_full_variants(typ.variants[name], decoded[name])}
    if isinstance(typ, Struct):
        return {m.name: only_full_variants(m.type, decoded[m.name]) for m in typ.members}
    if isinstance(typ, Array) and not typ.is_bytes:
        return [only_full_variants(typ.elem, item) for item in decoded]
    return decoded


# Small structures get the full example budget; the page-sized ones a few examples.
STRUCTS = [s for s in abi.STRUCTS if s.size <= 256]
BIG = [s for s in abi.STRUCTS if s.size > 256]


@pytest.mark.parametrize("struct", STRUCTS, ids=lambda s: s.name)
@settings(max_examples=25)
@given(data=st.data())
def test_pack_then_unpack_gives_the_values_back(struct, data):
    value = data.draw(values(struct))
    packed = struct.pack(**value)
    assert len(packed) == struct.size
    assert_decoded(struct, value, struct.unpack(packed))


@pytest.mark.parametrize("struct", abi.STRUCTS, ids=lambda s: s.name)
@settings(max_examples=10)
@given(data=st.data())
def test_unpack_then_pack_gives_the_bytes_back_with_padding_zeroed(struct, data):
    raw = data.draw(st.binary(min_size=struct.size, max_size=struct.size))
    keep = covered(struct)
    expected = bytes(b if i in keep else 0 for i, b in enumerate(raw))
    decoded = only_full_variants(struct, struct.unpack(raw))
    assert struct.pack(**decoded) == expected


@pytest.mark.parametrize("struct", BIG, ids=lambda s: s.name)
@settings(max_examples=5)
@given(data=st.data())
def test_page_sized_structures_round_trip(struct, data):
    value = data.draw(values(struct))
    assert_decoded(struct, value, struct.unpack(struct.pack(**value)))
