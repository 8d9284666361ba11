#!/usr/bin/env python3
"""Build deploy/grafana/dashboards/nodecast.json.

The dashboard is written as Python rather than edited as 2000 lines of JSON:
shared selectors and the forecast-band styling live in one place, so every
panel stays consistent with nodecast's metric names. Stdlib only.

  build-dashboard.py            rewrite dashboards/nodecast.json
  build-dashboard.py --check    fail if the committed JSON is out of date
"""

import argparse
import json
import sys
from pathlib import Path

OUTPUT = Path(__file__).resolve().parent / "dashboards" / "nodecast.json"

# The runbook base URL is set once, next to the rules that link to it.
sys.dont_write_bytecode = True
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "prometheus"))
from runbooks import BASE_URL as RUNBOOKS  # noqa: E402

def runbook(title, anchor):
    return {"title": f"Runbook: {title}", "url": f"{RUNBOOKS}#{anchor}", "targetBlank": True}

# nodecast exports +Inf when nothing reaches exhaustion within
# --forecast.horizon. Grafana would print "Infinity"; a range mapping with
# no upper bound catches it (no JSON literal for +Inf exists).
TTE_MAPPINGS = [{"type": "range", "options": {"from": 1e300, "result": {"text": "not within horizon", "color": "green", "index": 0}}}]
HEALTH_MAPPINGS = [{"type": "value", "options": {
    "0": {"text": "unhealthy", "color": "red", "index": 0},
    "1": {"text": "healthy", "color": "green", "index": 1}}}]

DS = {"type": "prometheus", "uid": "${datasource}"}
SEL = 'instance="$instance",job=~"$job"'
_id = [0]
def nid():
    _id[0] += 1
    return _id[0]

def tgt(ref, expr, legend="", instant=False, fmt="time_series"):
    t = {"datasource": DS, "refId": ref, "expr": expr, "legendFormat": legend,
         "editorMode": "code", "range": not instant, "instant": instant}
    if fmt != "time_series":
        t["format"] = fmt
    return t

def row(title, y):
    return {"type": "row", "id": nid(), "title": title, "collapsed": False,
            "gridPos": {"h": 1, "w": 24, "x": 0, "y": y}, "panels": []}

def ts(title, desc, targets, gp, unit, overrides=(), extra=None, min0=False):
    p = {"type": "timeseries", "id": nid(), "title": title, "description": desc,
         "datasource": DS, "gridPos": gp, "targets": targets,
         "fieldConfig": {"defaults": {"unit": unit, "custom": {"lineWidth": 1, "fillOpacity": 0, "spanNulls": False}},
                         "overrides": list(overrides)},
         "options": {"legend": {"displayMode": "list", "placement": "bottom", "showLegend": True},
                     "tooltip": {"mode": "multi", "sort": "none"}}}
    if min0:
        p["fieldConfig"]["defaults"]["min"] = 0
    if extra:
        p.update(extra)
    return p

def band_overrides(color):
    # Upper is filled down to lower: that area is the forecast interval.
    return [
        {"matcher": {"id": "byName", "options": "upper"},
         "properties": [{"id": "custom.fillBelowTo", "value": "lower"},
                        {"id": "custom.fillOpacity", "value": 20},
                        {"id": "custom.lineWidth", "value": 0},
                        {"id": "color", "value": {"mode": "fixed", "fixedColor": color}}]},
        {"matcher": {"id": "byName", "options": "lower"},
         "properties": [{"id": "custom.lineWidth", "value": 0},
                        {"id": "color", "value": {"mode": "fixed", "fixedColor": color}}]},
        {"matcher": {"id": "byName", "options": "forecast"},
         "properties": [{"id": "custom.lineStyle", "value": {"fill": "dash", "dash": [10, 10]}},
                        {"id": "color", "value": {"mode": "fixed", "fixedColor": color}}]},
        {"matcher": {"id": "byName", "options": "actual"},
         "properties": [{"id": "custom.lineWidth", "value": 2},
                        {"id": "color", "value": {"mode": "fixed", "fixedColor": "text"}}]},
    ]

def fc(metric, extra_sel=""):
    # The value exported now is the forecast for now + horizon; shifting it
    # by `offset $horizon` plots each forecast at the moment it was made for,
    # on top of the actual value it tried to predict. A positive offset also
    # needs no feature flag, unlike plotting ahead with a negative one.
    s = f'metric="{metric}",{SEL}{extra_sel},horizon="$horizon"'
    return [tgt("B", f'nodecast_forecast{{{s}}} offset $horizon', "forecast"),
            tgt("C", f'nodecast_forecast_lower{{{s}}} offset $horizon', "lower"),
            tgt("D", f'nodecast_forecast_upper{{{s}}} offset $horizon', "upper")]

def stat(title, desc, expr, legend, gp, unit, thresholds=None, instant=True, text_mode="value", decimals=None,
         mappings=None, links=None):
    p = {"type": "stat", "id": nid(), "title": title, "description": desc, "datasource": DS,
         "gridPos": gp, "targets": [tgt("A", expr, legend, instant=instant)],
         "fieldConfig": {"defaults": {"unit": unit,
                                      "thresholds": thresholds or {"mode": "absolute", "steps": [{"color": "green", "value": None}]}},
                         "overrides": []},
         "options": {"reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
                     "colorMode": "value", "graphMode": "none", "textMode": text_mode, "justifyMode": "auto",
                     "orientation": "auto"}}
    if decimals is not None:
        p["fieldConfig"]["defaults"]["decimals"] = decimals
    if mappings:
        p["fieldConfig"]["defaults"]["mappings"] = mappings
    if links:
        p["links"] = links
    return p

FC_NOTE = (" Dashed line and band: what nodecast forecast $horizon earlier for each moment "
           "(nodecast_forecast* offset $horizon), so the band lines up with the actual value it predicted. "
           "The band is the --forecast.level interval.")

panels = []
y = 0
panels.append(row("Overview", y)); y += 1
panels += [
    stat("Version", "nodecast_build_info of the selected instance.",
         f'nodecast_build_info{{{SEL}}}', "{{version}}", {"h": 4, "w": 4, "x": 0, "y": y}, "none", text_mode="name"),
    stat("Soonest exhaustion", "Smallest time to exhaustion over every resource of the selected instance. +Inf: nothing is heading to exhaustion.",
         f'min(nodecast_time_to_exhaustion_seconds{{{SEL}}})', "", {"h": 4, "w": 5, "x": 4, "y": y}, "s",
         {"mode": "absolute", "steps": [{"color": "red", "value": None}, {"color": "orange", "value": 14400}, {"color": "green", "value": 86400}]},
         mappings=TTE_MAPPINGS, links=[runbook("exhaustion alerts", "how-every-exhaustion-alert-works")]),
    stat("Since last forecast cycle", "Seconds since the last completed forecast cycle (Prometheus clock minus node clock). Alert NodecastForecastPipelineUnhealthy fires past 3 forecast intervals.",
         f'time() - nodecast_forecast_cycle_last_run_timestamp_seconds{{{SEL}}}', "", {"h": 4, "w": 5, "x": 9, "y": y}, "s",
         {"mode": "absolute", "steps": [{"color": "green", "value": None}, {"color": "orange", "value": 600}, {"color": "red", "value": 900}]},
         links=[runbook("NodecastForecastPipelineUnhealthy", "nodecastforecastpipelineunhealthy")]),
    stat("Series forecast", "Series forecast in the last cycle.",
         f'nodecast_forecast_series{{{SEL}}}', "", {"h": 4, "w": 5, "x": 14, "y": y}, "none"),
    stat("Failing collectors", "Collectors whose last run failed (nodecast_collector_success == 0).",
         f'count(nodecast_collector_success{{{SEL}}} == 0) or vector(0)', "", {"h": 4, "w": 5, "x": 19, "y": y}, "none",
         {"mode": "absolute", "steps": [{"color": "green", "value": None}, {"color": "red", "value": 1}]}),
]
y += 4

panels.append(row("Actual against forecast", y)); y += 1
fs = ts("Filesystem available: $mountpoint",
        "Free bytes for unprivileged users (node_filesystem_avail_bytes)." + FC_NOTE,
        [tgt("A", f'node_filesystem_avail_bytes{{{SEL},mountpoint=~"$mountpoint"}}', "actual")]
        + fc("node_filesystem_avail_bytes", ',mountpoint=~"$mountpoint"'),
        {"h": 8, "w": 12, "x": 0, "y": y}, "bytes", band_overrides("blue"),
        {"repeat": "mountpoint", "repeatDirection": "h", "maxPerRow": 2}, min0=True)
panels.append(fs)
y += 8
panels.append(ts("Memory available",
                 "node_memory_MemAvailable_bytes." + FC_NOTE,
                 [tgt("A", f'node_memory_MemAvailable_bytes{{{SEL}}}', "actual")] + fc("node_memory_MemAvailable_bytes"),
                 {"h": 8, "w": 12, "x": 0, "y": y}, "bytes", band_overrides("green"), min0=True))
panels.append(ts("CPU utilisation",
                 "1 minus the idle share over all CPUs; nodecast forecasts it as node_cpu_utilisation_ratio." + FC_NOTE,
                 [tgt("A", f'1 - avg by (instance, job) (rate(node_cpu_seconds_total{{{SEL},mode="idle"}}[$__rate_interval]))', "actual")]
                 + fc("node_cpu_utilisation_ratio"),
                 {"h": 8, "w": 12, "x": 12, "y": y}, "percentunit", band_overrides("purple"), min0=True))
y += 8

def ahead(title, desc, expr, legend, gp):
    return {"type": "bargauge", "id": nid(), "title": title, "description": desc, "datasource": DS,
            "gridPos": gp, "targets": [tgt("A", expr, legend, instant=True)],
            "fieldConfig": {"defaults": {"unit": "bytes", "min": 0,
                                         "thresholds": {"mode": "absolute", "steps": [{"color": "blue", "value": None}]}},
                            "overrides": []},
            "options": {"reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
                        "orientation": "horizontal", "displayMode": "basic", "showUnfilled": True,
                        "valueMode": "color", "namePlacement": "auto", "sizing": "auto"}}
panels.append(ahead("Filesystem available ahead",
                    "Latest point forecast of free bytes at every configured horizon (--forecast.horizons), per mount point: where the disk is heading.",
                    f'sort_desc(nodecast_forecast{{metric="node_filesystem_avail_bytes",{SEL},mountpoint=~"$mountpoint"}})',
                    "{{mountpoint}} in {{horizon}}", {"h": 8, "w": 12, "x": 0, "y": y}))
panels.append(ahead("Memory available ahead",
                    "Latest point forecast of MemAvailable at every configured horizon.",
                    f'nodecast_forecast{{metric="node_memory_MemAvailable_bytes",{SEL}}}',
                    "in {{horizon}}", {"h": 8, "w": 12, "x": 12, "y": y}))
y += 8

panels.append(row("Exhaustion", y)); y += 1
table = {
    "type": "table", "id": nid(), "title": "Resources by time to exhaustion ($job)",
    "description": "Every resource of every instance in the selected jobs, soonest exhaustion first. \"not within horizon\" (+Inf): not heading to exhaustion within --forecast.horizon. Probability: of exhaustion within --forecast.horizon.",
    "datasource": DS, "gridPos": {"h": 10, "w": 24, "x": 0, "y": y},
    "links": [runbook("NodecastFilesystemSpaceFillingUp", "nodecastfilesystemspacefillingup"),
              runbook("NodecastFilesystemFilesFillingUp", "nodecastfilesystemfilesfillingup"),
              runbook("NodecastMemoryExhaustionPredicted", "nodecastmemoryexhaustionpredicted"),
              runbook("NodecastFileDescriptorsExhaustionPredicted", "nodecastfiledescriptorsexhaustionpredicted"),
              runbook("NodecastPidsExhaustionPredicted", "nodecastpidsexhaustionpredicted")],
    "targets": [
        tgt("A", 'sort(nodecast_time_to_exhaustion_seconds{job=~"$job"})', "", instant=True, fmt="table"),
        tgt("B", 'nodecast_exhaustion_probability_ratio{job=~"$job"}', "", instant=True, fmt="table"),
    ],
    "transformations": [
        {"id": "merge", "options": {}},
        {"id": "organize", "options": {
            "excludeByName": {"Time": True, "__name__": True},
            "indexByName": {"instance": 0, "resource": 1, "mountpoint": 2, "device": 3, "fstype": 4,
                            "Value #A": 5, "Value #B": 6, "job": 7},
            "renameByName": {"Value #A": "Time to exhaustion", "Value #B": "Probability"}}},
        {"id": "sortBy", "options": {"fields": {}, "sort": [{"field": "Time to exhaustion", "desc": False}]}},
    ],
    "fieldConfig": {
        "defaults": {"custom": {"align": "auto", "cellOptions": {"type": "auto"}}},
        "overrides": [
            {"matcher": {"id": "byName", "options": "Time to exhaustion"},
             "properties": [{"id": "unit", "value": "s"},
                            {"id": "thresholds", "value": {"mode": "absolute", "steps": [
                                {"color": "red", "value": None}, {"color": "orange", "value": 14400},
                                {"color": "green", "value": 86400}]}},
                            {"id": "mappings", "value": TTE_MAPPINGS},
                            {"id": "custom.cellOptions", "value": {"type": "color-background"}}]},
            {"matcher": {"id": "byName", "options": "Probability"},
             "properties": [{"id": "unit", "value": "percentunit"}, {"id": "decimals", "value": 0}]},
        ]},
    "options": {"showHeader": True, "cellHeight": "sm",
                "sortBy": [{"displayName": "Time to exhaustion", "desc": False}]},
}
panels.append(table)
y += 10
panels.append(ts("Time to exhaustion ($instance)",
                 "nodecast_time_to_exhaustion_seconds per resource, capped at 7 days so +Inf does not flatten the graph.",
                 [tgt("A", f'clamp_max(nodecast_time_to_exhaustion_seconds{{{SEL}}}, 7 * 86400)', "{{resource}} {{mountpoint}}")],
                 {"h": 8, "w": 12, "x": 0, "y": y}, "s", min0=True))
panels.append(ts("Exhaustion probability ($instance)",
                 "nodecast_exhaustion_probability_ratio: probability of exhaustion within --forecast.horizon.",
                 [tgt("A", f'nodecast_exhaustion_probability_ratio{{{SEL}}}', "{{resource}} {{mountpoint}}")],
                 {"h": 8, "w": 12, "x": 12, "y": y}, "percentunit", extra={"fieldConfig": {
                     "defaults": {"unit": "percentunit", "min": 0, "max": 1, "custom": {"lineWidth": 1, "fillOpacity": 0}},
                     "overrides": []}}))
y += 8

panels.append(row("Model and pipeline health", y)); y += 1
panels.append({
    "type": "table", "id": nid(), "title": "Models in use",
    "description": "Model chosen per forecast series (nodecast_forecast_model_info), with history length and the share of imputed (gap-filled) points.",
    "datasource": DS, "gridPos": {"h": 9, "w": 12, "x": 0, "y": y},
    "targets": [
        tgt("A", f'nodecast_forecast_model_info{{{SEL}}}', "", instant=True, fmt="table"),
        tgt("B", f'nodecast_forecast_history_seconds{{{SEL}}}', "", instant=True, fmt="table"),
        tgt("C", f'nodecast_forecast_imputed_ratio{{{SEL}}}', "", instant=True, fmt="table"),
    ],
    "transformations": [
        {"id": "merge", "options": {}},
        {"id": "organize", "options": {
            "excludeByName": {"Time": True, "__name__": True, "Value #A": True, "job": True, "instance": True},
            "indexByName": {"metric": 0, "model": 1, "Value #B": 2, "Value #C": 3},
            "renameByName": {"Value #B": "History", "Value #C": "Imputed"}}},
    ],
    "fieldConfig": {"defaults": {"custom": {"align": "auto", "cellOptions": {"type": "auto"}}},
                    "overrides": [
                        {"matcher": {"id": "byName", "options": "History"}, "properties": [{"id": "unit", "value": "s"}]},
                        {"matcher": {"id": "byName", "options": "Imputed"}, "properties": [{"id": "unit", "value": "percentunit"}]}]},
    "options": {"showHeader": True, "cellHeight": "sm"},
})
panels.append({
    "type": "piechart", "id": nid(), "title": "Series per model",
    "description": "How many series each model forecasts.",
    "datasource": DS, "gridPos": {"h": 9, "w": 6, "x": 12, "y": y},
    "targets": [tgt("A", f'count by (model) (nodecast_forecast_model_info{{{SEL}}})', "{{model}}", instant=True)],
    "fieldConfig": {"defaults": {"unit": "none"}, "overrides": []},
    "options": {"reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
                "pieType": "donut", "legend": {"displayMode": "list", "placement": "right", "showLegend": True}},
})
panels.append(stat("Forecast level", "Coverage of the forecast bands (--forecast.level).",
                   f'nodecast_forecast_level_ratio{{{SEL}}}', "", {"h": 9, "w": 6, "x": 18, "y": y}, "percentunit"))
y += 9
panels.append(ts("Forecast cycles and errors",
                 "Cycles completed and forecast errors per interval. Errors in every 15m window for 30m fire NodecastForecastPipelineUnhealthy.",
                 [tgt("A", f'increase(nodecast_forecast_cycles_total{{{SEL}}}[$__rate_interval])', "cycles"),
                  tgt("B", f'increase(nodecast_forecast_errors_total{{{SEL}}}[$__rate_interval])', "errors")],
                 {"h": 8, "w": 8, "x": 0, "y": y}, "none", min0=True,
                 extra={"links": [runbook("NodecastForecastPipelineUnhealthy", "nodecastforecastpipelineunhealthy")]}))
panels.append(ts("Forecast cycle duration",
                 "Wall time of the last forecast cycle. It should stay well under --forecast.interval.",
                 [tgt("A", f'nodecast_forecast_cycle_duration_seconds{{{SEL}}}', "cycle")],
                 {"h": 8, "w": 8, "x": 8, "y": y}, "s", min0=True))
panels.append(ts("Collector duration",
                 "Per-collector scrape of procfs/sysfs; failures show in the Failing collectors stat.",
                 [tgt("A", f'nodecast_collector_duration_seconds{{{SEL}}}', "{{collector}}")],
                 {"h": 8, "w": 8, "x": 16, "y": y}, "s", min0=True))
y += 8
panels.append(ts("Store size",
                 "On-disk size of the sled ring buffer (nodecast_store_size_bytes).",
                 [tgt("A", f'nodecast_store_size_bytes{{{SEL}}}', "size")],
                 {"h": 8, "w": 8, "x": 0, "y": y}, "bytes", min0=True))
panels.append(ts("Store samples",
                 "Samples written and dropped per second. Drops mean the store cannot keep up or rejects input.",
                 [tgt("A", f'rate(nodecast_store_samples_stored_total{{{SEL}}}[$__rate_interval])', "stored"),
                  tgt("B", f'rate(nodecast_store_samples_dropped_total{{{SEL}}}[$__rate_interval])', "dropped")],
                 {"h": 8, "w": 8, "x": 8, "y": y}, "ops", min0=True,
                 extra={"links": [runbook("NodecastHistoryNotStored", "nodecasthistorynotstored")]}))
panels.append(ts("Store series",
                 "Series held in the store.",
                 [tgt("A", f'nodecast_store_series{{{SEL}}}', "series")],
                 {"h": 8, "w": 8, "x": 16, "y": y}, "none", min0=True))
y += 8

# Online accuracy of what was exposed, the shadow challenger and drift
# (docs/forecast.md, "Online monitoring").
panels.append(row("Forecast accuracy ($instance)", y)); y += 1
panels.append(ts("Online MASE at $horizon (24 h)",
                 "MASE of the exposed forecast up to $horizon ahead, scored when the actuals arrived, over the last 24 h "
                 "(scaled like nodecast backtest: 1 is as good as yesterday's values). Mean and worst series.",
                 [tgt("A", f'avg(nodecast_forecast_mase{{{SEL},horizon="$horizon",window="24h"}})', "mean"),
                  tgt("B", f'max(nodecast_forecast_mase{{{SEL},horizon="$horizon",window="24h"}})', "worst series")],
                 {"h": 8, "w": 8, "x": 0, "y": y}, "none", min0=True))
panels.append(ts("Interval coverage at $horizon (24 h)",
                 "Share of actuals inside the exposed band over the last 24 h, against the band's level. "
                 "Coverage far below the level for hours fires NodecastForecastCoverageLow.",
                 [tgt("A", f'min(nodecast_forecast_coverage_ratio{{{SEL},horizon="$horizon",window="24h"}})', "lowest series"),
                  tgt("B", f'avg(nodecast_forecast_coverage_ratio{{{SEL},horizon="$horizon",window="24h"}})', "mean"),
                  tgt("C", f'nodecast_forecast_level_ratio{{{SEL}}}', "level")],
                 {"h": 8, "w": 8, "x": 8, "y": y}, "percentunit", min0=True,
                 extra={"links": [runbook("NodecastForecastCoverageLow", "nodecastforecastcoveragelow")]}))
panels.append(ts("Promotions and drift",
                 "Challengers promoted over the series' model, and residual drifts detected (each triggers reselection and a refit on the new regime).",
                 [tgt("A", f'sum(increase(nodecast_forecast_promotions_total{{{SEL}}}[$__rate_interval]))', "promotions"),
                  tgt("B", f'sum(increase(nodecast_forecast_drift_detected_total{{{SEL}}}[$__rate_interval]))', "drift detected")],
                 {"h": 8, "w": 8, "x": 16, "y": y}, "none", min0=True))
y += 8

# One row for the whole fleet, from the recording rules of the nodecast-fleet
# group: a central Prometheus ranks hundreds of nodes from one series each.
panels.append(row("Fleet ($job)", y)); y += 1
panels.append({
    "type": "table", "id": nid(), "title": "Nodes by soonest exhaustion",
    "description": "Every node in the selected jobs, soonest exhaustion of any resource first (instance:nodecast_time_to_exhaustion_seconds:min), with its forecast health (instance:nodecast_forecast_healthy:bool: agent up, cycles completing, no forecast errors in 15m).",
    "datasource": DS, "gridPos": {"h": 10, "w": 12, "x": 0, "y": y},
    "targets": [
        tgt("A", 'sort(instance:nodecast_time_to_exhaustion_seconds:min{job=~"$job"})', "", instant=True, fmt="table"),
        tgt("B", 'instance:nodecast_forecast_healthy:bool{job=~"$job"}', "", instant=True, fmt="table"),
    ],
    "transformations": [
        {"id": "merge", "options": {}},
        {"id": "organize", "options": {
            "excludeByName": {"Time": True, "__name__": True, "job": True},
            "indexByName": {"instance": 0, "Value #A": 1, "Value #B": 2},
            "renameByName": {"Value #A": "Soonest exhaustion", "Value #B": "Forecast health"}}},
        {"id": "sortBy", "options": {"fields": {}, "sort": [{"field": "Soonest exhaustion", "desc": False}]}},
    ],
    "fieldConfig": {
        "defaults": {"custom": {"align": "auto", "cellOptions": {"type": "auto"}}},
        "overrides": [
            {"matcher": {"id": "byName", "options": "Soonest exhaustion"},
             "properties": [{"id": "unit", "value": "s"},
                            {"id": "thresholds", "value": {"mode": "absolute", "steps": [
                                {"color": "red", "value": None}, {"color": "orange", "value": 14400},
                                {"color": "green", "value": 86400}]}},
                            {"id": "mappings", "value": TTE_MAPPINGS},
                            {"id": "custom.cellOptions", "value": {"type": "color-background"}}]},
            {"matcher": {"id": "byName", "options": "Forecast health"},
             "properties": [{"id": "mappings", "value": HEALTH_MAPPINGS},
                            {"id": "custom.cellOptions", "value": {"type": "color-text"}}]},
        ]},
    "options": {"showHeader": True, "cellHeight": "sm",
                "sortBy": [{"displayName": "Soonest exhaustion", "desc": False}]},
    "links": [runbook("exhaustion alerts", "how-every-exhaustion-alert-works"),
              runbook("NodecastForecastPipelineUnhealthy", "nodecastforecastpipelineunhealthy")],
})
panels.append({
    "type": "state-timeline", "id": nid(), "title": "Forecast health per node",
    "description": "instance:nodecast_forecast_healthy:bool over time, one lane per node: red when the agent is down, cycles stop or forecasts fail.",
    "datasource": DS, "gridPos": {"h": 10, "w": 12, "x": 12, "y": y},
    "targets": [tgt("A", 'instance:nodecast_forecast_healthy:bool{job=~"$job"}', "{{instance}}")],
    "fieldConfig": {"defaults": {"mappings": HEALTH_MAPPINGS, "color": {"mode": "thresholds"},
                                 "thresholds": {"mode": "absolute", "steps": [
                                     {"color": "red", "value": None}, {"color": "green", "value": 1}]}},
                    "overrides": []},
    "options": {"showValue": "never", "mergeValues": True, "rowHeight": 0.9, "alignValue": "left",
                "legend": {"displayMode": "list", "placement": "bottom", "showLegend": False},
                "tooltip": {"mode": "single", "sort": "none"}},
    "links": [runbook("NodecastForecastPipelineUnhealthy", "nodecastforecastpipelineunhealthy"),
              runbook("NodecastDown", "nodecastdown")],
})
y += 10

# Last, so the ids of the panels above stay what links and bookmarks know.
# The threshold line is NodecastSeriesAnomalous' (docs/anomaly.md).
ANOMALY_THRESHOLD = 4
panels.append(row("Anomalies", y)); y += 1
panels.append(ts("Anomaly score ($instance)",
                 "nodecast_anomaly_score per forecast series: how far the latest downsampled buckets fell from "
                 "the forecast made an hour before, in robust standard errors, sustained (the 8th largest of the last 12 buckets). 0 is as forecast; the dashed "
                 f"line is the NodecastSeriesAnomalous threshold ({ANOMALY_THRESHOLD}). Definition and evaluation: docs/anomaly.md.",
                 [tgt("A", f'nodecast_anomaly_score{{{SEL}}}', "{{metric}} {{device}}{{mountpoint}}{{cpu}}{{sensor}}")],
                 {"h": 9, "w": 16, "x": 0, "y": y}, "none", min0=True,
                 extra={"links": [runbook("NodecastSeriesAnomalous", "nodecastseriesanomalous")],
                        "fieldConfig": {"defaults": {"unit": "none", "min": 0,
                                                     "custom": {"lineWidth": 1, "fillOpacity": 0, "spanNulls": False,
                                                                "thresholdsStyle": {"mode": "dashed"}},
                                                     "thresholds": {"mode": "absolute", "steps": [
                                                         {"color": "green", "value": None},
                                                         {"color": "orange", "value": ANOMALY_THRESHOLD}]}},
                                        "overrides": []}}))
panels.append({
    "type": "table", "id": nid(), "title": "Most anomalous series ($job)",
    "description": "The 15 highest nodecast_anomaly_score values across the selected jobs right now.",
    "datasource": DS, "gridPos": {"h": 9, "w": 8, "x": 16, "y": y},
    "targets": [tgt("A", 'topk(15, nodecast_anomaly_score{job=~"$job"})', "", instant=True, fmt="table")],
    "transformations": [
        {"id": "organize", "options": {
            "excludeByName": {"Time": True, "__name__": True, "job": True},
            "indexByName": {"instance": 0, "metric": 1, "Value": 99},
            "renameByName": {"Value": "Score"}}},
        {"id": "sortBy", "options": {"fields": {}, "sort": [{"field": "Score", "desc": True}]}},
    ],
    "fieldConfig": {
        "defaults": {"custom": {"align": "auto", "cellOptions": {"type": "auto"}}},
        "overrides": [
            {"matcher": {"id": "byName", "options": "Score"},
             "properties": [{"id": "decimals", "value": 1},
                            {"id": "thresholds", "value": {"mode": "absolute", "steps": [
                                {"color": "green", "value": None}, {"color": "orange", "value": ANOMALY_THRESHOLD}]}},
                            {"id": "custom.cellOptions", "value": {"type": "color-text"}}]},
        ]},
    "options": {"showHeader": True, "cellHeight": "sm",
                "sortBy": [{"displayName": "Score", "desc": True}]},
    "links": [runbook("NodecastSeriesAnomalous", "nodecastseriesanomalous")],
})

def qvar(name, label, query, multi=False, include_all=False, all_value=None, desc="", sort=1):
    v = {"name": name, "label": label, "type": "query", "datasource": DS,
         "query": {"query": query, "refId": f"{name}-var", "qryType": 1},
         "definition": query, "refresh": 2, "multi": multi, "includeAll": include_all,
         "sort": sort, "regex": "", "hide": 0, "description": desc,
         "current": {}, "options": []}
    if all_value is not None:
        v["allValue"] = all_value
    return v

templating = {"list": [
    {"name": "datasource", "label": "Data source", "type": "datasource", "query": "prometheus",
     "refresh": 1, "regex": "", "hide": 0, "multi": False, "includeAll": False,
     "current": {}, "options": []},
    qvar("job", "Job", "label_values(nodecast_build_info, job)", multi=True, include_all=True, all_value=".+",
         desc="Prometheus jobs scraping nodecast."),
    qvar("instance", "Instance", 'label_values(nodecast_build_info{job=~"$job"}, instance)',
         desc="Node running nodecast."),
    qvar("mountpoint", "Mount point", 'label_values(node_filesystem_avail_bytes{instance="$instance",job=~"$job"}, mountpoint)',
         multi=True, include_all=True, all_value=".+", desc="One filesystem panel is repeated per selected mount point."),
    qvar("horizon", "Forecast horizon", 'label_values(nodecast_forecast{instance="$instance",job=~"$job"}, horizon)',
         desc="Which --forecast.horizons forecast to compare with the actual value.", sort=0),
]}

dash = {
    "uid": "nodecast-overview",
    "title": "nodecast",
    "description": "Node resources against nodecast's forecasts, time to exhaustion, model and pipeline health.",
    "tags": ["nodecast", "forecast", "node"],
    "editable": True,
    "graphTooltip": 1,
    "schemaVersion": 39,
    "version": 1,
    "time": {"from": "now-24h", "to": "now"},
    "timepicker": {},
    "timezone": "browser",
    "refresh": "1m",
    "fiscalYearStartMonth": 0,
    "liveNow": False,
    "links": [{"title": "Alert runbooks", "type": "link", "url": RUNBOOKS,
               "targetBlank": True, "icon": "doc"}],
    "annotations": {"list": [
        {"builtIn": 1, "datasource": {"type": "grafana", "uid": "-- Grafana --"}, "enable": True, "hide": True,
         "iconColor": "rgba(0, 211, 255, 1)", "name": "Annotations & Alerts", "type": "dashboard"},
        {"name": "nodecast alerts", "datasource": DS, "enable": True, "iconColor": "red",
         "expr": 'ALERTS{alertname=~"Nodecast.*",alertstate="firing",instance="$instance"}',
         "titleFormat": "{{alertname}}", "textFormat": "{{severity}} {{resource}} {{mountpoint}}",
         "step": "1m", "useValueForTime": False}]},
    "templating": templating,
    "panels": panels,
}


def main(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--check", action="store_true", help="compare with the committed JSON instead of writing it")
    args = p.parse_args(argv)
    text = json.dumps(dash, indent=2) + "\n"
    if args.check:
        try:
            current = OUTPUT.read_text(encoding="utf-8")
        except OSError as err:
            raise SystemExit(f"error: cannot read {OUTPUT}: {err.strerror}")
        if current != text:
            raise SystemExit(f"error: {OUTPUT} is out of date; run {Path(__file__).name}")
        return 0
    OUTPUT.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
