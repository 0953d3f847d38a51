//! Plain indicator lists: one entry a line.

use serde_json::Value;

use super::Parsed;
use crate::net::Cidr;
use crate::ti::{clip, detect_kind, Indicator, IndicatorKind};

/// Parses a plain list: one indicator a line, kind auto-detected (IP, `ip:port`, CIDR, URL,
/// domain; see [`detect_kind`](crate::ti::detect_kind)).
///
/// * Blank lines and lines starting with `#`, `;` or `//` are comments.
/// * The first whitespace-separated token is the indicator; text after it is a comment, and a
///   `; SBL123` / `# note` comment becomes the indicator's `reference` (Spamhaus DROP). A trailing
///   `,` or `;` glued to the token is dropped.
/// * `a,b,...` CSV-ish lines use the first field when it is an address or network.
/// * Hosts-file lines (`0.0.0.0 evil.com`, `127.0.0.1 evil.com`) give the domain.
/// * DShield `block.txt` rows (`start<TAB>end<TAB>prefix...`) give the network `start/prefix`.
/// * JSON-lines objects (Spamhaus DROP `{"cidr": ...}`) give the first of `cidr`, `ip`,
///   `ipv4`, `ipv6`, `network`, `domain`, `hostname`, `url`, `indicator`, `value`; the trailing
///   `{"type": "metadata"}` line is not an entry; `{"asn": ...}` rows are skipped (AS numbers are
///   not indicators flowtrail matches).
pub fn parse_list(text: &str, feed: &str) -> Parsed {
    let mut out = Parsed::default();
    for (i, raw) in text.lines().enumerate() {
        let line_no = i + 1;
        let line = raw.trim_matches(|c: char| c.is_whitespace() || c == '\u{feff}');
        if line.is_empty()
            || line.starts_with('#')
            || line.starts_with(';')
            || line.starts_with("//")
        {
            continue;
        }
        let loc = format!("line {line_no}");
        if line.starts_with('{') {
            json_line(line, &loc, feed, &mut out);
            continue;
        }
        match list_entry(line) {
            Ok(None) => {}
            Ok(Some((mut ind, comment))) => {
                ind.feed = feed.to_string();
                if let Some(c) = comment {
                    ind.reference = Some(c.to_string());
                }
                out.push(ind);
            }
            Err(reason) => out.report.skip(&loc, reason),
        }
    }
    out
}

/// One non-comment line -> indicator and trailing comment.
fn list_entry(line: &str) -> Result<Option<(Indicator, Option<&str>)>, String> {
    // DShield block.txt: start \t end \t prefix-length \t ...
    let tabs: Vec<&str> = line.split('\t').collect();
    if tabs.len() >= 3 {
        let (a, b, p) = (tabs[0].trim(), tabs[1].trim(), tabs[2].trim());
        if let (Some(sa), Some(_)) = (Cidr::parse(a), Cidr::parse(b)) {
            if sa.is_host()
                && !p.is_empty()
                && p.len() <= 3
                && p.bytes().all(|c| c.is_ascii_digit())
            {
                return Indicator::new(IndicatorKind::Cidr, &format!("{a}/{p}"))
                    .map(|i| Some((i, None)));
            }
        }
    }
    let mut parts = line.splitn(2, char::is_whitespace);
    let mut token = parts.next().unwrap_or("");
    let rest = parts.next().unwrap_or("").trim();
    // Hosts file.
    if matches!(token, "0.0.0.0" | "127.0.0.1" | "::" | "::1") && !rest.is_empty() {
        let name = rest.split_whitespace().next().unwrap_or("");
        if name.starts_with('#') {
            return Indicator::new(IndicatorKind::Ip, token).map(|i| Some((i, None)));
        }
        if matches!(
            name,
            "localhost" | "localhost.localdomain" | "local" | "broadcasthost"
        ) {
            return Ok(None);
        }
        return Indicator::new(IndicatorKind::Domain, name).map(|i| Some((i, None)));
    }
    token = token.trim_end_matches([',', ';']);
    if let Some((first, _)) = token.split_once(',') {
        if Cidr::parse(first).is_some() {
            token = first;
        }
    }
    let comment = rest
        .strip_prefix(';')
        .or_else(|| rest.strip_prefix('#'))
        .map(str::trim)
        .filter(|c| !c.is_empty() && c.len() <= 200);
    match detect_kind(token) {
        Some(kind) => Indicator::new(kind, token).map(|i| Some((i, comment))),
        None => {
            let is_asn = token.len() > 2
                && token.get(..2).is_some_and(|p| p.eq_ignore_ascii_case("AS"))
                && token
                    .get(2..)
                    .is_some_and(|n| n.bytes().all(|b| b.is_ascii_digit()));
            if is_asn {
                Err(format!("AS number {token:?} is not a supported indicator"))
            } else {
                Err(format!("unrecognised indicator {:?}", clip(token)))
            }
        }
    }
}

const JSON_KEYS: &[&str] = &[
    "cidr",
    "ip",
    "ipv4",
    "ipv6",
    "network",
    "domain",
    "hostname",
    "url",
    "indicator",
    "value",
];

fn json_line(line: &str, loc: &str, feed: &str, out: &mut Parsed) {
    let v: Value = match serde_json::from_str(line) {
        Ok(v) => v,
        Err(e) => {
            out.report.skip(loc, format!("bad JSON line: {e}"));
            return;
        }
    };
    if v.get("type").and_then(Value::as_str) == Some("metadata") {
        return;
    }
    // Spamhaus ASN-DROP rows also carry the AS's web `domain`, which is not an indicator.
    if let Some(asn) = v.get("asn") {
        out.report
            .skip(loc, format!("AS number {asn} is not a supported indicator"));
        return;
    }
    let found = JSON_KEYS
        .iter()
        .find_map(|k| v.get(*k).and_then(Value::as_str).map(|s| (*k, s)));
    let Some((key, value)) = found else {
        out.report.skip(loc, "JSON line has no indicator field");
        return;
    };
    let kind = match key {
        "domain" | "hostname" => Some(IndicatorKind::Domain),
        "url" => Some(IndicatorKind::Url),
        _ => detect_kind(value),
    };
    let res = match kind {
        Some(k) => Indicator::new(k, value),
        None => Err(format!("unrecognised indicator {:?}", clip(value))),
    };
    match res {
        Ok(mut ind) => {
            ind.feed = feed.to_string();
            let reference = ["sblid", "id"]
                .iter()
                .find_map(|k| v.get(*k).and_then(Value::as_str));
            ind.reference = reference.map(str::to_string);
            out.push(ind);
        }
        Err(reason) => out.report.skip(loc, reason),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn list_forms() {
        let text = "\u{feff}# comment\n\
            ; spamhaus header\n\
            1.4.0.0/17 ; SBL256893\n\
            2a06:e480::/29 ; SBL301771\n\
            2a12:2640::/29 \n\
            45.148.10.151\n\
            http://45.133.74.103/x86\n\
            evil.example.com\n\
            0.0.0.0 ads.example.net\n\
            127.0.0.1 localhost\n\
            8.8.8.8,google dns\n\
            AS260 ; AE | XCONNECT24\n\
            Start\tEnd\tNetblock\tAttacks\n\
            43.229.53.0\t43.229.53.255\t24\t788\tJapan Inet\tJP\tadmin@v6nic.net\n\
            194.63.140.0\t194.63.140.255\t24\t585\t\t\t\n\
            {\"cidr\":\"1.10.16.0/20\",\"sblid\":\"SBL256894\",\"rir\":\"apnic\"}\n\
            {\"asn\":932,\"rir\":\"arin\"}\n\
            {\"type\":\"metadata\",\"records\":1}\n\
            {not json\n\
            not_an_indicator\n";
        let p = parse_list(text, "t");
        let vals: Vec<_> = p.indicators.iter().map(|i| i.value.as_str()).collect();
        assert_eq!(
            vals,
            [
                "1.4.0.0/17",
                "2a06:e480::/29",
                "2a12:2640::/29",
                "45.148.10.151",
                "http://45.133.74.103/x86",
                "evil.example.com",
                "ads.example.net",
                "8.8.8.8",
                "43.229.53.0/24",
                "194.63.140.0/24",
                "1.10.16.0/20",
            ]
        );
        assert_eq!(p.indicators[0].reference.as_deref(), Some("SBL256893"));
        assert_eq!(p.indicators[10].reference.as_deref(), Some("SBL256894"));
        assert!(p.indicators.iter().all(|i| i.feed == "t"));
        let reasons: Vec<_> = p.report.skipped.iter().map(|s| s.reason.as_str()).collect();
        assert_eq!(p.report.skipped_total, 5, "{reasons:?}");
        assert!(reasons[0].starts_with("AS number \"AS260\""));
        assert!(reasons[1].contains("\"Start\""));
        assert!(reasons[2].starts_with("AS number 932"));
        assert!(reasons[3].starts_with("bad JSON line"));
        assert!(reasons[4].contains("not_an_indicator"));
        assert_eq!(p.report.skipped[0].location, "line 12");
    }
}
