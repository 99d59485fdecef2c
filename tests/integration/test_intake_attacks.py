"""Hostile XML: entity expansion and external entities are refused with a 400, without
reading a file or opening a connection. (How fast: bench/intake.py.)"""

from __future__ import annotations

import os
import socket
import threading

import pytest

from tests.signing import COURT, push

BILLION_LAUGHS = (
    '<?xml version="1.0"?>\n<!DOCTYPE lolz [\n <!ENTITY lol "lol">\n'
    + "".join(
        f' <!ENTITY lol{i} "{(f"&lol{i - 1};" if i > 1 else "&lol;") * 10}">\n'
        for i in range(1, 10)
    )
    + ']>\n<Referral xmlns="urn:mediation:court-referral:1">&lol9;</Referral>'
).encode()
QUADRATIC_BLOWUP = (
    '<?xml version="1.0"?>\n<!DOCTYPE r [<!ENTITY a "' + "A" * 50_000 + '">]>\n'
    '<Referral xmlns="urn:mediation:court-referral:1">' + "&a;" * 10_000 + "</Referral>"
).encode()


def external_entity(system_id: str, parameter: bool = False) -> bytes:
    if parameter:
        doctype = f'<!DOCTYPE r [<!ENTITY % ext SYSTEM "{system_id}"> %ext;]>'
    else:
        doctype = f'<!DOCTYPE r [<!ENTITY ext SYSTEM "{system_id}">]>'
    return (
        f'<?xml version="1.0"?>\n{doctype}\n'
        '<Referral xmlns="urn:mediation:court-referral:1">'
        "<ReferralId>&ext;</ReferralId></Referral>"
    ).encode()


def assert_refused(response) -> None:
    assert response.status_code == 400
    assert response.mimetype == "application/problem+json"
    assert "DOCTYPE" in response.json["detail"]


@pytest.mark.parametrize("body", [BILLION_LAUGHS, QUADRATIC_BLOWUP], ids=["laughs", "quadratic"])
def test_entity_expansion_is_refused(client, body):
    assert_refused(push(client, COURT, body))


@pytest.mark.parametrize("parameter", [False, True], ids=["general", "parameter"])
def test_external_file_entity_reads_no_file(client, tmp_path, parameter):
    fifo = tmp_path / "secret"
    os.mkfifo(fifo)
    opened = threading.Event()

    def writer() -> None:  # open() of a FIFO returns only once somebody opens it to read
        with open(fifo, "wb"):
            opened.set()

    thread = threading.Thread(target=writer, daemon=True)
    thread.start()
    response = push(client, COURT, external_entity(fifo.as_uri(), parameter))
    was_read = opened.wait(0.2)
    os.close(os.open(fifo, os.O_RDONLY | os.O_NONBLOCK))  # release the writer
    thread.join(1)
    assert_refused(response)
    assert not was_read


@pytest.mark.parametrize("parameter", [False, True], ids=["general", "parameter"])
def test_external_url_entity_opens_no_connection(client, parameter):
    server = socket.create_server(("127.0.0.1", 0))
    server.settimeout(0.2)
    port = server.getsockname()[1]
    response = push(client, COURT, external_entity(f"http://127.0.0.1:{port}/x", parameter))
    try:
        server.accept()
        connected = True
    except TimeoutError:
        connected = False
    finally:
        server.close()
    assert_refused(response)
    assert not connected
