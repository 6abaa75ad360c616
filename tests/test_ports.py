"""Ports for the servers the stack and the tests start: free, outside the ephemeral range, and
never handed out twice while reserved."""

import os
import socket
import time
from pathlib import Path

from devstack.postgres import (
    FIRST_PORT,
    PORT_RESERVATIONS,
    RESERVATION_SECONDS,
    claim_port,
    free_port,
)


def ephemeral_start() -> int:
    return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])


def test_ports_are_free_distinct_and_below_the_ephemeral_range() -> None:
    ports = [free_port() for _ in range(50)]
    assert len(set(ports)) == len(ports)
    assert all(FIRST_PORT <= port < ephemeral_start() for port in ports)
    for port in ports[:5]:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", port))  # what the server will do


def test_a_reserved_port_is_not_handed_out_again() -> None:
    port = free_port()
    assert claim_port(port) is False


def test_a_port_in_use_is_not_claimed() -> None:
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        port = server.getsockname()[1]
        marker = PORT_RESERVATIONS / str(port)
        marker.unlink(missing_ok=True)
        assert claim_port(port) is False


def test_an_old_reservation_lapses() -> None:
    port = free_port()
    marker = PORT_RESERVATIONS / str(port)
    old = time.time() - RESERVATION_SECONDS - 1
    os.utime(marker, (old, old))
    assert claim_port(port) is True
    assert claim_port(port) is False  # reserved again, now by this caller
