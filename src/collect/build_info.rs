//! `build_info`: node_exporter_build_info, so that node-mixin's
//! "USE Method / Node" dashboard, which lists its instances with
//! `label_values(node_exporter_build_info, instance)`, finds nodecast targets.
//! The version label says nodecast, so nothing mistakes us for node_exporter;
//! `--no-collector.build_info` turns it off.

use super::{CollectError, Collector, Family, Kind, Roots};

pub struct BuildInfo;

pub fn build(_: &super::CollectOptions) -> Box<dyn Collector> {
    Box::new(BuildInfo)
}

/// Go's GOARCH spelling of the target architecture.
fn goarch() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "x86" => "386",
        "powerpc64" => "ppc64",
        other => other,
    }
}

impl Collector for BuildInfo {
    fn name(&self) -> &'static str {
        "build_info"
    }

    fn collect(&mut self, _roots: &Roots, out: &mut Vec<Family>) -> Result<(), CollectError> {
        let mut f = Family::new(
            "node_exporter_build_info",
            "A metric with a constant '1' value labeled by version, revision, branch, goversion from which node_exporter was built, and the goos and goarch for the build.",
            Kind::Gauge,
        );
        let version = format!("nodecast-{}", env!("CARGO_PKG_VERSION"));
        f.push(
            &[
                ("branch", ""),
                ("goarch", goarch()),
                ("goos", std::env::consts::OS),
                ("goversion", ""),
                (
                    "revision",
                    option_env!("NODECAST_GIT_REVISION").unwrap_or("unknown"),
                ),
                ("version", &version),
            ],
            1.0,
        );
        out.push(f);
        Ok(())
    }
}
