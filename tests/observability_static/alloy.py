"""Checks of config/alloy/config.alloy: components, blocks, references and the labels it sets.

`check_alloy` reports unknown components, unknown child blocks, missing required arguments,
duplicate components and references to components that are not defined. It does not
type-check arguments: only Alloy itself does.
"""

from collections.abc import Iterator

from tests.observability_static.alloy_syntax import (
    AlloySyntaxError,
    Ref,
    Value,
    parse,
    references,
    walk,
)

__all__ = ["check_alloy", "parse", "produced_labels", "structured_metadata"]

# Components this stack may use, with the fields each exports.
EXPORTS: dict[str, frozenset[str]] = {
    "discovery.docker": frozenset({"targets"}),
    "discovery.relabel": frozenset({"output", "rules"}),
    "local.file_match": frozenset({"targets"}),
    "loki.echo": frozenset({"receiver"}),
    "loki.process": frozenset({"receiver"}),
    "loki.relabel": frozenset({"receiver", "rules"}),
    "loki.source.docker": frozenset(),
    "loki.source.file": frozenset(),
    "loki.write": frozenset({"receiver"}),
    "prometheus.exporter.self": frozenset({"targets"}),
    "prometheus.remote_write": frozenset({"receiver"}),
    "prometheus.scrape": frozenset(),
}
# Unlabelled configuration blocks.
CONFIG_BLOCKS = frozenset({"http", "livedebugging", "logging", "remotecfg", "tracing"})

LOKI_STAGES = frozenset(
    {
        "stage.cri",
        "stage.decolorize",
        "stage.docker",
        "stage.drop",
        "stage.eventlogmessage",
        "stage.geoip",
        "stage.json",
        "stage.label_drop",
        "stage.label_keep",
        "stage.labels",
        "stage.limit",
        "stage.logfmt",
        "stage.luhn",
        "stage.match",
        "stage.metrics",
        "stage.multiline",
        "stage.output",
        "stage.pack",
        "stage.regex",
        "stage.replace",
        "stage.sampling",
        "stage.static_labels",
        "stage.structured_metadata",
        "stage.template",
        "stage.tenant",
        "stage.timestamp",
    }
)
HTTP_CLIENT_BLOCKS = frozenset({"authorization", "basic_auth", "oauth2", "tls_config"})
CHILD_BLOCKS: dict[str, frozenset[str]] = {
    "discovery.docker": HTTP_CLIENT_BLOCKS | {"filter"},
    "discovery.relabel": frozenset({"rule"}),
    "loki.process": LOKI_STAGES,
    "loki.relabel": frozenset({"rule"}),
    "loki.source.docker": frozenset({"client"}),
    "loki.write": frozenset({"endpoint"}),
}
REQUIRED_ATTRIBUTES: dict[str, frozenset[str]] = {
    "discovery.docker": frozenset({"host"}),
    "discovery.relabel": frozenset({"targets"}),
    "loki.process": frozenset({"forward_to"}),
    "loki.relabel": frozenset({"forward_to"}),
    "loki.source.docker": frozenset({"host", "targets", "forward_to"}),
}
REQUIRED_BLOCKS: dict[str, frozenset[str]] = {"loki.write": frozenset({"endpoint"})}
# Namespaces of the standard library (functions, not components).
STDLIB = frozenset(
    {"array", "coalesce", "constants", "convert", "encoding", "env", "file", "json_path"}
)
STDLIB |= frozenset({"sys", "string", "targets", "concat", "format", "join", "nonsensitive"})


def _component_of(path: str) -> tuple[str, str, str] | None:
    """Split `loki.process.containers.receiver` into component, label and export."""
    for component in sorted(EXPORTS, key=len, reverse=True):
        if path.startswith(component + "."):
            rest = path[len(component) + 1 :].split(".")
            return component, rest[0], ".".join(rest[1:])
    return None


def check_alloy(text: str) -> list[str]:
    """Problems in an Alloy file: syntax, unknown components and blocks, dangling references."""
    try:
        blocks = parse(text)
    except AlloySyntaxError as error:
        return [f"syntax: {error}"]
    problems: list[str] = []
    defined: set[tuple[str, str]] = set()
    for block in blocks:
        where = f"line {block.line}: {block.name}"
        if block.name in CONFIG_BLOCKS:
            if block.label is not None:
                problems.append(f"{where} takes no label")
            continue
        if block.name not in EXPORTS:
            problems.append(f"{where}: unknown component")
            continue
        if block.label is None:
            problems.append(f"{where}: a component needs a label")
            continue
        if (block.name, block.label) in defined:
            problems.append(f'{where} "{block.label}" is defined twice')
        defined.add((block.name, block.label))
        for missing in sorted(
            REQUIRED_ATTRIBUTES.get(block.name, frozenset()) - block.attributes.keys()
        ):
            problems.append(f"{where}: missing required argument {missing!r}")
        children = {child.name for child in block.blocks}
        for missing in sorted(REQUIRED_BLOCKS.get(block.name, frozenset()) - children):
            problems.append(f"{where}: missing required block {missing!r}")
        allowed = CHILD_BLOCKS.get(block.name)
        if allowed is not None:
            for child in block.blocks:
                if child.name not in allowed:
                    problems.append(
                        f"line {child.line}: {child.name!r} is not a block of {block.name}"
                    )
    for block in walk(blocks):
        for value in block.attributes.values():
            for ref in references(value):
                problems.extend(_check_reference(ref, defined))
    return problems


def _check_reference(ref: Ref, defined: set[tuple[str, str]]) -> list[str]:
    split = _component_of(ref.path)
    if split is None:
        if ref.path.split(".")[0] in STDLIB:
            return []
        return [f"line {ref.line}: {ref.path!r} does not name a component export"]
    component, label, export = split
    if (component, label) not in defined:
        return [
            f'line {ref.line}: {ref.path!r} refers to {component} "{label}", which is not defined'
        ]
    if export not in EXPORTS[component]:
        return [f"line {ref.line}: {component} exports no field {export!r} ({ref.path!r})"]
    return []


def _strings(value: Value) -> Iterator[str]:
    if isinstance(value, dict):
        yield from value.keys()


def produced_labels(text: str) -> set[str]:
    """Index labels the pipeline sets: relabel target labels, stage.labels, static labels."""
    labels: set[str] = set()
    for block in walk(parse(text)):
        if block.name == "rule":
            target = block.attributes.get("target_label")
            action = block.attributes.get("action", "replace")
            if isinstance(target, str) and action == "replace" and not target.startswith("__"):
                labels.add(target)
        elif block.name in ("stage.labels", "stage.static_labels"):
            labels.update(_strings(block.attributes.get("values")))
        elif block.name.startswith("loki.source."):
            labels.update(_strings(block.attributes.get("labels")))
    return labels


def structured_metadata(text: str) -> set[str]:
    """Keys the pipeline stores as structured metadata."""
    keys: set[str] = set()
    for block in walk(parse(text)):
        if block.name == "stage.structured_metadata":
            keys.update(_strings(block.attributes.get("values")))
    return keys
