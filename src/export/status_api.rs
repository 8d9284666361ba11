//! `/api/v1/status`: the agent's health as the page shows it (collectors, store,
//! forecast cycle, warm-up settings); `/api/v1/history?series=KEY&tier=raw|downsampled`:
//! the stored history of one series, bounded to [`super::view::MAX_HISTORY_POINTS`].

use std::collections::HashMap;

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

use super::api::error;
use super::http::AppState;
use super::view::self_samples;
use crate::store::Tier;

pub async fn status(State(st): State<AppState>) -> Response {
    let Ok((_, text)) = st.exposition.render(super::scrape_cache::Format::Text) else {
        return error(StatusCode::INTERNAL_SERVER_ERROR, "encoding metrics failed");
    };
    let samples: Vec<_> = self_samples(&text)
        .into_iter()
        .map(|(name, labels, value)| {
            json!({
                "name": name,
                "labels": labels.into_iter().collect::<HashMap<_, _>>(),
                "value": value.is_finite().then_some(value),
            })
        })
        .collect();
    let v = &st.view;
    let f = &v.forecast;
    Json(json!({
        "status": "success",
        "data": {
            "version": env!("CARGO_PKG_VERSION"),
            "started_timestamp": v.started_ms as f64 / 1000.0,
            "now_timestamp": crate::daemon::now_ms() as f64 / 1000.0,
            "collectors": v.collectors,
            "backfill_configured": v.backfill_configured,
            "forecast": {
                "interval_seconds": f.interval.as_secs_f64(),
                "horizon_seconds": f.horizon.as_secs_f64(),
                "min_history_seconds": f.min_history.as_secs_f64(),
                "needed_history_seconds": v.needed_history_ms() as f64 / 1000.0,
                "model": f.model.to_string(),
                "level": f.level,
            },
            "metrics": samples,
        }
    }))
    .into_response()
}

pub async fn history(
    State(st): State<AppState>,
    query: Result<Query<HashMap<String, String>>, QueryRejection>,
) -> Response {
    let Ok(Query(params)) = query else {
        return error(StatusCode::BAD_REQUEST, "malformed query string");
    };
    if let Some(unknown) = params
        .keys()
        .find(|k| !matches!(k.as_str(), "series" | "tier"))
    {
        return error(
            StatusCode::BAD_REQUEST,
            format!("unknown parameter {unknown:?}; expected series and tier"),
        );
    }
    let Some(key) = params.get("series").cloned() else {
        return error(StatusCode::BAD_REQUEST, "missing parameter series");
    };
    let tier = match params.get("tier").map(String::as_str) {
        None | Some("downsampled") => Tier::Downsampled,
        Some("raw") => Tier::Raw,
        Some(other) => {
            return error(
                StatusCode::BAD_REQUEST,
                format!("tier {other:?}: expected raw or downsampled"),
            )
        }
    };
    if st.view.store.series_id(&key).is_none() {
        return error(
            StatusCode::NOT_FOUND,
            format!("unknown series {key:?}: the store has never seen it"),
        );
    }
    let view = st.view.clone();
    let now = crate::daemon::now_ms();
    let k = key.clone();
    let Ok(Some(w)) = tokio::task::spawn_blocking(move || view.history(&k, tier, now)).await else {
        return error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "reading the store failed",
        );
    };
    // Trim the empty ends: a young series would otherwise ship thousands of nulls.
    let first = w.values.iter().position(|v| v.is_finite());
    let last = w.values.iter().rposition(|v| v.is_finite());
    let (start, values): (f64, Vec<Option<f64>>) = match (first, last) {
        (Some(a), Some(b)) => (
            w.timestamp(a) as f64 / 1000.0,
            w.values[a..=b]
                .iter()
                .map(|v| v.is_finite().then_some(*v))
                .collect(),
        ),
        _ => (w.start_ms as f64 / 1000.0, Vec::new()),
    };
    Json(json!({
        "status": "success",
        "data": {
            "series": key,
            "tier": if tier == Tier::Raw { "raw" } else { "downsampled" },
            "start_timestamp": start,
            "step_seconds": w.step_ms as f64 / 1000.0,
            "values": values,
        }
    }))
    .into_response()
}
