"""The metric-name tokenizer the live test relies on, on the constructs the rule files use."""

import pytest

from tests.observability.promql import load_rules, metric_names


@pytest.mark.parametrize(
    ("expr", "names"),
    [
        ("up", {"up"}),
        ('up{job!~"probe_.*", service=~"api|caddy"} == 0', {"up"}),
        ('absent(up{job="api", service="api"})', {"up"}),
        (
            "sum by (job, service, method, route) (rate(http_requests_total[5m]))",
            {"http_requests_total"},
        ),
        (
            'histogram_quantile(0.99, sum by (le) (rate(x_bucket{route!~".*/download"}[5m])))',
            {"x_bucket"},
        ),
        (
            "job:http_5xx_ratio:rate5m > 0.05\nand on (job, service) job:http_requests:rate5m > 1",
            {"job:http_5xx_ratio:rate5m", "job:http_requests:rate5m"},
        ),
        (
            'a{type="avail"} / ignoring (type) (a{type="all"} > 0) or b * 0 unless c offset 5m',
            {"a", "b", "c"},
        ),
        ('label_replace(m, "dst", "$1", "src", "(.*)") + Inf - NaN', {"m"}),
        (
            "deriv(task:jobs_oldest_due_seconds:max[10m]) > 0 # growing",
            {"task:jobs_oldest_due_seconds:max"},
        ),
        ('SeaweedFS_volumeServer_resource{name="/data"}', {"SeaweedFS_volumeServer_resource"}),
        ("max by (task) (jobs) > bool 0", {"jobs"}),
        ("vector(0) or scalar(up)", {"up"}),
    ],
)
def test_metric_names(expr: str, names: set[str]) -> None:
    assert metric_names(expr) == names


def test_rule_files_are_read_in_full() -> None:
    rules = load_rules()
    assert {rule.file.name for rule in rules} == {"recording.yml", "alerts.yml"}
    assert sum(rule.is_alert for rule in rules) >= 12
    assert all(metric_names(rule.expr) for rule in rules)
