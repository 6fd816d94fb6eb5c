"""The operator's view in infra/: the handler's request events reach Application Insights at all
(host.json lets the console lines through and never samples them away), every alert query in
infra/app/alerts/ has a rule, and the rules and the workbook watch the component the handler
writes to. That the queries read only fields the handler writes is checked against the real
binary (tests/it/operator_view.rs)."""

from __future__ import annotations

import json

from infra_support import INFRA, REPO_ROOT, bicep

import bicep_ast

ALERTS = INFRA / "app" / "alerts"


def effective_level(log_levels: dict[str, str], category: str) -> str:
    # Microsoft.Extensions.Logging: the longest configured prefix of the category wins.
    matches = [key for key in log_levels if key != "default" and (category == key or category.startswith(key + "."))]
    return log_levels[max(matches, key=len)] if matches else log_levels["default"]


def test_the_handlers_console_lines_reach_application_insights_unsampled():
    logging = json.loads((REPO_ROOT / "host.json").read_text())["logging"]
    # The host logs each stdout line of a custom handler at Information, category
    # Host.Function.Console (azure-functions-host WorkerProcess / WorkerConstants).
    assert effective_level(logging["logLevel"], "Host.Function.Console") in ("Trace", "Debug", "Information")
    # Adaptive sampling would drop audit lines under load; traces are excluded from it.
    sampling = logging["applicationInsights"]["samplingSettings"]
    assert sampling.get("isEnabled") is False or "Trace" in sampling["excludedTypes"].split(";")


def test_the_level_rule_reads_prefixes_as_the_host_does():
    levels = {"default": "Warning", "Host": "Error", "Host.Function": "Information"}
    assert effective_level(levels, "Host.Function.Console") == "Information"
    assert effective_level(levels, "Host.Results") == "Error"
    assert effective_level(levels, "Function.x") == "Warning"


def test_every_alert_query_has_a_rule_and_every_rule_a_query():
    module = bicep("app/monitoring-alerts.bicep")
    rules = module.variables["rules"].value
    loaded = {rule["query"].text for rule in rules}
    files = sorted(path.name for path in ALERTS.glob("*.kql"))
    assert loaded == {f"loadTextContent('alerts/{name}')" for name in files}
    assert len(files) == 5
    (alert,) = module.resources_of_type("Microsoft.Insights/scheduledQueryRules")
    assert alert.loop is not None
    properties = alert.body["properties"]
    assert properties["scopes"] == [bicep_ast.Expr("applicationInsights.id")]
    assert properties["criteria"]["allOf"][0]["query"] == bicep_ast.Expr("rule.query")
    assert properties["actions"]["actionGroups"] == bicep_ast.Expr("actionGroupIds")


def test_the_workbook_is_the_committed_one_beside_the_component():
    module = bicep("app/monitoring-alerts.bicep")
    workbook = module.resource("workbook").body
    assert workbook["properties"]["serializedData"] == bicep_ast.Expr("loadTextContent('workbook.json')")
    assert workbook["properties"]["sourceId"] == bicep_ast.Expr("applicationInsights.id")
    json.loads((INFRA / "app" / "workbook.json").read_text())


def test_main_wires_the_alerts_to_the_handlers_component():
    params = bicep("main.bicep").modules["monitoringAlerts"].value["params"]
    assert params["applicationInsightsName"] == bicep_ast.Expr("monitoring.outputs.applicationInsightsName")
