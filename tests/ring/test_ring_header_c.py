"""ring.h, the C ring generated from paravisor/ring/__init__.py: the committed header is fresh,
--check catches drift, and the macros, run in a real guest, agree with paravisor.ring
step by step while every index wraps past 2**32."""

import random
import shutil
import subprocess
from pathlib import Path

from paravisor.abi.io import BLKIF_REQUEST, BLKIF_RESPONSE, BLKIF_RING_SIZE
from paravisor.generated import stale_files
from paravisor.ring import BackRing, BytesPage, FrontRing, RingLayout, SharedRing
from paravisor.ring import header as ring_header
from paravisor.testing.cc import run_c

ROOT = Path(__file__).resolve().parents[2]
START = 2**32 - 40            # every index starts here, so the script crosses 2**32
PUT, SERVE, FRONT_CHECK, BACK_CHECK, TAKE = range(5)


def test_committed_ring_h_equals_a_fresh_generation():
    stale = stale_files(ring_header.expected_files(ROOT))
    assert not stale, f"run `{ring_header.COMMAND}`: stale {stale}"


def test_ring_sizes_and_notify_test_come_from_python():
    text = (ROOT / ring_header.H_PATH).read_text()
    assert f"_Static_assert(BLKIF_RING_SIZE == {BLKIF_RING_SIZE}," in text
    assert f"#define RING_NOTIFY_NEEDED(new, old, event) {ring_header.NOTIFY_NEEDED}" in text
    assert "(s)->req_event = 1;" in text and "(s)->rsp_event = 1;" in text


def test_check_reports_drift_and_generation_repairs_it(tmp_path):
    header = tmp_path / ring_header.H_PATH
    header.parent.mkdir(parents=True)
    shutil.copy(ROOT / ring_header.H_PATH, header)
    messages = []
    assert ring_header.main(["--check", "--root", str(tmp_path)], out=messages.append) == 0
    header.write_text("/* edited by hand */\n")
    assert ring_header.main(["--check", "--root", str(tmp_path)], out=messages.append) == 1
    assert messages == [f"stale: {header} (run `{ring_header.COMMAND}`)"]
    assert ring_header.main(["--root", str(tmp_path)], out=messages.append) == 0
    assert header.read_text() == (ROOT / ring_header.H_PATH).read_text()


def test_a_root_that_is_not_a_checkout_is_a_clean_error(tmp_path, capsys):
    assert ring_header.main(["--check", "--root", str(tmp_path / "nowhere")]) == 2
    assert "a paravisor checkout?" in capsys.readouterr().err


def test_module_runs_as_a_script():
    result = subprocess.run(["python3", "-m", "paravisor.ring.header", "--check"],
                            capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 0, result.stdout + result.stderr


def make_script(seed: int, length: int) -> list[tuple[int, int]]:
    """(operation, argument) steps: PUT puts `argument` requests (as many as fit)."""
    rng = random.Random(seed)
    return [(op, rng.randint(1, 12) if op == PUT else 0)
            for op in (rng.choice((PUT, PUT, SERVE, FRONT_CHECK, BACK_CHECK, TAKE))
                       for _ in range(length))]


def python_trace(script: list[tuple[int, int]]) -> list[str]:
    """What the C program prints, computed with paravisor.ring."""
    sring = SharedRing(BytesPage(), RingLayout(BLKIF_REQUEST, BLKIF_RESPONSE))
    sring.init()
    for offset in (0, 8):            # req_prod, rsp_prod
        sring.set(offset, START)
    for offset in (4, 12):           # req_event, rsp_event
        sring.set(offset, START + 1)
    front, back = FrontRing(sring, attach=True), BackRing(sring, attach=True)
    out, next_id = [], 0
    for op, arg in script:
        if op == PUT:
            count = min(arg, front.free_requests())
            for _ in range(count):
                next_id += 1
                front.put_request({"id": next_id})
            out.append(f"put {count} notify {int(front.push_requests())}")
        elif op == SERVE:
            served = 0
            while back.unconsumed_requests():
                req = back.copy_request()
                back.put_response({"id": req["id"], "status": 0})
                served += 1
            out.append(f"serve {served} notify {int(back.push_responses())}")
        elif op == FRONT_CHECK:
            out.append(f"fcheck {int(front.final_check_for_responses())}")
        elif op == BACK_CHECK:
            out.append(f"bcheck {int(back.final_check_for_requests())}")
        else:
            ids = [front.get_response()["id"] for _ in range(front.unconsumed_responses())]
            out.append(f"take {len(ids)} last {ids[-1] if ids else 0}")
    return out


C_PROGRAM = r"""
#include <stdio.h>
#include <ring.h>
#include <gnttab.h>

static const unsigned char ops[] = {%(ops)s};
static const unsigned char args[] = {%(args)s};

int main(void)
{
    blkif_sring_t *s = alloc_page();
    blkif_front_ring_t f;
    blkif_back_ring_t b;
    blkif_request_t req;
    unsigned int i, k, count, next_id = 0, last;
    int notify, work;

    SHARED_RING_INIT(s);
    s->req_prod = s->rsp_prod = %(start)uu;
    s->req_event = s->rsp_event = %(start)uu + 1;
    FRONT_RING_ATTACH(&f, s, BLKIF_RING_SIZE);
    BACK_RING_ATTACH(&b, s, BLKIF_RING_SIZE);
    for (i = 0; i < sizeof(ops); i++) {
        switch (ops[i]) {
        case 0:
            count = args[i] < RING_FREE_REQUESTS(&f) ? args[i] : RING_FREE_REQUESTS(&f);
            for (k = 0; k < count; k++)
                RING_GET_REQUEST(&f, f.req_prod_pvt++)->id = ++next_id;
            RING_PUSH_REQUESTS_AND_CHECK_NOTIFY(&f, notify);
            printf("put %%u notify %%d\n", count, notify);
            break;
        case 1:
            count = 0;
            while (RING_HAS_UNCONSUMED_REQUESTS(&b)
                   && !RING_REQUEST_CONS_OVERFLOW(&b, b.req_cons)) {
                RING_COPY_REQUEST(&b, b.req_cons++, &req);
                RING_GET_RESPONSE(&b, b.rsp_prod_pvt)->id = req.id;
                RING_GET_RESPONSE(&b, b.rsp_prod_pvt++)->status = 0;
                count++;
            }
            RING_PUSH_RESPONSES_AND_CHECK_NOTIFY(&b, notify);
            printf("serve %%u notify %%d\n", count, notify);
            break;
        case 2:
            RING_FINAL_CHECK_FOR_RESPONSES(&f, work);
            printf("fcheck %%d\n", work);
            break;
        case 3:
            RING_FINAL_CHECK_FOR_REQUESTS(&b, work);
            printf("bcheck %%d\n", work);
            break;
        default:
            count = RING_HAS_UNCONSUMED_RESPONSES(&f);
            last = 0;
            for (k = 0; k < count; k++)
                last = (unsigned int)RING_GET_RESPONSE(&f, f.rsp_cons++)->id;
            printf("take %%u last %%u\n", count, last);
        }
    }
    printf("end %%u %%u %%u %%u\n", s->req_prod, s->rsp_prod, s->req_event, s->rsp_event);
    return 0;
}
"""


def test_c_macros_agree_with_paravisor_ring_across_the_wrap():
    script = make_script(seed=16, length=160)
    source = C_PROGRAM % {"ops": ", ".join(str(op) for op, _ in script),
                          "args": ", ".join(str(arg) for _, arg in script),
                          "start": START}
    status, console = run_c(source)
    lines = console.splitlines()
    assert status == 0, console
    expected = python_trace(script)
    assert lines[:-1] == expected
    end = [int(word) for word in lines[-1].split()[1:]]
    assert end[0] < START and end[1] < START, "the script did not wrap the indices"
    # the script exercises both answers of every test, and goes round the ring
    for word in ("notify 0", "notify 1", "fcheck 0", "fcheck 1", "bcheck 0", "bcheck 1"):
        assert any(word in line for line in expected), word
    assert sum(int(line.split()[1]) for line in expected if line.startswith("serve")) \
        > 2 * BLKIF_RING_SIZE
