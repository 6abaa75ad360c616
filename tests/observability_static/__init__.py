"""Offline checks of the Grafana, Loki, Alloy and Promtail configuration under config/.

None of these servers runs here: no Docker engine, and no installable binary for them. The
checks read the files the way the compose stack mounts them and verify what can be verified
without the servers: syntax, cross-references (data source uids, metric names, log labels,
component references) and the conventions the dashboards depend on. Each check is also run on a
deliberately broken copy, so a check that cannot fail is caught.
"""
