//! Parsing Prometheus' `query_range` answer. Kept apart from the HTTP client so
//! it can be fuzzed: no input may panic it.

use serde::Deserialize;

#[derive(Deserialize)]
struct Envelope {
    status: String,
    #[serde(default)]
    data: Option<Data>,
    #[serde(default, rename = "errorType")]
    error_type: Option<String>,
    #[serde(default)]
    error: Option<String>,
}

#[derive(Deserialize)]
struct Data {
    #[serde(rename = "resultType")]
    result_type: String,
    result: Vec<MatrixSeries>,
}

#[derive(Deserialize)]
struct MatrixSeries {
    metric: std::collections::BTreeMap<String, String>,
    #[serde(default)]
    values: Vec<(f64, String)>,
}

/// One series of a range query: its labels (with `__name__` if present) and samples (ms, value).
#[derive(Clone, Debug, PartialEq)]
pub struct RangeSeries {
    pub labels: Vec<(String, String)>,
    pub samples: Vec<(i64, f64)>,
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum ResponseError {
    #[error("not a Prometheus API response: {0}")]
    Malformed(String),
    #[error("Prometheus answered {error_type}: {error}")]
    Api { error_type: String, error: String },
    #[error("expected a matrix result, got {0:?}")]
    WrongType(String),
    #[error("sample value {value:?} at {ts} is not a number")]
    BadValue { ts: f64, value: String },
}

pub fn parse_range(body: &[u8]) -> Result<Vec<RangeSeries>, ResponseError> {
    let env: Envelope =
        serde_json::from_slice(body).map_err(|e| ResponseError::Malformed(e.to_string()))?;
    if env.status != "success" {
        return Err(ResponseError::Api {
            error_type: env.error_type.unwrap_or_else(|| env.status.clone()),
            error: env.error.unwrap_or_default(),
        });
    }
    let data = env
        .data
        .ok_or_else(|| ResponseError::Malformed("success without data".into()))?;
    if data.result_type != "matrix" {
        return Err(ResponseError::WrongType(data.result_type));
    }
    let mut out = Vec::with_capacity(data.result.len());
    for s in data.result {
        let mut samples = Vec::with_capacity(s.values.len());
        for (ts, v) in s.values {
            // Prometheus spells special values NaN, +Inf, -Inf; Rust parses all three.
            let value: f64 = v.parse().map_err(|_| ResponseError::BadValue {
                ts,
                value: v.clone(),
            })?;
            if !ts.is_finite() {
                return Err(ResponseError::Malformed(format!(
                    "timestamp {ts} is not finite"
                )));
            }
            samples.push(((ts * 1000.0).round() as i64, value));
        }
        out.push(RangeSeries {
            labels: s.metric.into_iter().collect(),
            samples,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_matrix() {
        let body = br#"{"status":"success","data":{"resultType":"matrix","result":[
            {"metric":{"__name__":"node_load1","instance":"a:9100"},"values":[[1700000000,"0.5"],[1700000300.5,"NaN"]]}]}}"#;
        let r = parse_range(body).unwrap();
        assert_eq!(r.len(), 1);
        assert_eq!(r[0].samples[0], (1_700_000_000_000, 0.5));
        assert_eq!(r[0].samples[1].0, 1_700_000_300_500);
        assert!(r[0].samples[1].1.is_nan());
        assert!(r[0]
            .labels
            .contains(&("__name__".to_string(), "node_load1".to_string())));
    }

    #[test]
    fn errors_are_named() {
        let e = parse_range(
            br#"{"status":"error","errorType":"bad_data","error":"parse error at char 3"}"#,
        )
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "Prometheus answered bad_data: parse error at char 3"
        );
        assert!(matches!(
            parse_range(b"<html>"),
            Err(ResponseError::Malformed(_))
        ));
        let e = parse_range(br#"{"status":"success","data":{"resultType":"vector","result":[]}}"#)
            .unwrap_err();
        assert_eq!(e, ResponseError::WrongType("vector".into()));
        let e = parse_range(br#"{"status":"success","data":{"resultType":"matrix","result":[{"metric":{},"values":[[1,"x"]]}]}}"#);
        assert!(matches!(e, Err(ResponseError::BadValue { .. })));
    }
}
