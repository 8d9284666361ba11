//! Canonical series keys: `name{a="x",b="y"}` with labels sorted and values
//! escaped like the Prometheus text format, so one series has exactly one key.

/// Builds the canonical key. Labels are sorted by name (then value, so that
/// duplicate names still give one stable order).
pub fn series_key(name: &str, labels: &[(String, String)]) -> String {
    let mut sorted: Vec<&(String, String)> = labels.iter().collect();
    sorted.sort();
    let mut out = String::with_capacity(name.len() + 16 * sorted.len());
    out.push_str(name);
    if sorted.is_empty() {
        return out;
    }
    out.push('{');
    for (i, (k, v)) in sorted.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(k);
        out.push_str("=\"");
        for c in v.chars() {
            match c {
                '\\' => out.push_str("\\\\"),
                '"' => out.push_str("\\\""),
                '\n' => out.push_str("\\n"),
                c => out.push(c),
            }
        }
        out.push('"');
    }
    out.push('}');
    out
}

/// Inverse of [`series_key`]. Returns `None` for anything malformed.
pub fn parse_series_key(key: &str) -> Option<(String, Vec<(String, String)>)> {
    let Some(open) = key.find('{') else {
        return valid_name(key).then(|| (key.to_string(), Vec::new()));
    };
    let name = &key[..open];
    if !valid_name(name) || !key.ends_with('}') {
        return None;
    }
    let body = &key[open + 1..key.len() - 1];
    let mut labels = Vec::new();
    let mut chars = body.chars().peekable();
    while chars.peek().is_some() {
        let mut lname = String::new();
        for c in chars.by_ref() {
            if c == '=' {
                break;
            }
            lname.push(c);
        }
        if !valid_name(&lname) || chars.next() != Some('"') {
            return None;
        }
        let mut value = String::new();
        let mut closed = false;
        while let Some(c) = chars.next() {
            match c {
                '"' => {
                    closed = true;
                    break;
                }
                '\\' => match chars.next()? {
                    'n' => value.push('\n'),
                    '\\' => value.push('\\'),
                    '"' => value.push('"'),
                    _ => return None,
                },
                c => value.push(c),
            }
        }
        if !closed {
            return None;
        }
        labels.push((lname, value));
        match chars.next() {
            None => break,
            Some(',') if chars.peek().is_some() => {}
            Some(_) => return None,
        }
    }
    Some((name.to_string(), labels))
}

fn valid_name(s: &str) -> bool {
    let mut cs = s.chars();
    matches!(cs.next(), Some(c) if c.is_ascii_alphabetic() || c == '_' || c == ':')
        && cs.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn l(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    }

    #[test]
    fn sorted_and_escaped_round_trip() {
        let labels = l(&[("mode", "idle"), ("cpu", "0"), ("path", "a\"b\\c\nd")]);
        let key = series_key("node_cpu_seconds_total", &labels);
        assert_eq!(
            key,
            r#"node_cpu_seconds_total{cpu="0",mode="idle",path="a\"b\\c\nd"}"#
        );
        let (name, parsed) = parse_series_key(&key).unwrap();
        assert_eq!(name, "node_cpu_seconds_total");
        assert_eq!(
            parsed,
            l(&[("cpu", "0"), ("mode", "idle"), ("path", "a\"b\\c\nd")])
        );
        assert_eq!(series_key("node_load1", &[]), "node_load1");
        assert_eq!(
            parse_series_key("node_load1"),
            Some(("node_load1".into(), vec![]))
        );
    }

    #[test]
    fn malformed_keys_rejected() {
        for bad in [
            "",
            "1abc",
            "a{",
            "a{b}",
            "a{b=\"x}",
            "a{b=\"x\",}",
            "a{b=\"x\\q\"}",
            "a b",
        ] {
            assert_eq!(parse_series_key(bad), None, "{bad}");
        }
    }
}
