//! Parsing Prometheus' `query_range` answer. Kept apart from the HTTP client so
//! it can be fuzzed: no input may panic it.

use std::fmt;

use serde::de::{Deserializer, SeqAccess, Visitor};
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
    values: Values,
}

/// A series' `[[ts, "value"], ...]`, converted while it is read: a 10 000-point
/// answer held as `(f64, String)` pairs took twice the memory of the samples
/// and one allocation per point, the backfill's largest transient
/// (docs/store.md, "Memory at full history"). The first bad point is kept
/// to be reported; the points after it are skipped.
#[derive(Default)]
struct Values {
    samples: Vec<(i64, f64)>,
    bad: Option<ResponseError>,
}

/// A sample value as Prometheus writes it: a string, parsed without keeping it.
struct Text(Result<f64, String>);

impl<'de> Deserialize<'de> for Text {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Text;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a sample value string")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Text, E> {
                // Prometheus spells special values NaN, +Inf, -Inf; Rust parses all three.
                Ok(Text(v.parse().map_err(|_| v.to_string())))
            }
        }
        d.deserialize_str(V)
    }
}

impl<'de> Deserialize<'de> for Values {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Values;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an array of [timestamp, value] pairs")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Values, A::Error> {
                let mut out = Values::default();
                while let Some((ts, Text(value))) = seq.next_element::<(f64, Text)>()? {
                    if out.bad.is_some() {
                        continue;
                    }
                    match value {
                        Err(value) => out.bad = Some(ResponseError::BadValue { ts, value }),
                        Ok(_) if !ts.is_finite() => {
                            out.bad = Some(ResponseError::Malformed(format!(
                                "timestamp {ts} is not finite"
                            )))
                        }
                        Ok(v) => out.samples.push(((ts * 1000.0).round() as i64, v)),
                    }
                }
                Ok(out)
            }
        }
        d.deserialize_seq(V)
    }
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
        if let Some(e) = s.values.bad {
            return Err(e);
        }
        out.push(RangeSeries {
            labels: s.metric.into_iter().collect(),
            samples: s.values.samples,
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
        // The first bad point is the one reported, whatever follows it.
        let e = parse_range(br#"{"status":"success","data":{"resultType":"matrix","result":[{"metric":{},"values":[[1,"1"],[2,"x\u0079"],[3,"z"]]}]}}"#);
        assert_eq!(
            e,
            Err(ResponseError::BadValue {
                ts: 2.0,
                value: "xy".into()
            })
        );
        let e = parse_range(br#"{"status":"success","data":{"resultType":"matrix","result":[{"metric":{},"values":[[1,2]]}]}}"#);
        assert!(matches!(e, Err(ResponseError::Malformed(_))), "{e:?}");
    }
}
