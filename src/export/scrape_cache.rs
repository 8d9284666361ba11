//! The `/metrics` body, mostly encoded ahead. At full history nine tenths of it are
//! the collected and forecast families, which change only when a collection or a
//! forecast cycle publishes new ones; re-encoding them on every scrape made the
//! scrape cost grow with the forecast families. Their text is kept per published
//! snapshot and format, so a scrape encodes only the agent's own metrics (counters
//! the loops and the HTTP layer move at any time) and copies the rest. The body is
//! the same bytes a fresh encoding would give: a snapshot never changes once
//! published, and the cache is keyed by the snapshot itself.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, Mutex, Weak};

use prometheus_client::encoding::{prometheus_text, text};
use prometheus_client::registry::Registry;

use super::exposition::{
    snapshot, SharedFamilies, SnapshotCollector, OPENMETRICS_CONTENT_TYPE, TEXT_CONTENT_TYPE,
};
use crate::collect::Family;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// The classic text format, 0.0.4.
    Text,
    OpenMetrics,
}

impl Format {
    fn index(self) -> usize {
        self as usize
    }

    fn bit(self) -> u8 {
        1 << self.index()
    }

    pub fn content_type(self) -> &'static str {
        match self {
            Format::Text => TEXT_CONTENT_TYPE,
            Format::OpenMetrics => OPENMETRICS_CONTENT_TYPE,
        }
    }

    /// `text::encode_registry` leaves out OpenMetrics' `# EOF`, so parts concatenate.
    fn encode(self, out: &mut String, r: &Registry) -> std::fmt::Result {
        match self {
            Format::Text => prometheus_text::encode(out, r),
            Format::OpenMetrics => text::encode_registry(out, r),
        }
    }
}

/// One published family list and its encodings.
pub struct EncodedFamilies {
    source: SharedFamilies,
    cache: Mutex<Cached>,
    /// Formats asked for since the last [`EncodedFamilies::warm`], one bit each.
    wanted: AtomicU8,
}

#[derive(Default)]
struct Cached {
    /// Which snapshot the texts encode. Weak: a stale entry must not keep the old
    /// families alive, and while it exists their address cannot be reused.
    of: Weak<Vec<Family>>,
    text: [Option<Arc<str>>; 2],
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl EncodedFamilies {
    pub fn new(source: SharedFamilies) -> Arc<EncodedFamilies> {
        Arc::new(EncodedFamilies {
            source,
            cache: Mutex::default(),
            wanted: AtomicU8::new(0),
        })
    }

    pub fn source(&self) -> &SharedFamilies {
        &self.source
    }

    /// Replaces the families and encodes them ahead for the formats being scraped.
    pub fn publish(&self, families: Vec<Family>) {
        crate::snapshot::publish(&self.source, families);
        self.warm();
    }

    /// The current snapshot in `format`, encoded now if it changed since the last time.
    pub fn get(&self, format: Format) -> Result<Arc<str>, std::fmt::Error> {
        self.wanted.fetch_or(format.bit(), Ordering::Relaxed);
        self.encoded(format)
    }

    fn encoded(&self, format: Format) -> Result<Arc<str>, std::fmt::Error> {
        let current = snapshot(&self.source);
        // Held while encoding: a scrape racing a warm-up waits for its result
        // instead of encoding the same snapshot twice.
        let mut c = lock(&self.cache);
        if !std::ptr::eq(c.of.as_ptr(), Arc::as_ptr(&current)) {
            *c = Cached {
                of: Arc::downgrade(&current),
                text: [None, None],
            };
        }
        if let Some(t) = &c.text[format.index()] {
            return Ok(t.clone());
        }
        let mut r = Registry::default();
        r.register_collector(Box::new(SnapshotCollector(current)));
        let mut out = String::new();
        format.encode(&mut out, &r)?;
        let t: Arc<str> = out.into();
        c.text[format.index()] = Some(t.clone());
        Ok(t)
    }

    /// For the producer, right after it publishes: encodes the formats scraped
    /// since the last call, so the next scrape finds them ready. Costs nothing
    /// when nothing scrapes, and one encoding per format scraped per
    /// publication, as encoding on the scrape did at one scrape per collection.
    pub fn warm(&self) {
        let wanted = self.wanted.swap(0, Ordering::Relaxed);
        for f in [Format::Text, Format::OpenMetrics] {
            if wanted & f.bit() != 0 {
                let _ = self.encoded(f);
            }
        }
    }
}

/// The live registry (self-metrics) followed by the encoded-ahead parts.
pub struct Exposition {
    pub live: Registry,
    pub parts: Vec<Arc<EncodedFamilies>>,
}

impl Exposition {
    /// (content type, body), in the same family order as one registry holding the
    /// self-metrics and then one collector per part.
    pub fn render(&self, format: Format) -> Result<(&'static str, String), std::fmt::Error> {
        let parts = self
            .parts
            .iter()
            .map(|p| p.get(format))
            .collect::<Result<Vec<_>, _>>()?;
        let mut body =
            String::with_capacity(8 * 1024 + parts.iter().map(|p| p.len()).sum::<usize>());
        format.encode(&mut body, &self.live)?;
        for p in &parts {
            body.push_str(p);
        }
        if format == Format::OpenMetrics {
            body.write_str("# EOF\n")?;
        }
        Ok((format.content_type(), body))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collect::{Kind, Sample};
    use crate::export::exposition::{render, shared_families, FamiliesCollector};
    use crate::export::self_metrics::SelfMetrics;
    use crate::snapshot::publish;

    fn fam(name: &str, kind: Kind, values: &[(&str, f64)]) -> Family {
        Family {
            name: name.into(),
            help: format!("help of {name}"),
            kind,
            samples: values
                .iter()
                .map(|(l, v)| Sample {
                    labels: [("device".into(), l.to_string())].into(),
                    tail: None,
                    value: *v,
                })
                .collect(),
        }
    }

    /// The daemon's old single registry, re-encoded in full on each render.
    fn reference(m: &SelfMetrics, a: &SharedFamilies, b: &SharedFamilies) -> Registry {
        let mut r = Registry::default();
        m.register(&mut r);
        r.register_collector(Box::new(FamiliesCollector(a.clone())));
        r.register_collector(Box::new(FamiliesCollector(b.clone())));
        r
    }

    #[test]
    fn same_bytes_as_a_fresh_encoding_and_follows_every_publication() {
        let m = SelfMetrics::default();
        let (a, b) = (shared_families(), shared_families());
        let mut live = Registry::default();
        m.register(&mut live);
        let exp = Exposition {
            live,
            parts: vec![
                EncodedFamilies::new(a.clone()),
                EncodedFamilies::new(b.clone()),
            ],
        };
        let whole = reference(&m, &a, &b);
        let check = |note: &str| {
            for (f, om) in [(Format::Text, false), (Format::OpenMetrics, true)] {
                let got = exp.render(f).unwrap();
                assert_eq!(got, render(&whole, om).unwrap(), "{note}, {f:?}");
            }
        };
        check("empty");
        publish(
            &a,
            vec![fam(
                "node_disk_read_bytes_total",
                Kind::Counter,
                &[("sda", 1.0)],
            )],
        );
        publish(
            &b,
            vec![fam("nodecast_forecast", Kind::Gauge, &[("sda", 2.5)])],
        );
        check("first publication");
        // Cached now; a new publication must replace it, warmed ahead or not.
        publish(
            &a,
            vec![fam(
                "node_disk_read_bytes_total",
                Kind::Counter,
                &[("sda", 7.0), ("sdb", 3.0)],
            )],
        );
        exp.parts[0].warm();
        publish(&b, vec![]);
        check("second publication");
        // Self-metrics are live: a counter moved between publications shows at once.
        m.samples_stored.inc_by(42);
        m.http_connections_rejected
            .get_or_create(&vec![("reason".into(), "global".into())])
            .inc();
        check("live counters moved");
        let (_, text) = exp.render(Format::Text).unwrap();
        assert!(
            text.contains("nodecast_store_samples_stored_total 42\n"),
            "{text}"
        );
        assert!(
            text.contains("node_disk_read_bytes_total{device=\"sdb\"}"),
            "{text}"
        );
        assert!(!text.contains("nodecast_forecast{"), "{text}");
    }

    #[test]
    fn warm_encodes_only_what_was_scraped() {
        let a = shared_families();
        let part = EncodedFamilies::new(a.clone());
        publish(&a, vec![fam("x", Kind::Gauge, &[("d", 1.0)])]);
        part.warm();
        assert!(
            lock(&part.cache).text.iter().all(Option::is_none),
            "nothing scraped yet"
        );
        let first = part.get(Format::OpenMetrics).unwrap();
        publish(&a, vec![fam("x", Kind::Gauge, &[("d", 2.0)])]);
        part.warm();
        let c = lock(&part.cache);
        assert!(c.text[Format::Text.index()].is_none());
        let warmed = c.text[Format::OpenMetrics.index()].clone().unwrap();
        assert_ne!(warmed, first);
        assert!(warmed.contains("x{device=\"d\"} 2"), "{warmed}");
        drop(c);
        // The warm-up cleared the request: with no scrape since, the next publication is not encoded.
        publish(&a, vec![fam("x", Kind::Gauge, &[("d", 3.0)])]);
        part.warm();
        let current = snapshot(&a);
        assert!(!std::ptr::eq(
            lock(&part.cache).of.as_ptr(),
            Arc::as_ptr(&current)
        ));
    }
}
