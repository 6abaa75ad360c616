"""config/alloy/config.alloy: structure, references and the labels it gives each stream.

Alloy itself is not run here (`alloy fmt`/`alloy run` would be the real check); this reads the
file with tests/observability_static/alloy.py.
"""

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.observability_static.alloy import (
    check_alloy,
    parse,
    produced_labels,
    structured_metadata,
)
from tests.observability_static.config_files import ALLOY

LABELS = {"container", "service", "project", "stream", "level"}


def test_alloy_config_is_well_formed() -> None:
    assert check_alloy(ALLOY.read_text(encoding="utf-8")) == []


def test_alloy_label_scheme() -> None:
    text = ALLOY.read_text(encoding="utf-8")
    assert produced_labels(text) == LABELS
    assert structured_metadata(text) == {"request_id", "logger"}


def test_alloy_reads_docker_and_pushes_to_loki() -> None:
    blocks = {(b.name, b.label): b for b in parse(ALLOY.read_text(encoding="utf-8"))}
    socket = "unix:///var/run/docker.sock"
    assert blocks["discovery.docker", "containers"].attributes["host"] == socket
    assert blocks["loki.source.docker", "containers"].attributes["host"] == socket
    (endpoint,) = blocks["loki.write", "loki"].blocks
    assert endpoint.attributes["url"] == "http://loki:3100/loki/api/v1/push"


BROKEN = [
    pytest.param(lambda t: t.rstrip().removesuffix("}"), "never closed", id="unbalanced-brace"),
    pytest.param(lambda t: t.replace('"/(.*)"', '"/(.*)'), "unterminated string", id="open-string"),
    pytest.param(
        lambda t: t.replace("// Grafana Alloy", "/* Grafana Alloy"),
        "unterminated /*",
        id="open-comment",
    ),
    pytest.param(
        lambda t: t.replace('loki.source.docker "', 'loki.source.dockr "'),
        "loki.source.dockr: unknown component",
        id="unknown-component",
    ),
    pytest.param(
        lambda t: t.replace(
            "[loki.process.containers.receiver]", "[loki.process.missing.receiver]"
        ),
        'loki.process "missing", which is not defined',
        id="dangling-reference",
    ),
    pytest.param(
        lambda t: t.replace(
            "discovery.relabel.containers.rules", "discovery.relabel.containers.rulez"
        ),
        "exports no field 'rulez'",
        id="unknown-export",
    ),
    pytest.param(
        lambda t: t.replace("stage.json {", "stage.jsn {"),
        "'stage.jsn' is not a block of loki.process",
        id="unknown-stage",
    ),
    pytest.param(
        lambda t: t.replace("forward_to = [loki.write.loki.receiver]", ""),
        "missing required argument 'forward_to'",
        id="missing-argument",
    ),
    pytest.param(
        lambda t: t + '\nloki.write "loki" {\n  endpoint {\n    url = "http://x"\n  }\n}\n',
        'loki.write "loki" is defined twice',
        id="duplicate-component",
    ),
    pytest.param(
        lambda t: t.replace('target_label  = "service"', 'target_label  "service"'),
        "expected '=' or '{'",
        id="missing-equals",
    ),
]


@pytest.mark.parametrize(("mutate", "expected"), BROKEN)
def test_broken_alloy_config_is_reported(
    tmp_path: Path, mutate: Callable[[str], str], expected: str
) -> None:
    original = ALLOY.read_text(encoding="utf-8")
    broken_text = mutate(original)
    assert broken_text != original, "the mutation did not apply"
    broken = tmp_path / "config.alloy"
    broken.write_text(broken_text, encoding="utf-8")
    problems = check_alloy(broken.read_text(encoding="utf-8"))
    assert any(expected in p for p in problems), problems
