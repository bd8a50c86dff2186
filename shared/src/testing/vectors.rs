//! Fixed vectors on disk in one format (age's testkit style): `# ` comment
//! lines, then `name: hex` lines in protocol order. Reading and writing the
//! file is the caller's (this crate does no I/O); this module renders,
//! parses and compares.

use std::collections::BTreeMap;

/// Lower-case hex.
pub fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// Parses hex (whitespace ignored); `None` if it is not hex.
pub fn unhex(s: &str) -> Option<Vec<u8>> {
    let s: String = s.split_whitespace().collect();
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| s.get(i..i + 2).and_then(|b| u8::from_str_radix(b, 16).ok()))
        .collect()
}

/// The file for `values`, under the `header` comment lines.
pub fn render(header: &[&str], values: &[(&str, String)]) -> String {
    let mut out: String = header.iter().map(|h| format!("# {h}\n")).collect();
    for (k, v) in values {
        out.push_str(&format!("{k}: {v}\n"));
    }
    out
}

/// The `name: value` lines of a file, in order; `None` if a line is neither
/// a comment nor `name: value`.
pub fn parse(text: &str) -> Option<Vec<(String, String)>> {
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .map(|l| {
            l.split_once(": ")
                .map(|(k, v)| (k.to_string(), v.to_string()))
        })
        .collect()
}

/// The same lines by name.
pub fn by_name(text: &str) -> Option<BTreeMap<String, String>> {
    parse(text).map(|v| v.into_iter().collect())
}

/// The first difference between the recorded and the computed values, in
/// order: `None` when they agree line for line.
pub fn first_difference(recorded: &str, computed: &[(&str, String)]) -> Option<String> {
    let Some(want) = parse(recorded) else {
        return Some("the file has a line that is not `name: hex`".into());
    };
    for (i, (w, g)) in want.iter().zip(computed).enumerate() {
        if w.0 != g.0 {
            return Some(format!("line {i}: recorded {}, computed {}", w.0, g.0));
        }
        if w.1 != g.1 {
            return Some(format!("first value that changed: {}", w.0));
        }
    }
    (want.len() != computed.len()).then(|| {
        format!(
            "{} values recorded, {} computed",
            want.len(),
            computed.len()
        )
    })
}
