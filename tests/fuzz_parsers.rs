//! Property-based fuzzing of every parser that takes outside input: no input may
//! panic them. `PROPTEST_CASES` raises the case count for longer runs.
use proptest::prelude::*;

fn cfg(cases: u32) -> ProptestConfig {
    let n = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(cases);
    ProptestConfig {
        cases: n,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

/// Text shaped like our TOML config, so the fuzzer reaches value validation, not only the TOML lexer.
fn toml_like() -> impl Strategy<Value = String> {
    let key = prop_oneof![
        Just("collect.interval"),
        Just("\"web.listen-address\""),
        Just("forecast.horizons"),
        Just("collector.cpu"),
        Just("storage.cache-bytes"),
        Just("forecast.level"),
        Just("log.level"),
        Just("nosuch.key"),
        Just("[collector]"),
        Just("[forecast]"),
    ];
    let value = prop_oneof![
        Just("\"15s\"".to_string()),
        Just("true".to_string()),
        Just("[\"1h\", 3]".to_string()),
        Just("-1".to_string()),
        Just("1e308".to_string()),
        "\"[^\"]{0,12}\"".prop_map(|s| s),
        "[0-9a-z.\\[\\]\"=, ]{0,16}",
    ];
    prop::collection::vec((key, value), 0..8).prop_map(|kv| {
        kv.into_iter()
            .map(|(k, v)| {
                if k.starts_with('[') {
                    format!("{k}\n")
                } else {
                    format!("{k} = {v}\n")
                }
            })
            .collect()
    })
}

/// Exporter-toolkit web config keys with values of any shape.
fn web_config_like() -> impl Strategy<Value = String> {
    let key = prop::sample::select(vec![
        "tls_server_config:",
        "  cert_file:",
        "  key_file:",
        "  client_auth_type:",
        "  client_ca_file:",
        "  min_version:",
        "  max_version:",
        "basic_auth_users:",
        "  alice:",
        "http_server_config:",
        "  headers:",
        "    X-Frame-Options:",
        "- ",
    ]);
    let value = prop::sample::select(vec![
        "",
        " TLS12",
        " TLS13",
        " RequireAndVerifyClientCert",
        " $2y$10$abcdefghijklmnopqrstuv",
        " [1, 2]",
        " {a: b}",
        " ~",
        " \"\\u0000\"",
        " 1e999",
        " /dev/null",
    ]);
    prop::collection::vec((key, value), 0..10).prop_map(|lines| {
        lines
            .into_iter()
            .map(|(k, v)| format!("{k}{v}\n"))
            .collect()
    })
}

proptest! {
    #![proptest_config(cfg(2000))]

    #[test]
    fn config_parser_never_panics(text in "\\PC{0,200}") {
        let _ = nodecast::config::file::parse(&text, "fuzz.toml", &["cpu", "meminfo"]);
    }

    #[test]
    fn config_parser_never_panics_on_config_like_text(text in toml_like()) {
        let _ = nodecast::config::file::parse(&text, "fuzz.toml", &["cpu", "meminfo"]);
    }

    #[test]
    fn web_config_parser_never_panics(text in "\\PC{0,200}") {
        let _ = nodecast::export::webconfig::WebConfig::parse(&text, std::path::Path::new("/nonexistent/web.yml"));
    }

    #[test]
    fn web_config_parser_never_panics_on_config_like_text(text in web_config_like()) {
        let _ = nodecast::export::webconfig::WebConfig::parse(&text, std::path::Path::new("/nonexistent/web.yml"));
    }

    #[test]
    fn backfill_response_parser_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..300)) {
        let _ = nodecast::backfill::response::parse_range(&bytes);
    }

    #[test]
    fn backfill_response_parser_never_panics_on_json_like(ts in any::<f64>(), v in "\\PC{0,10}", name in "\\PC{0,10}", status in "(success|error|\\PC{0,5})", rt in "(matrix|vector|\\PC{0,4})") {
        let body = serde_json::json!({
            "status": status,
            "data": { "resultType": rt, "result": [ { "metric": { "__name__": name }, "values": [[ts, v]] } ] }
        });
        let _ = nodecast::backfill::response::parse_range(body.to_string().as_bytes());
    }

    #[test]
    fn series_keys_round_trip(name in "[a-zA-Z_][a-zA-Z0-9_]{0,20}", labels in prop::collection::btree_map("[a-z_][a-z0-9_]{0,8}", "\\PC{0,12}", 0..4)) {
        let l: Vec<(String, String)> = labels.into_iter().collect();
        let key = nodecast::store::series_key(&name, &l);
        let parsed = nodecast::store::parse_series_key(&key);
        prop_assert_eq!(parsed, Some((name, l)));
    }

    #[test]
    fn series_key_parser_never_panics(text in "\\PC{0,80}") {
        let _ = nodecast::store::parse_series_key(&text);
    }
}

fn csv_like() -> impl Strategy<Value = String> {
    let ts = prop_oneof![
        Just("2014-02-14 14:30:00".to_string()),
        Just("2014-02-14T14:35:00Z".to_string()),
        Just("1392388200".to_string()),
        Just("1970-01-01 00:00:00".to_string()),
        Just("2999-12-31 23:59:59".to_string()),
        "\\PC{0,12}",
    ];
    let v = prop_oneof![
        Just("0.5".to_string()),
        Just("NaN".to_string()),
        Just("".to_string()),
        Just("1e400".to_string()),
        "\\PC{0,6}"
    ];
    let header = prop_oneof![
        Just("timestamp,value"),
        Just("value,timestamp"),
        Just("time,value,extra"),
        Just("ts,val")
    ];
    (header, prop::collection::vec((ts, v), 0..12)).prop_map(|(h, rows)| {
        std::iter::once(h.to_string())
            .chain(rows.into_iter().map(|(t, v)| format!("{t},{v}")))
            .collect::<Vec<_>>()
            .join("\n")
    })
}

proptest! {
    #![proptest_config(cfg(500))]

    #[test]
    fn csv_reader_never_panics(text in csv_like()) {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("in.csv");
        std::fs::write(&p, &text).unwrap();
        let _ = nodecast::cli::backtest_cmd::data::read_timestamp_value(&p);
        let _ = nodecast::cli::backtest_cmd::data::read_m4(&p);
    }

    #[test]
    fn csv_reader_never_panics_on_bytes(bytes in prop::collection::vec(any::<u8>(), 0..200)) {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("in.csv");
        std::fs::write(&p, &bytes).unwrap();
        let _ = nodecast::cli::backtest_cmd::data::read_timestamp_value(&p);
        let _ = nodecast::cli::backtest_cmd::data::read_m4(&p);
    }
}
