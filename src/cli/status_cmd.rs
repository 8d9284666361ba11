//! `nodecast status`: the page's resource table in the terminal, from a running
//! agent. Exit code 1 when a resource is predicted to run out within the
//! horizon, so it works in a cron job or a login banner.

use super::client::{ClientArgs, ClientError};
use crate::predict::warmup::human_duration_ms;

#[derive(clap::Args, Debug, Clone)]
pub struct StatusArgs {
    #[command(flatten)]
    pub client: ClientArgs,
    /// Output: a table, or the agent's JSON as is.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
}

#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Table,
    Json,
}

/// Nothing runs out within the horizon.
pub const EXIT_OK: i32 = 0;
/// At least one resource is predicted to run out within the horizon.
pub const EXIT_RUNS_OUT: i32 = 1;
/// The agent could not be reached or answered with an error.
pub const EXIT_UNREACHABLE: i32 = 3;

fn resource_name(r: &str) -> &str {
    match r {
        "filesystem_space" => "disk space",
        "filesystem_inodes" => "inodes",
        "file_descriptors" => "file descriptors",
        "pids" => "PIDs",
        other => other,
    }
}

fn place(labels: &serde_json::Value) -> String {
    ["mountpoint", "device", "sensor", "zone"]
        .iter()
        .find_map(|k| labels[*k].as_str().map(str::to_string))
        .unwrap_or_else(|| "node".into())
}

/// The table and the exit code for an `/api/v1/series` answer. Pure, for tests.
pub fn table(series: &serde_json::Value) -> (String, i32) {
    let empty = vec![];
    let data = series["data"].as_array().unwrap_or(&empty);
    let mut rows: Vec<&serde_json::Value> =
        data.iter().filter(|s| s["resource"].is_string()).collect();
    let tte = |s: &serde_json::Value| {
        s["time_to_exhaustion_seconds"]
            .as_f64()
            .unwrap_or(f64::INFINITY)
    };
    rows.sort_by(|a, b| tte(a).total_cmp(&tte(b)));
    let mut out = format!(
        "{:<18} {:<28} {:>20} {:>6} {:<14} {:>9}\n",
        "RESOURCE", "WHERE", "RUNS OUT IN", "PROB", "MODEL", "HISTORY"
    );
    let mut runs_out = false;
    for s in &rows {
        let t = tte(s);
        runs_out |= t.is_finite();
        let when = if t.is_finite() {
            human_duration_ms((t * 1000.0) as i64)
        } else {
            "not within horizon".into()
        };
        let mut where_ = place(&s["labels"]);
        if where_.chars().count() > 28 {
            where_ = format!(
                "…{}",
                where_
                    .chars()
                    .rev()
                    .take(27)
                    .collect::<Vec<_>>()
                    .into_iter()
                    .rev()
                    .collect::<String>()
            );
        }
        out += &format!(
            "{:<18} {:<28} {:>20} {:>5.0}% {:<14} {:>9}\n",
            resource_name(s["resource"].as_str().unwrap_or("")),
            where_,
            when,
            s["exhaustion_probability"].as_f64().unwrap_or(0.0) * 100.0,
            s["model"].as_str().unwrap_or(""),
            human_duration_ms((s["history_seconds"].as_f64().unwrap_or(0.0) * 1000.0) as i64),
        );
    }
    if rows.is_empty() {
        out += "(no resource forecast yet)\n";
    }
    let warming = series["warming_up"].as_array().map_or(0, Vec::len);
    if warming > 0 {
        let first = series["warming_up"][0]["first_forecast_due_in_seconds"]
            .as_f64()
            .unwrap_or(0.0);
        out += &format!(
            "{warming} series warming up; first forecasts in {}{}\n",
            human_duration_ms((first * 1000.0) as i64),
            if series["backfill_configured"].as_bool() == Some(true) {
                ""
            } else {
                " (--backfill.prometheus-url skips the wait)"
            }
        );
    }
    (out, if runs_out { EXIT_RUNS_OUT } else { EXIT_OK })
}

pub fn run(args: &StatusArgs) -> i32 {
    match args.client.get_json("/api/v1/series") {
        Ok(v) => {
            let (text, code) = table(&v);
            if args.format == Format::Json {
                println!("{v:#}");
            } else {
                print!("{text}");
            }
            code
        }
        Err(ClientError(e)) => {
            eprintln!("nodecast status: {e}");
            EXIT_UNREACHABLE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn soonest_first_and_exit_code() {
        let v = serde_json::json!({"data": [
            {"resource": "memory", "labels": {}, "time_to_exhaustion_seconds": null, "exhaustion_probability": 0.01, "model": "auto", "history_seconds": 7200.0},
            {"resource": "filesystem_space", "labels": {"mountpoint": "/var"}, "time_to_exhaustion_seconds": 5400.0, "exhaustion_probability": 0.9, "model": "theta", "history_seconds": 86400.0},
            {"metric": "node_load1_per_cpu", "labels": {}}
        ], "warming_up": []});
        let (text, code) = table(&v);
        assert_eq!(code, EXIT_RUNS_OUT);
        let lines: Vec<&str> = text.lines().collect();
        assert!(
            lines[1].starts_with("disk space") && lines[1].contains("1 h 30 min"),
            "{text}"
        );
        assert!(
            lines[2].starts_with("memory") && lines[2].contains("not within horizon"),
            "{text}"
        );
        let (_, code) = table(
            &serde_json::json!({"data": [], "warming_up": [{"first_forecast_due_in_seconds": 60.0}]}),
        );
        assert_eq!(code, EXIT_OK);
    }
}
