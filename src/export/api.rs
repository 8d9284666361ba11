//! JSON API: `/api/v1/series` lists the forecast series, `/api/v1/forecast?series=KEY`
//! returns one whole forecast path with timestamps and bounds. Errors are JSON with a 4xx.

use std::collections::HashMap;

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;
use serde_json::json;

use super::http::AppState;
use crate::predict::warmup::NoForecast;
use crate::predict::{snapshot, SeriesForecast};

pub(super) fn error(status: StatusCode, msg: impl Into<String>) -> Response {
    (
        status,
        Json(json!({ "status": "error", "error": msg.into() })),
    )
        .into_response()
}

/// JSON numbers cannot be infinite; exhaustion "never" is reported as null.
fn finite(v: Option<f64>) -> Option<f64> {
    v.filter(|x| x.is_finite())
}

#[derive(Serialize)]
struct SeriesEntry<'a> {
    series: &'a str,
    metric: &'a str,
    labels: HashMap<&'a str, &'a str>,
    model: &'a str,
    history_seconds: f64,
    imputed_ratio: f64,
    resource: Option<&'a str>,
    time_to_exhaustion_seconds: Option<f64>,
    exhausts_within_horizon: Option<bool>,
    exhaustion_probability: Option<f64>,
    /// Online accuracy, challenger and drift (docs/forecast.md, "Online monitoring").
    monitor: Option<&'a crate::predict::monitor::view::MonitorView>,
}

/// Forecast series, and the selected series still gathering history (with when
/// their first forecast is due), so an empty list is never unexplained.
pub async fn series(State(st): State<AppState>) -> Response {
    let snap = snapshot(&st.forecasts);
    let data: Vec<SeriesEntry> = snap
        .iter()
        .map(|f| SeriesEntry {
            series: &f.series,
            metric: &f.metric,
            labels: f
                .labels
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect(),
            model: &f.model,
            history_seconds: f.history_seconds,
            imputed_ratio: f.imputed_ratio,
            resource: f.resource.as_deref(),
            time_to_exhaustion_seconds: finite(f.time_to_exhaustion_seconds),
            exhausts_within_horizon: f.time_to_exhaustion_seconds.map(|t| t.is_finite()),
            exhaustion_probability: f.exhaustion_probability,
            monitor: f.monitor.as_ref(),
        })
        .collect();
    let now = crate::daemon::now_ms();
    let view = st.view.clone();
    let have: std::collections::HashSet<String> = snap.iter().map(|f| f.series.clone()).collect();
    let last = st.view.last_cycle_ms();
    // Reading every warming series' history touches the store: off the async workers.
    let warming =
        tokio::task::spawn_blocking(move || view.warming_up(|k| have.contains(k), now, last))
            .await
            .unwrap_or_default();
    Json(json!({
        "status": "success",
        "data": data,
        "warming_up": warming,
        "needed_history_seconds": st.view.needed_history_ms() as f64 / 1000.0,
        "backfill_configured": st.view.backfill_configured,
    }))
    .into_response()
}

pub async fn forecast(
    State(st): State<AppState>,
    query: Result<Query<HashMap<String, String>>, QueryRejection>,
) -> Response {
    let Ok(Query(params)) = query else {
        return error(StatusCode::BAD_REQUEST, "malformed query string");
    };
    if let Some(unknown) = params.keys().find(|k| k.as_str() != "series") {
        return error(
            StatusCode::BAD_REQUEST,
            format!("unknown parameter {unknown:?}; expected series"),
        );
    }
    let Some(key) = params.get("series") else {
        return error(
            StatusCode::BAD_REQUEST,
            "missing parameter series (a key from /api/v1/series)",
        );
    };
    let snap = snapshot(&st.forecasts);
    let Some(f) = snap.iter().find(|f| &f.series == key) else {
        let now = crate::daemon::now_ms();
        let last = st.view.last_cycle_ms();
        let (view, k) = (st.view.clone(), key.clone());
        let why = tokio::task::spawn_blocking(move || view.no_forecast(&k, now, last))
            .await
            .unwrap_or(NoForecast::Unknown);
        let reason = match &why {
            NoForecast::Unknown => "unknown_series",
            NoForecast::NotSelected | NoForecast::Excluded => "excluded",
            NoForecast::WarmingUp { .. } => "warming_up",
            NoForecast::Pending { .. } => "pending",
        };
        let due = match why {
            NoForecast::WarmingUp { due_ms, .. } => Some(due_ms as f64 / 1000.0),
            NoForecast::Pending { next_cycle_ms } => Some(next_cycle_ms as f64 / 1000.0),
            _ => None,
        };
        return (
            StatusCode::NOT_FOUND,
            Json(json!({
                "status": "error",
                "error": format!("no forecast for series {key:?}: {}", why.explain(now)),
                "reason": reason,
                "expected_timestamp": due,
            })),
        )
            .into_response();
    };
    Json(json!({ "status": "success", "data": path_json(f) })).into_response()
}

fn path_json(f: &SeriesForecast) -> serde_json::Value {
    let points: Vec<_> = (0..f.mean.len())
        .map(|i| {
            let ts = (f.start_ms + i as i64 * f.step_ms) as f64 / 1000.0;
            json!({ "timestamp": ts, "mean": f.mean[i], "lower": f.lower.get(i), "upper": f.upper.get(i) })
        })
        .collect();
    json!({
        "series": f.series,
        "metric": f.metric,
        "labels": f.labels.iter().cloned().collect::<HashMap<_, _>>(),
        "model": f.model,
        "level": f.level,
        "step_seconds": f.step_ms as f64 / 1000.0,
        "resource": f.resource,
        "time_to_exhaustion_seconds": finite(f.time_to_exhaustion_seconds),
        "exhaustion_probability": f.exhaustion_probability,
        "monitor": f.monitor,
        "points": points,
    })
}
