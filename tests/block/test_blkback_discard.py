"""BLKIF_OP_DISCARD gives the range back: a hole punched in a sparse image where the host
can, zeros written a megabyte at a time where it cannot; the range reads back as zeros
either way and nothing outside it changes."""

import pytest

from paravisor.services import blkback
from paravisor.services.blkback import SECTOR_SIZE
from paravisor.testing.blkfront import BlockBed

OKAY = 0
MIB = 1 << 20
SECTORS = 4 * MIB // SECTOR_SIZE


def _filled_image(tmp_path):
    image = tmp_path / "disk.img"
    image.write_bytes(b"\x77" * (4 * MIB))
    return image


@pytest.mark.parametrize("punch", [True, False], ids=["punch-hole", "write-zeros"])
def test_discard_reads_back_as_zeros_and_leaves_the_rest(tmp_path, monkeypatch, punch):
    if not punch:
        monkeypatch.setattr(blkback, "_punch_hole", lambda *_: False)
    image = _filled_image(tmp_path)
    front = BlockBed(str(image)).frontend()
    first, count = 8, SECTORS - 16            # all but 4 KiB at each end: several chunks
    assert front.discard(first, count) == OKAY
    raw = image.read_bytes()
    assert len(raw) == 4 * MIB
    assert raw[first * SECTOR_SIZE:(first + count) * SECTOR_SIZE] == bytes(count * SECTOR_SIZE)
    assert raw[:first * SECTOR_SIZE] == b"\x77" * (first * SECTOR_SIZE)
    assert raw[(first + count) * SECTOR_SIZE:] == b"\x77" * (8 * SECTOR_SIZE)


def test_a_punched_hole_gives_the_space_back(tmp_path):
    image = _filled_image(tmp_path)
    if blkback._fallocate() is None:
        pytest.skip("this host cannot punch holes")
    before = image.stat().st_blocks
    front = BlockBed(str(image)).frontend()
    assert front.discard(0, SECTORS) == OKAY
    after = image.stat().st_blocks
    if after >= before:
        pytest.skip("this filesystem does not support holes")
    assert image.read_bytes() == bytes(4 * MIB)
