//! Rendering `/metrics`: prometheus-client encodes both OpenMetrics and the classic
//! text format (0.0.4) from the same registry, so both carry the same samples.

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::metrics::MetricType;
use prometheus_client::registry::Registry;

use crate::collect::{Family, Kind, Sample};

/// The families of the last collection (or forecast cycle), replaced wholesale.
pub type SharedFamilies = crate::snapshot::Shared<Vec<Family>>;

pub fn shared_families() -> SharedFamilies {
    crate::snapshot::shared()
}

pub use crate::snapshot::get as snapshot;

/// Exposes a [`SharedFamilies`] through prometheus-client's registry.
#[derive(Debug)]
pub struct FamiliesCollector(pub SharedFamilies);

impl Collector for FamiliesCollector {
    fn encode(&self, encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        encode_families(encoder, &snapshot(&self.0))
    }
}

/// One published snapshot, for encoding it apart from the live metrics.
#[derive(Debug)]
pub(crate) struct SnapshotCollector(pub std::sync::Arc<Vec<Family>>);

impl Collector for SnapshotCollector {
    fn encode(&self, encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        encode_families(encoder, &self.0)
    }
}

fn encode_families(
    mut encoder: DescriptorEncoder,
    families: &[Family],
) -> Result<(), std::fmt::Error> {
    for fam in families.iter().filter(|f| !f.samples.is_empty()) {
        let help = one_line_help(&fam.help);
        match fam.kind {
            Kind::Gauge => {
                let metric =
                    encoder.encode_descriptor(&fam.name, &help, None, MetricType::Gauge)?;
                encode_samples(metric, &fam.samples, ConstGauge::new)?;
            }
            Kind::Counter => {
                // prometheus-client appends `_total` itself.
                let base = fam.name.strip_suffix("_total").unwrap_or(&fam.name);
                let metric = encoder.encode_descriptor(base, &help, None, MetricType::Counter)?;
                encode_samples(metric, &fam.samples, ConstCounter::new)?;
            }
        }
    }
    Ok(())
}

/// prometheus-client 0.26 escapes help text in the 0.0.4 format but writes it as is
/// in OpenMetrics, where a newline or backslash would break the line; help is one
/// line of prose, so both go.
fn one_line_help(help: &str) -> std::borrow::Cow<'_, str> {
    if help.contains(['\\', '\n', '\r']) {
        help.replace(['\\', '\n', '\r'], " ").into()
    } else {
        help.into()
    }
}

fn encode_samples<M: EncodeMetric>(
    mut metric: prometheus_client::encoding::MetricEncoder,
    samples: &[Sample],
    make: fn(f64) -> M,
) -> Result<(), std::fmt::Error> {
    if let [only] = samples {
        // Unlabelled series print as `name value`, not `name{} value`.
        if only.labels.is_empty() && only.tail.as_ref().is_none_or(|t| t.is_empty()) {
            return make(only.value).encode(metric);
        }
    }
    for s in samples {
        let tail: &[(String, String)] = s.tail.as_deref().unwrap_or(&[]);
        make(s.value).encode(metric.encode_family(&(&*s.labels, tail))?)?;
    }
    Ok(())
}

pub const OPENMETRICS_CONTENT_TYPE: &str =
    "application/openmetrics-text; version=1.0.0; charset=utf-8";
pub const TEXT_CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Whether the `Accept` header asks for OpenMetrics (Prometheus sends it first when it supports it).
pub fn wants_openmetrics(accept: Option<&str>) -> bool {
    accept.is_some_and(|a| {
        a.split(',').any(|part| {
            let mut fields = part.split(';').map(str::trim);
            let media = fields.next().unwrap_or("");
            let q_zero = fields.any(|f| f.replace(' ', "") == "q=0");
            media.eq_ignore_ascii_case("application/openmetrics-text") && !q_zero
        })
    })
}

/// Renders the registry in the negotiated format: (content type, body). Both
/// encoders escape label values and help text themselves, so no byte a mount
/// point or a sensor name can hold breaks the exposition.
pub fn render(
    registry: &Registry,
    openmetrics: bool,
) -> Result<(&'static str, String), std::fmt::Error> {
    let mut body = String::with_capacity(64 * 1024);
    if openmetrics {
        prometheus_client::encoding::text::encode(&mut body, registry)?;
        Ok((OPENMETRICS_CONTENT_TYPE, body))
    } else {
        prometheus_client::encoding::prometheus_text::encode(&mut body, registry)?;
        Ok((TEXT_CONTENT_TYPE, body))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collect::Labels;

    fn registry_with(f: Vec<Family>) -> Registry {
        let mut r = Registry::default();
        let shared = shared_families();
        crate::snapshot::publish(&shared, f);
        r.register_collector(Box::new(FamiliesCollector(shared)));
        r
    }

    #[test]
    fn counter_and_gauge_in_both_formats() {
        let r = registry_with(vec![
            Family {
                name: "node_cpu_seconds_total".into(),
                help: "Seconds the CPUs spent in each mode.".into(),
                kind: Kind::Counter,
                samples: vec![Sample {
                    labels: [("cpu".into(), "0".into()), ("mode".into(), "idle".into())].into(),
                    tail: None,
                    value: 12.5,
                }],
            },
            Family {
                name: "nodecast_time_to_exhaustion_seconds".into(),
                help: "h".into(),
                kind: Kind::Gauge,
                samples: vec![Sample {
                    labels: [].into(),
                    tail: None,
                    value: f64::INFINITY,
                }],
            },
        ]);
        let (ct, om) = render(&r, true).unwrap();
        assert!(ct.starts_with("application/openmetrics-text"));
        assert!(om.contains("# TYPE node_cpu_seconds counter\n"), "{om}");
        assert!(
            om.contains("node_cpu_seconds_total{cpu=\"0\",mode=\"idle\"} 12.5\n"),
            "{om}"
        );
        assert!(om.ends_with("# EOF\n"));
        let (ct, text) = render(&r, false).unwrap();
        assert!(ct.starts_with("text/plain; version=0.0.4"));
        assert!(
            text.contains("# HELP node_cpu_seconds_total Seconds the CPUs spent in each mode.\n"),
            "{text}"
        );
        assert!(
            text.contains("# TYPE node_cpu_seconds_total counter\n"),
            "{text}"
        );
        assert!(
            text.contains("nodecast_time_to_exhaustion_seconds +Inf\n"),
            "{text}"
        );
        assert!(!text.contains("# EOF"));
    }

    #[test]
    fn a_shared_tail_encodes_as_the_same_labels_inline() {
        let fam = |samples| {
            vec![Family {
                name: "nodecast_forecast_mase".into(),
                help: "h".into(),
                kind: Kind::Gauge,
                samples,
            }]
        };
        let pair = |k: &str, v: &str| (k.to_string(), v.to_string());
        let id: Labels = [pair("metric", "node_load1"), pair("instance", "a\"b")].into();
        let tail: Labels = [pair("horizon", "1h"), pair("window", "24h")].into();
        let split = registry_with(fam(vec![
            Sample {
                labels: id.clone(),
                tail: Some(tail.clone()),
                value: 0.5,
            },
            // Only a tail: no leading comma; an empty tail: no trailing one.
            Sample {
                labels: [].into(),
                tail: Some(tail.clone()),
                value: 1.0,
            },
            Sample {
                labels: id.clone(),
                tail: Some([].into()),
                value: 2.0,
            },
        ]));
        let inline = registry_with(fam(vec![
            Sample::new(id.iter().chain(tail.iter()).cloned().collect(), 0.5),
            Sample::new(tail.clone(), 1.0),
            Sample::new(id.clone(), 2.0),
        ]));
        for om in [true, false] {
            let (a, b) = (render(&split, om).unwrap(), render(&inline, om).unwrap());
            assert_eq!(a, b);
            assert!(
                a.1.contains(
                    "{metric=\"node_load1\",instance=\"a\\\"b\",horizon=\"1h\",window=\"24h\"} 0.5"
                ),
                "{}",
                a.1
            );
        }
    }

    #[test]
    fn negotiation() {
        assert!(wants_openmetrics(Some(
            "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1"
        )));
        assert!(!wants_openmetrics(Some("text/plain")));
        assert!(!wants_openmetrics(None));
        assert!(!wants_openmetrics(Some("application/openmetrics-text;q=0")));
    }
}
