//! A small STIX 2.1 patterning parser: enough of the grammar to read every pattern (so
//! unsupported ones are reported precisely) and to pull out the comparisons flowtrail can match
//! against a single record.
//!
//! Supported (each comparison becomes its own indicator):
//!
//! * `ipv4-addr:value`, `ipv6-addr:value` (address or CIDR), `domain-name:value`, `url:value`,
//!   `network-traffic:dst_ref.value` / `src_ref.value`, and
//!   `network-traffic:extensions.'http-request-ext'.request_header.'User-Agent'`, compared with
//!   `=`;
//! * comparisons joined by `OR` inside one observation (`[a = 'x' OR b = 'y']`) and observations
//!   joined by `OR` (`[a = 'x'] OR [b = 'y']`); unsupported members of an `OR` are dropped
//!   and the others kept;
//! * the MISP forms `[network-traffic:dst_ref.type = 'ipv4-addr' AND network-traffic:dst_ref.value
//!   = '5.6.7.8' (AND network-traffic:dst_port = '443')]` and `[domain-name:value = 'x' AND
//!   network-traffic:dst_port = '8443']`: an `AND` whose other members only state the referenced
//!   object's type or a port (the port is dropped, as the CSV and MISP parsers drop it).
//!
//! Not supported, reported with a reason: any other `AND` (several properties of one object, or
//! several observations, need correlation a single value cannot give), `FOLLOWEDBY`, qualifiers
//! (`WITHIN`, `START`/`STOP`, `REPEATS`), operators other than `=` (`MATCHES`, `LIKE`, `IN`,
//! `!=`...), `NOT`, and other object paths (file hashes, e-mail, x509...).

use crate::ti::IndicatorKind;

/// One matchable comparison pulled out of a pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PatternIoc {
    /// The kind it maps to.
    pub kind: IndicatorKind,
    /// The compared string literal (unescaped).
    pub value: String,
}

/// The result of [`parse_pattern`]: the indicators, and for `OR`s that also held unsupported
/// members, why those were dropped.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PatternResult {
    /// Matchable comparisons.
    pub iocs: Vec<PatternIoc>,
    /// Reasons for dropped `OR` members.
    pub dropped: Vec<String>,
}

const MAX_PATTERN: usize = 64 * 1024;
const MAX_DEPTH: usize = 64;

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    LBrack,
    RBrack,
    LParen,
    RParen,
    Comma,
    Op(&'static str),
    Str(String),
    /// t'..', b'..', h'..', numbers, booleans.
    Lit(String),
    Path(String),
    Kw(String),
}

fn tokenize(p: &str) -> Result<Vec<Tok>, String> {
    let b = p.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        match c {
            b' ' | b'\t' | b'\r' | b'\n' => i += 1,
            b'[' => {
                out.push(Tok::LBrack);
                i += 1;
            }
            b']' => {
                out.push(Tok::RBrack);
                i += 1;
            }
            b'(' => {
                out.push(Tok::LParen);
                i += 1;
            }
            b')' => {
                out.push(Tok::RParen);
                i += 1;
            }
            b',' => {
                out.push(Tok::Comma);
                i += 1;
            }
            b'\'' => {
                let (s, n) = string_lit(p, i)?;
                out.push(Tok::Str(s));
                i = n;
            }
            b'=' | b'!' | b'<' | b'>' => {
                let two = p.get(i..i + 2).unwrap_or("");
                let op = match two {
                    "==" => "==",
                    "!=" => "!=",
                    "<=" => "<=",
                    ">=" => ">=",
                    "<>" => "<>",
                    _ => match c {
                        b'=' => "=",
                        b'<' => "<",
                        b'>' => ">",
                        _ => return Err(format!("unexpected {:?} at {i}", c as char)),
                    },
                };
                out.push(Tok::Op(op));
                i += op.len();
            }
            b'-' | b'+' | b'0'..=b'9' => {
                let start = i;
                i += 1;
                while i < b.len() && (b[i].is_ascii_digit() || b[i] == b'.') {
                    i += 1;
                }
                out.push(Tok::Lit(p[start..i].to_string()));
            }
            _ if c.is_ascii_alphabetic() || c == b'_' => {
                // Typed literal t'..' / b'..' / h'..'.
                if matches!(c, b't' | b'b' | b'h') && b.get(i + 1) == Some(&b'\'') {
                    let (s, n) = string_lit(p, i + 1)?;
                    out.push(Tok::Lit(format!("{}'{s}'", c as char)));
                    i = n;
                    continue;
                }
                let start = i;
                let mut is_path = false;
                while i < b.len() {
                    let ch = b[i];
                    if ch.is_ascii_alphanumeric() || ch == b'_' || ch == b'-' {
                        i += 1;
                    } else if ch == b':' || ch == b'.' {
                        is_path = true;
                        i += 1;
                        if b.get(i) == Some(&b'\'') {
                            let (_, n) = string_lit(p, i)?;
                            i = n;
                        }
                    } else if ch == b'[' && is_path {
                        // List index: [*] or [digits].
                        let close = p[i..].find(']').map(|x| x + i);
                        match close {
                            Some(cl)
                                if cl > i + 1
                                    && p[i + 1..cl]
                                        .bytes()
                                        .all(|d| d == b'*' || d.is_ascii_digit()) =>
                            {
                                i = cl + 1;
                            }
                            _ => break,
                        }
                    } else {
                        break;
                    }
                }
                let word = &p[start..i];
                if is_path {
                    out.push(Tok::Path(word.to_string()));
                } else if word.eq_ignore_ascii_case("true") || word.eq_ignore_ascii_case("false") {
                    out.push(Tok::Lit(word.to_string()));
                } else {
                    out.push(Tok::Kw(word.to_ascii_uppercase()));
                }
            }
            _ => {
                let ch = p[i..].chars().next().unwrap_or('?');
                return Err(format!("unexpected character {ch:?}"));
            }
        }
    }
    Ok(out)
}

/// Reads a single-quoted literal starting at `b[i] == '\''`; returns it unescaped and the index
/// after the closing quote.
fn string_lit(p: &str, i: usize) -> Result<(String, usize), String> {
    let mut s = String::new();
    let mut chars = p.get(i + 1..).unwrap_or("").char_indices();
    while let Some((k, ch)) = chars.next() {
        match ch {
            '\\' => match chars.next() {
                Some((_, e)) => s.push(e),
                None => break,
            },
            '\'' => return Ok((s, i + 1 + k + 1)),
            _ => s.push(ch),
        }
    }
    Err("unterminated string literal".to_string())
}

#[derive(Debug, Clone)]
enum Node {
    Cmp {
        path: String,
        op: String,
        negated: bool,
        value: Tok,
    },
    Or(Vec<Node>),
    /// `same_object`: inside one observation (`[a AND b]`) rather than between observations.
    And(Vec<Node>, bool),
    Unsupported(String),
}

struct Parser {
    toks: Vec<Tok>,
    i: usize,
    depth: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.i)
    }

    fn next(&mut self) -> Option<Tok> {
        let t = self.toks.get(self.i).cloned();
        self.i += 1;
        t
    }

    fn kw(&self, k: &str) -> bool {
        matches!(self.peek(), Some(Tok::Kw(w)) if w == k)
    }

    fn enter(&mut self) -> Result<(), String> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err("pattern nested too deeply".to_string());
        }
        Ok(())
    }

    // observation level ------------------------------------------------------------------
    fn obs_or(&mut self) -> Result<Node, String> {
        self.enter()?;
        let mut items = vec![self.obs_and()?];
        while self.kw("OR") {
            self.i += 1;
            items.push(self.obs_and()?);
        }
        self.depth -= 1;
        Ok(if items.len() == 1 {
            items.remove(0)
        } else {
            Node::Or(items)
        })
    }

    fn obs_and(&mut self) -> Result<Node, String> {
        let mut items = vec![self.obs_unit()?];
        let mut followed = false;
        while self.kw("AND") || self.kw("FOLLOWEDBY") {
            followed |= self.kw("FOLLOWEDBY");
            self.i += 1;
            items.push(self.obs_unit()?);
        }
        Ok(match items.len() {
            1 => items.remove(0),
            _ if followed => Node::Unsupported(
                "observation expressions joined by FOLLOWEDBY need correlation across records"
                    .to_string(),
            ),
            _ => Node::And(items, false),
        })
    }

    fn obs_unit(&mut self) -> Result<Node, String> {
        let node = match self.next() {
            Some(Tok::LBrack) => {
                let n = self.cmp_or()?;
                match self.next() {
                    Some(Tok::RBrack) => n,
                    _ => return Err("missing ']'".to_string()),
                }
            }
            Some(Tok::LParen) => {
                let n = self.obs_or()?;
                match self.next() {
                    Some(Tok::RParen) => n,
                    _ => return Err("missing ')'".to_string()),
                }
            }
            Some(t) => return Err(format!("expected '[' or '(', found {}", show(&t))),
            None => return Err("empty pattern".to_string()),
        };
        // Qualifiers.
        let mut qualifiers = Vec::new();
        loop {
            if self.kw("WITHIN") {
                self.i += 1;
                self.expect_lit()?;
                self.expect_kw("SECONDS")?;
                qualifiers.push("WITHIN");
            } else if self.kw("REPEATS") {
                self.i += 1;
                self.expect_lit()?;
                self.expect_kw("TIMES")?;
                qualifiers.push("REPEATS");
            } else if self.kw("START") {
                self.i += 1;
                self.expect_lit()?;
                self.expect_kw("STOP")?;
                self.expect_lit()?;
                qualifiers.push("START/STOP");
            } else {
                break;
            }
        }
        if qualifiers.is_empty() {
            Ok(node)
        } else {
            Ok(Node::Unsupported(format!(
                "qualifier {} is not supported",
                qualifiers.join(", ")
            )))
        }
    }

    fn expect_lit(&mut self) -> Result<(), String> {
        match self.next() {
            Some(Tok::Lit(_)) => Ok(()),
            Some(t) => Err(format!("expected a literal, found {}", show(&t))),
            None => Err("pattern ends early".to_string()),
        }
    }

    fn expect_kw(&mut self, k: &str) -> Result<(), String> {
        match self.next() {
            Some(Tok::Kw(w)) if w == k => Ok(()),
            Some(t) => Err(format!("expected {k}, found {}", show(&t))),
            None => Err(format!("expected {k}, pattern ends")),
        }
    }

    // comparison level -------------------------------------------------------------------
    fn cmp_or(&mut self) -> Result<Node, String> {
        self.enter()?;
        let mut items = vec![self.cmp_and()?];
        while self.kw("OR") {
            self.i += 1;
            items.push(self.cmp_and()?);
        }
        self.depth -= 1;
        Ok(if items.len() == 1 {
            items.remove(0)
        } else {
            Node::Or(items)
        })
    }

    fn cmp_and(&mut self) -> Result<Node, String> {
        let mut items = vec![self.cmp_unit()?];
        while self.kw("AND") {
            self.i += 1;
            items.push(self.cmp_unit()?);
        }
        Ok(if items.len() == 1 {
            items.remove(0)
        } else {
            Node::And(items, true)
        })
    }

    fn cmp_unit(&mut self) -> Result<Node, String> {
        match self.next() {
            Some(Tok::LParen) => {
                let n = self.cmp_or()?;
                match self.next() {
                    Some(Tok::RParen) => Ok(n),
                    _ => Err("missing ')'".to_string()),
                }
            }
            Some(Tok::Path(path)) => {
                let negated = self.kw("NOT");
                if negated {
                    self.i += 1;
                }
                let op = match self.next() {
                    Some(Tok::Op(o)) => o.to_string(),
                    Some(Tok::Kw(k))
                        if matches!(
                            k.as_str(),
                            "MATCHES" | "LIKE" | "IN" | "ISSUBSET" | "ISSUPERSET"
                        ) =>
                    {
                        k
                    }
                    Some(t) => return Err(format!("expected an operator, found {}", show(&t))),
                    None => return Err("pattern ends after a path".to_string()),
                };
                let value = if op == "IN" {
                    match self.next() {
                        Some(Tok::LParen) => {}
                        _ => return Err("IN needs '('".to_string()),
                    }
                    loop {
                        match self.next() {
                            Some(Tok::Str(_) | Tok::Lit(_) | Tok::Comma) => {}
                            Some(Tok::RParen) => break,
                            _ => return Err("bad IN list".to_string()),
                        }
                    }
                    Tok::Lit("(..)".to_string())
                } else {
                    match self.next() {
                        Some(t @ (Tok::Str(_) | Tok::Lit(_))) => t,
                        Some(t) => return Err(format!("expected a literal, found {}", show(&t))),
                        None => return Err("pattern ends after an operator".to_string()),
                    }
                };
                Ok(Node::Cmp {
                    path,
                    op,
                    negated,
                    value,
                })
            }
            Some(t) => Err(format!("expected a comparison, found {}", show(&t))),
            None => Err("pattern ends early".to_string()),
        }
    }
}

fn show(t: &Tok) -> String {
    match t {
        Tok::LBrack => "'['".into(),
        Tok::RBrack => "']'".into(),
        Tok::LParen => "'('".into(),
        Tok::RParen => "')'".into(),
        Tok::Comma => "','".into(),
        Tok::Op(o) => format!("'{o}'"),
        Tok::Str(s) => format!("'{s}'"),
        Tok::Lit(s) | Tok::Path(s) | Tok::Kw(s) => s.clone(),
    }
}

/// The kind a compared path maps to, if matchable.
fn path_kind(path: &str) -> Option<IndicatorKind> {
    let p = path.to_ascii_lowercase();
    Some(match p.as_str() {
        "ipv4-addr:value" | "ipv6-addr:value" => IndicatorKind::Ip,
        "network-traffic:dst_ref.value" | "network-traffic:src_ref.value" => IndicatorKind::Ip,
        "domain-name:value" => IndicatorKind::Domain,
        "url:value" => IndicatorKind::Url,
        "network-traffic:extensions.'http-request-ext'.request_header.'user-agent'" => {
            IndicatorKind::UserAgent
        }
        _ => return None,
    })
}

fn leaf(path: &str, op: &str, negated: bool, value: &Tok) -> Result<PatternIoc, String> {
    let Some(kind) = path_kind(path) else {
        return Err(format!("object path {path} is not supported"));
    };
    if negated {
        return Err(format!("NOT on {path} is not supported"));
    }
    if op != "=" {
        return Err(format!("operator {op} on {path} is not supported"));
    }
    let Tok::Str(v) = value else {
        return Err(format!("{path} compared with a non-string literal"));
    };
    Ok(PatternIoc {
        kind,
        value: v.clone(),
    })
}

fn extract(n: &Node, out: &mut PatternResult) -> Result<(), String> {
    match n {
        Node::Cmp {
            path,
            op,
            negated,
            value,
        } => {
            out.iocs.push(leaf(path, op, *negated, value)?);
            Ok(())
        }
        Node::Unsupported(r) => Err(r.clone()),
        Node::Or(items) => {
            let before = out.iocs.len();
            let mut reasons = Vec::new();
            for it in items {
                if let Err(r) = extract(it, out) {
                    reasons.push(r);
                }
            }
            if out.iocs.len() == before {
                return Err(reasons.join("; "));
            }
            out.dropped.extend(reasons);
            Ok(())
        }
        Node::And(items, same_object) => {
            if *same_object {
                if let Some(ioc) = ref_type_and(items) {
                    out.iocs.push(ioc);
                    return Ok(());
                }
                let paths: Vec<&str> = items
                    .iter()
                    .filter_map(|i| match i {
                        Node::Cmp { path, .. } => Some(path.as_str()),
                        _ => None,
                    })
                    .collect();
                Err(format!(
                    "AND-joined comparisons ({}) cannot be matched against one value",
                    if paths.is_empty() {
                        "nested".to_string()
                    } else {
                        paths.join(", ")
                    }
                ))
            } else {
                Err(
                    "observation expressions joined by AND need correlation across records"
                        .to_string(),
                )
            }
        }
    }
}

/// An `AND` of one matchable comparison with comparisons that only restate the referenced
/// object's type or give a port: `[network-traffic:dst_ref.type = 'ipv4-addr' AND
/// network-traffic:dst_ref.value = 'x' AND network-traffic:dst_port = '443']` (MISP `ip-dst`,
/// `ip-dst|port`, `hostname|port`). The port is dropped, as the CSV and MISP parsers drop it.
fn ref_type_and(items: &[Node]) -> Option<PatternIoc> {
    let mut value: Option<PatternIoc> = None;
    for it in items {
        let Node::Cmp {
            path,
            op,
            negated,
            value: v,
        } = it
        else {
            return None;
        };
        let p = path.to_ascii_lowercase();
        let ignorable = (p.ends_with("_ref.type") && op == "=" && !negated)
            || p == "network-traffic:dst_port"
            || p == "network-traffic:src_port";
        if ignorable {
            continue;
        }
        if value.is_none() {
            if let Ok(ioc) = leaf(path, op, *negated, v) {
                value = Some(ioc);
                continue;
            }
        }
        return None;
    }
    value
}

/// Parses a STIX 2.1 pattern and returns the comparisons flowtrail can match (see the module
/// documentation), or why it cannot use the pattern at all.
pub fn parse_pattern(pattern: &str) -> Result<PatternResult, String> {
    if pattern.len() > MAX_PATTERN {
        return Err(format!("pattern longer than {MAX_PATTERN} bytes"));
    }
    let toks = tokenize(pattern).map_err(|e| format!("bad pattern: {e}"))?;
    let mut p = Parser {
        toks,
        i: 0,
        depth: 0,
    };
    let node = p.obs_or().map_err(|e| format!("bad pattern: {e}"))?;
    if let Some(t) = p.peek() {
        return Err(format!("bad pattern: unexpected {} after the end", show(t)));
    }
    let mut out = PatternResult::default();
    extract(&node, &mut out)?;
    Ok(out)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn ok(p: &str) -> Vec<(IndicatorKind, String)> {
        parse_pattern(p)
            .unwrap_or_else(|e| panic!("{p}: {e}"))
            .iocs
            .into_iter()
            .map(|i| (i.kind, i.value))
            .collect()
    }

    fn err(p: &str) -> String {
        parse_pattern(p).expect_err(p)
    }

    #[test]
    fn supported() {
        use IndicatorKind::*;
        assert_eq!(
            ok("[ipv4-addr:value = '10.0.0.0']"),
            [(Ip, "10.0.0.0".into())]
        );
        assert_eq!(ok("[ipv4-addr:value='1.2.3.4']"), [(Ip, "1.2.3.4".into())]);
        assert_eq!(
            ok("[ url:value = 'http://x/y' ]"),
            [(Url, "http://x/y".into())]
        );
        assert_eq!(
            ok("[domain-name:value = 'a.com' OR ipv4-addr:value = '89.160.20.129/24']"),
            [(Domain, "a.com".into()), (Ip, "89.160.20.129/24".into())]
        );
        assert_eq!(
            ok("[url:value = 'http://a/b\\'c'] OR ([ipv6-addr:value = '::1'])"),
            [(Url, "http://a/b'c".into()), (Ip, "::1".into())]
        );
        assert_eq!(
            ok("[network-traffic:dst_ref.type = 'ipv4-addr' AND network-traffic:dst_ref.value = '5.6.7.8']"),
            [(Ip, "5.6.7.8".into())]
        );
        assert_eq!(
            ok("[network-traffic:dst_ref.type = 'ipv4-addr' AND network-traffic:dst_ref.value = '5.6.7.8' AND network-traffic:dst_port = '5678']"),
            [(Ip, "5.6.7.8".into())]
        );
        assert_eq!(
            ok("[domain-name:value = 'circl.lu' AND network-traffic:dst_port = '8443']"),
            [(Domain, "circl.lu".into())]
        );
        assert!(
            err("[ipv4-addr:value = '1.2.3.4' AND domain-name:value = 'x.org']")
                .starts_with("AND-joined")
        );
        assert_eq!(
            ok("[network-traffic:extensions.'http-request-ext'.request_header.'User-Agent' = 'Evil/1']"),
            [(UserAgent, "Evil/1".into())]
        );
        let r =
            parse_pattern("[file:hashes.'SHA-256' = 'ab' OR domain-name:value = 'x.org']").unwrap();
        assert_eq!(r.iocs.len(), 1);
        assert_eq!(
            r.dropped,
            ["object path file:hashes.'SHA-256' is not supported"]
        );
    }

    #[test]
    fn unsupported() {
        assert!(err("[domain-name:value = 'circl.lu' AND domain-name:resolves_to_refs[*].value = '149.13.33.14']").starts_with("AND-joined comparisons (domain-name:value, domain-name:resolves_to_refs[*].value)"));
        assert!(
            err("[ipv4-addr:value = '1.2.3.4'] AND [url:value = 'http://x/']")
                .contains("observation expressions joined by AND")
        );
        assert!(
            err("[ipv4-addr:value = '1.2.3.4'] FOLLOWEDBY [url:value = 'http://x/']")
                .contains("FOLLOWEDBY")
        );
        assert!(err("[ipv4-addr:value = '1.2.3.4'] WITHIN 5 SECONDS").contains("WITHIN"));
        assert!(err("[ipv4-addr:value = '1.2.3.4'] START t'2016-06-01T01:30:00Z' STOP t'2016-06-01T02:20:00Z'").contains("START/STOP"));
        assert!(err("[url:value MATCHES '^http']").contains("operator MATCHES"));
        assert!(err("[ipv4-addr:value NOT = '1.2.3.4']").contains("NOT"));
        assert!(err("[ipv4-addr:value IN ('1.2.3.4', '5.6.7.8')]").contains("operator IN"));
        assert!(err("[file:size = 1280]").contains("file:size"));
        assert!(err("file:size = 1280").starts_with("bad pattern"));
        assert!(err("[ipv4-addr:value = '1.2.3.4'").starts_with("bad pattern"));
        assert!(err("[ipv4-addr:value = '1.2.3.4").starts_with("bad pattern"));
        assert!(err("").starts_with("bad pattern"));
        assert!(err("[x_whatever:detected == t'2018-03-22T12:11:14.1Z']").contains("x_whatever"));
        let deep = format!(
            "{}[ipv4-addr:value = '1.2.3.4']{}",
            "(".repeat(500),
            ")".repeat(500)
        );
        assert!(err(&deep).contains("nested too deeply"));
        assert!(err("[a:b = 'x'] ]").contains("after the end"));
        assert!(err("[ä:b = 'x']").starts_with("bad pattern"));
    }
}
