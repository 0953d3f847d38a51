//! The terse filter language of `flowtrail query`, `top` and friends, compiled to SQL.
//!
//! ```text
//! 203.0.113.7                      either end is this address
//! 10.0.0.0/8                       either end is in this network
//! src 10.1.2.3   dst 10.0.0.0/8    one end
//! port 443   sport 1024-65535   dport 22
//! proto tcp | udp | icmp | 47
//! denied   allowed   inbound   outbound   internal   external
//! bytes > 1MB   packets >= 100     (both directions summed; bytes_out, bytes_in... for one)
//! FIELD = VALUE   FIELD != VALUE   FIELD ~ TEXT (contains)   FIELD > N ...
//! a and b   a or b   not a   (a or b) and c       (juxtaposition means and)
//! ```
//! Values with spaces are quoted: `rule = "Allow web"`. Every identifier is checked against
//! the schema catalogue and every value is quoted as a SQL literal, so a filter cannot inject SQL.

use std::fmt;
use std::net::IpAddr;

use flowtrail_schema::{Column, ColumnType, FLOW_COLUMNS, HTTP_COLUMNS};

/// The table a filter applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Table {
    #[default]
    Flows,
    Http,
}

impl Table {
    /// Returns the table's SQL name.
    pub fn name(self) -> &'static str {
        match self {
            Table::Flows => "flows",
            Table::Http => "http",
        }
    }

    /// Returns the table's columns.
    pub fn columns(self) -> &'static [Column] {
        match self {
            Table::Flows => FLOW_COLUMNS,
            Table::Http => HTTP_COLUMNS,
        }
    }

    /// Returns the two address columns "either end" refers to.
    fn ends(self) -> [&'static str; 2] {
        match self {
            Table::Flows => ["src_ip", "dst_ip"],
            Table::Http => ["client_ip", "server_ip"],
        }
    }
}

/// A filter that could not be parsed: the position (in characters) and the reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FilterError {
    pub pos: usize,
    pub message: String,
}

impl FilterError {
    /// Creates an error at `pos`.
    pub fn new(pos: usize, message: String) -> Self {
        FilterError { pos, message }
    }
}

impl fmt::Display for FilterError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "filter error at character {}: {}",
            self.pos + 1,
            self.message
        )
    }
}

impl std::error::Error for FilterError {}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Word(String),
    Quoted(String),
    Op(&'static str),
    LParen,
    RParen,
}

fn lex(s: &str) -> Result<Vec<(usize, Tok)>, FilterError> {
    let cs: Vec<char> = s.chars().collect();
    let mut out = vec![];
    let mut i = 0;
    while i < cs.len() {
        let c = cs[i];
        if c.is_whitespace() || c == ',' {
            i += 1;
            continue;
        }
        let start = i;
        match c {
            '(' => {
                out.push((i, Tok::LParen));
                i += 1;
            }
            ')' => {
                out.push((i, Tok::RParen));
                i += 1;
            }
            '"' | '\'' => {
                let q = c;
                i += 1;
                let mut v = String::new();
                while i < cs.len() && cs[i] != q {
                    v.push(cs[i]);
                    i += 1;
                }
                if i >= cs.len() {
                    return Err(FilterError::new(start, "unterminated quoted value".into()));
                }
                i += 1;
                out.push((start, Tok::Quoted(v)));
            }
            '=' | '!' | '<' | '>' | '~' => {
                let two: String = cs[i..(i + 2).min(cs.len())].iter().collect();
                let op = match two.as_str() {
                    "==" => "=",
                    "!=" => "!=",
                    ">=" => ">=",
                    "<=" => "<=",
                    "!~" => "!~",
                    _ => "",
                };
                if !op.is_empty() {
                    out.push((i, Tok::Op(op)));
                    i += 2;
                } else {
                    let op = match c {
                        '=' => "=",
                        '<' => "<",
                        '>' => ">",
                        '~' => "~",
                        _ => {
                            return Err(FilterError::new(
                                i,
                                "`!` must be followed by `=` or `~`".into(),
                            ))
                        }
                    };
                    out.push((i, Tok::Op(op)));
                    i += 1;
                }
            }
            _ => {
                let mut v = String::new();
                while i < cs.len() && !cs[i].is_whitespace() && !"()=!<>~\"',".contains(cs[i]) {
                    v.push(cs[i]);
                    i += 1;
                }
                out.push((start, Tok::Word(v)));
            }
        }
    }
    Ok(out)
}

struct Parser {
    toks: Vec<(usize, Tok)>,
    i: usize,
    end: usize,
    table: Table,
}

fn lit(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// Parses `1500`, `10k`, `1.5MB`, `2GiB` into a count.
fn parse_amount(s: &str) -> Option<u64> {
    let lower = s.to_ascii_lowercase();
    let digits_end = lower
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(lower.len());
    let (num, unit) = lower.split_at(digits_end);
    let n: f64 = num.parse().ok()?;
    let mult: f64 = match unit {
        "" | "b" => 1.0,
        "k" | "kb" => 1e3,
        "m" | "mb" => 1e6,
        "g" | "gb" => 1e9,
        "t" | "tb" => 1e12,
        "kib" => 1024.0,
        "mib" => 1024.0 * 1024.0,
        "gib" => 1024.0 * 1024.0 * 1024.0,
        _ => return None,
    };
    Some((n * mult) as u64)
}

fn parse_net(s: &str) -> Option<(IpAddr, u8)> {
    let (a, p) = s.split_once('/')?;
    let ip: IpAddr = a.parse().ok()?;
    let p: u8 = p.parse().ok()?;
    let max = if ip.is_ipv4() { 32 } else { 128 };
    (p <= max).then_some((ip, p))
}

fn proto_number(s: &str) -> Option<u8> {
    Some(match s.to_ascii_lowercase().as_str() {
        "icmp" => 1,
        "tcp" => 6,
        "udp" => 17,
        "gre" => 47,
        "esp" => 50,
        "icmpv6" | "ipv6-icmp" => 58,
        "sctp" => 132,
        other => other.parse().ok()?,
    })
}

impl Parser {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.i).map(|(_, t)| t)
    }

    fn pos(&self) -> usize {
        self.toks.get(self.i).map(|(p, _)| *p).unwrap_or(self.end)
    }

    fn next(&mut self) -> Option<Tok> {
        let t = self.toks.get(self.i).map(|(_, t)| t.clone());
        self.i += 1;
        t
    }

    fn is_word(&self, w: &str) -> bool {
        matches!(self.peek(), Some(Tok::Word(x)) if x.eq_ignore_ascii_case(w))
    }

    fn value(&mut self, what: &str) -> Result<String, FilterError> {
        let pos = self.pos();
        match self.next() {
            Some(Tok::Word(w)) | Some(Tok::Quoted(w)) => Ok(w),
            _ => Err(FilterError::new(pos, format!("expected {what}"))),
        }
    }

    fn or(&mut self) -> Result<String, FilterError> {
        let mut parts = vec![self.and()?];
        while self.is_word("or") || matches!(self.peek(), Some(Tok::Word(w)) if w == "||") {
            self.i += 1;
            parts.push(self.and()?);
        }
        Ok(if parts.len() == 1 {
            parts.remove(0)
        } else {
            format!("({})", parts.join(" OR "))
        })
    }

    fn and(&mut self) -> Result<String, FilterError> {
        let mut parts = vec![self.unary()?];
        loop {
            if self.is_word("and") || matches!(self.peek(), Some(Tok::Word(w)) if w == "&&") {
                self.i += 1;
                parts.push(self.unary()?);
            } else if self.peek().is_some()
                && !self.is_word("or")
                && self.peek() != Some(&Tok::RParen)
            {
                parts.push(self.unary()?);
            } else {
                break;
            }
        }
        Ok(if parts.len() == 1 {
            parts.remove(0)
        } else {
            format!("({})", parts.join(" AND "))
        })
    }

    fn unary(&mut self) -> Result<String, FilterError> {
        if self.is_word("not") || matches!(self.peek(), Some(Tok::Word(w)) if w == "!") {
            self.i += 1;
            return Ok(format!("(NOT {})", self.unary()?));
        }
        if self.peek() == Some(&Tok::LParen) {
            let pos = self.pos();
            self.i += 1;
            let e = self.or()?;
            if self.next() != Some(Tok::RParen) {
                return Err(FilterError::new(pos, "unbalanced `(`".into()));
            }
            return Ok(e);
        }
        self.term()
    }

    fn addr_cond(&self, cols: &[&str], v: &str, pos: usize) -> Result<String, FilterError> {
        let conds: Vec<String> = if let Some((ip, p)) = parse_net(v) {
            cols.iter()
                .map(|c| format!("in_cidr({c}, {})", lit(&format!("{ip}/{p}"))))
                .collect()
        } else if let Ok(ip) = v.parse::<IpAddr>() {
            let canon = match ip {
                IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(ip),
                v4 => v4,
            };
            cols.iter()
                .map(|c| format!("{c} = {}", lit(&canon.to_string())))
                .collect()
        } else {
            return Err(FilterError::new(
                pos,
                format!("`{v}` is not an IP address or CIDR network"),
            ));
        };
        Ok(if conds.len() == 1 {
            conds[0].clone()
        } else {
            format!("({})", conds.join(" OR "))
        })
    }

    fn port_cond(&self, cols: &[&str], v: &str, pos: usize) -> Result<String, FilterError> {
        let range = match v.split_once('-') {
            Some((a, b)) => (a.parse::<u16>().ok(), b.parse::<u16>().ok()),
            None => (v.parse::<u16>().ok(), v.parse::<u16>().ok()),
        };
        let (Some(a), Some(b)) = range else {
            return Err(FilterError::new(
                pos,
                format!("`{v}` is not a port or port range (0-65535)"),
            ));
        };
        let conds: Vec<String> = cols
            .iter()
            .map(|c| {
                if a == b {
                    format!("{c} = {a}")
                } else {
                    format!("{c} BETWEEN {a} AND {b}")
                }
            })
            .collect();
        Ok(if conds.len() == 1 {
            conds[0].clone()
        } else {
            format!("({})", conds.join(" OR "))
        })
    }

    fn term(&mut self) -> Result<String, FilterError> {
        let pos = self.pos();
        let word = match self.next() {
            Some(Tok::Word(w)) => w,
            Some(Tok::Quoted(w)) => w,
            Some(t) => return Err(FilterError::new(pos, format!("unexpected {t:?}"))),
            None => return Err(FilterError::new(pos, "filter ends too early".into())),
        };
        let lower = word.to_ascii_lowercase();
        // `FIELD contains TEXT` is `FIELD ~ TEXT`.
        if matches!(self.peek(), Some(Tok::Word(w)) if w.eq_ignore_ascii_case("contains")) {
            self.i += 1;
            let vpos = self.pos();
            let v = self.value("a value after `contains`")?;
            return self.compare(&lower, "~", &v, pos, vpos);
        }
        // A comparison `FIELD OP VALUE` on a derived or catalogue column.
        if let Some(Tok::Op(op)) = self.peek().cloned() {
            self.i += 1;
            let vpos = self.pos();
            let v = self.value("a value after the operator")?;
            return self.compare(&lower, op, &v, pos, vpos);
        }
        if self.table == Table::Http {
            if let Some(e) = self.http_term(&lower)? {
                return Ok(e);
            }
        }
        match lower.as_str() {
            "ip" | "host" | "addr" => {
                let vp = self.pos();
                let v = self.value("an IP address or CIDR")?;
                self.addr_cond(&self.table.ends(), &v, vp)
            }
            "src" | "dst" => {
                if self.is_word("ip") || self.is_word("host") {
                    self.i += 1;
                }
                if self.is_word("port") {
                    self.i += 1;
                    let vp = self.pos();
                    let v = self.value("a port")?;
                    return self.port_cond(&[&format!("{lower}_port")], &v, vp);
                }
                let vp = self.pos();
                let v = self.value("an IP address or CIDR")?;
                self.addr_cond(&[&format!("{lower}_ip")], &v, vp)
            }
            "port" => {
                let vp = self.pos();
                let v = self.value("a port")?;
                self.port_cond(&["src_port", "dst_port"], &v, vp)
            }
            "sport" | "dport" => {
                let vp = self.pos();
                let v = self.value("a port")?;
                let col = if lower == "sport" {
                    "src_port"
                } else {
                    "dst_port"
                };
                self.port_cond(&[col], &v, vp)
            }
            "proto" | "protocol" => {
                let vp = self.pos();
                let v = self.value("a protocol")?;
                let n = proto_number(&v).ok_or_else(|| {
                    FilterError::new(vp, format!("unknown protocol `{v}` (tcp, udp, icmp, icmpv6, gre, esp, sctp or a number)"))
                })?;
                Ok(format!("protocol = {n}"))
            }
            "tcp" | "udp" | "icmp" | "icmpv6" => {
                Ok(format!("protocol = {}", proto_number(&lower).unwrap_or(0)))
            }
            "allowed" | "allow" | "accept" | "accepted" | "permit" => {
                Ok("action = 'allowed'".into())
            }
            "denied" | "deny" | "reject" | "rejected" | "drop" | "blocked" => {
                Ok("action = 'denied'".into())
            }
            "inbound" | "outbound" | "internal" | "external" => {
                Ok(format!("direction = '{lower}'"))
            }
            "action" | "direction" => {
                let v = self.value("a value")?;
                self.compare(&lower, "=", &v, pos, pos)
            }
            _ => {
                if parse_net(&word).is_some() || word.parse::<IpAddr>().is_ok() {
                    return self.addr_cond(&self.table.ends(), &word, pos);
                }
                // `field value` shorthand for equality on any text column (`account 1234`).
                if let Some(c) = self.table.columns().iter().find(|c| c.name == lower) {
                    let vp = self.pos();
                    let v = self.value(&format!("a value for `{}`", c.name))?;
                    return self.compare(&lower, "=", &v, pos, vp);
                }
                Err(FilterError::new(
                    pos,
                    format!("unknown term `{word}`: expected an IP, CIDR, `port N`, `proto P`, `denied`, `inbound`, `bytes > N` or `COLUMN = VALUE`"),
                ))
            }
        }
    }

    /// Terms of the `http` table: `host`, `domain`, `url`, `ua`, `status`, `method`, `client`, `server`.
    fn http_term(&mut self, lower: &str) -> Result<Option<String>, FilterError> {
        Ok(Some(match lower {
            "host" => {
                let v = self.value("a host name")?;
                format!("host = {}", lit(&v.to_ascii_lowercase()))
            }
            "domain" => {
                let v = self.value("a domain")?.to_ascii_lowercase();
                let v = v.trim_start_matches("*.").trim_end_matches('.').to_string();
                format!(
                    "(domain = {} OR host = {} OR host LIKE {})",
                    lit(&v),
                    lit(&v),
                    lit(&format!("%.{v}"))
                )
            }
            "url" | "ua" | "referrer" => {
                let v = self.value("a text")?;
                let col = match lower {
                    "url" => "url",
                    "ua" => "user_agent",
                    _ => "referrer",
                };
                format!("strpos(lower({col}), lower({})) > 0", lit(&v))
            }
            "status" => {
                let vp = self.pos();
                let v = self.value("a status code")?;
                let c = v.to_ascii_lowercase();
                if c.len() == 3 && c.ends_with("xx") && c.as_bytes()[0].is_ascii_digit() {
                    let d = (c.as_bytes()[0] - b'0') as u32 * 100;
                    format!("status BETWEEN {d} AND {}", d + 99)
                } else {
                    match c.parse::<u16>() {
                        Ok(n) => format!("status = {n}"),
                        Err(_) => {
                            return Err(FilterError::new(
                                vp,
                                format!("`{v}` is not a status code (404, 5xx)"),
                            ))
                        }
                    }
                }
            }
            "method" => {
                let v = self.value("a method")?;
                format!("method = {}", lit(&v.to_ascii_uppercase()))
            }
            "client" | "server" => {
                let vp = self.pos();
                let v = self.value("an IP address or CIDR")?;
                self.addr_cond(&[&format!("{lower}_ip")], &v, vp)?
            }
            "port" => {
                let vp = self.pos();
                let v = self.value("a port")?;
                self.port_cond(&["server_port"], &v, vp)?
            }
            "allowed" | "allow" => "action = 'allowed'".into(),
            "denied" | "blocked" | "deny" => "action = 'denied'".into(),
            _ => return Ok(None),
        }))
    }

    fn compare(
        &self,
        field: &str,
        op: &str,
        v: &str,
        pos: usize,
        vpos: usize,
    ) -> Result<String, FilterError> {
        let field = match (self.table, field) {
            (Table::Http, "ua") => "user_agent",
            (_, f) => f,
        };
        if self.table == Table::Http && !matches!(field, "ip" | "port") {
            if field == "date" || field == "hour" {
                return Ok(format!("{field} {op} {}", lit(v)));
            }
            let Some(c) = self.table.columns().iter().find(|c| c.name == field) else {
                return Err(FilterError::new(
                    pos,
                    format!("unknown column `{field}` of http (see `flowtrail schema`)"),
                ));
            };
            return self.compare_column(c.name, c.ty, op, v, pos, vpos);
        }
        let (expr, ty) = match field {
            "bytes" => (
                "(coalesce(bytes_out, 0) + coalesce(bytes_in, 0))".to_string(),
                ColumnType::Int64,
            ),
            "packets" => (
                "(coalesce(packets_out, 0) + coalesce(packets_in, 0))".to_string(),
                ColumnType::Int64,
            ),
            "ip" | "host" => {
                return match op {
                    "=" => self.addr_cond(&self.table.ends(), v, vpos),
                    "!=" => Ok(format!(
                        "(NOT {})",
                        self.addr_cond(&self.table.ends(), v, vpos)?
                    )),
                    _ => Err(FilterError::new(
                        pos,
                        format!("`ip` takes = or !=, not {op}"),
                    )),
                }
            }
            "port" => {
                return match op {
                    "=" => self.port_cond(&["src_port", "dst_port"], v, vpos),
                    "!=" => Ok(format!(
                        "(NOT {})",
                        self.port_cond(&["src_port", "dst_port"], v, vpos)?
                    )),
                    _ => Err(FilterError::new(
                        pos,
                        format!("`port` takes = or !=, not {op}"),
                    )),
                }
            }
            "sport" => ("src_port".to_string(), ColumnType::Int32),
            "dport" => ("dst_port".to_string(), ColumnType::Int32),
            "proto" => ("protocol".to_string(), ColumnType::Int32),
            name => match FLOW_COLUMNS.iter().find(|c| c.name == name) {
                Some(c) => (c.name.to_string(), c.ty),
                None if name == "date" || name == "hour" => (name.to_string(), ColumnType::Text),
                None => {
                    return Err(FilterError::new(
                        pos,
                        format!("unknown column `{name}` (see `flowtrail schema`)"),
                    ))
                }
            },
        };
        self.compare_column(&expr, ty, op, v, pos, vpos)
    }

    fn compare_column(
        &self,
        expr: &str,
        ty: ColumnType,
        op: &str,
        v: &str,
        pos: usize,
        vpos: usize,
    ) -> Result<String, FilterError> {
        let field = expr;
        if matches!(ty, ColumnType::Ip) && matches!(op, "=" | "!=") && parse_net(v).is_some() {
            let c = self.addr_cond(&[expr], v, vpos)?;
            return Ok(if op == "=" { c } else { format!("(NOT {c})") });
        }
        let value = match ty {
            ColumnType::Int32 | ColumnType::Int64 => {
                if op == "~" || op == "!~" {
                    return Err(FilterError::new(
                        pos,
                        format!("`~` needs a text column; `{field}` is numeric"),
                    ));
                }
                let n = if field == "proto" {
                    proto_number(v).map(u64::from)
                } else {
                    parse_amount(v)
                };
                n.ok_or_else(|| {
                    FilterError::new(
                        vpos,
                        format!("`{v}` is not a number (units k, M, G, KiB, MiB, GiB allowed)"),
                    )
                })?
                .to_string()
            }
            ColumnType::Timestamp => {
                let now = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map(|d| d.as_micros() as i64)
                    .unwrap_or(0);
                let t = crate::parse_time(v, now).map_err(|e| FilterError::new(vpos, e))?;
                format!("TIMESTAMP '{}'", flowtrail_schema::time::format_rfc3339(t))
            }
            ColumnType::Ip | ColumnType::Text => lit(v),
        };
        Ok(match op {
            "~" => format!("strpos(lower({expr}), lower({value})) > 0"),
            "!~" => format!("coalesce(strpos(lower({expr}), lower({value})) = 0, true)"),
            "!=" => format!("({expr} IS DISTINCT FROM {value})"),
            op => format!("{expr} {op} {value}"),
        })
    }
}

/// Compiles a filter to a SQL boolean expression over `flows`; `None` for an empty filter.
pub fn parse_filter(s: &str) -> Result<Option<String>, FilterError> {
    parse_filter_for(s, Table::Flows)
}

/// Compiles a filter to a SQL boolean expression over `table`; `None` for an empty filter.
pub fn parse_filter_for(s: &str, table: Table) -> Result<Option<String>, FilterError> {
    let toks = lex(s)?;
    if toks.is_empty() {
        return Ok(None);
    }
    let mut p = Parser {
        toks,
        i: 0,
        end: s.chars().count(),
        table,
    };
    let e = p.or()?;
    if p.i < p.toks.len() {
        return Err(FilterError::new(
            p.pos(),
            "unexpected text after the filter (unbalanced `)`?)".into(),
        ));
    }
    Ok(Some(e))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sql(s: &str) -> String {
        parse_filter(s).expect("parses").expect("non-empty")
    }

    #[test]
    fn everyday_questions() {
        assert_eq!(
            sql("203.0.113.7"),
            "(src_ip = '203.0.113.7' OR dst_ip = '203.0.113.7')"
        );
        assert_eq!(sql("dst 10.0.0.0/8"), "in_cidr(dst_ip, '10.0.0.0/8')");
        assert_eq!(sql("port 443"), "(src_port = 443 OR dst_port = 443)");
        assert_eq!(sql("dport 1000-2000"), "dst_port BETWEEN 1000 AND 2000");
        assert_eq!(sql("proto udp"), "protocol = 17");
        assert_eq!(
            sql("denied and dport 22"),
            "(action = 'denied' AND dst_port = 22)"
        );
        assert_eq!(
            sql("bytes > 1MB"),
            "(coalesce(bytes_out, 0) + coalesce(bytes_in, 0)) > 1000000"
        );
        assert_eq!(
            sql("outbound tcp"),
            "(direction = 'outbound' AND protocol = 6)"
        );
        assert_eq!(
            sql("not (port 80 or port 443)"),
            "(NOT ((src_port = 80 OR dst_port = 80) OR (src_port = 443 OR dst_port = 443)))"
        );
        assert_eq!(sql("account = \"o'brien\""), "account = 'o''brien'");
        assert_eq!(
            sql("rule ~ allow"),
            "strpos(lower(rule), lower('allow')) > 0"
        );
        assert_eq!(sql("src_ip = 10.0.0.0/8"), "in_cidr(src_ip, '10.0.0.0/8')");
        assert_eq!(
            sql("::ffff:1.2.3.4"),
            "(src_ip = '1.2.3.4' OR dst_ip = '1.2.3.4')"
        );
    }

    #[test]
    fn errors_name_the_position() {
        let e = parse_filter("port 99999").expect_err("bad port");
        assert_eq!(e.pos, 5);
        assert!(e.message.contains("99999"));
        assert!(parse_filter("bogus").is_err());
        assert!(parse_filter("nosuchcol = 3").is_err());
        assert!(parse_filter("(port 1").is_err());
        assert!(parse_filter("port 1)").is_err());
        assert!(parse_filter("bytes ~ 5").is_err());
        assert!(parse_filter("x = 'unterminated").is_err());
        // Injection attempts stay literals.
        assert_eq!(sql("rule = \"x' OR 1=1 --\""), "rule = 'x'' OR 1=1 --'");
    }

    #[test]
    fn http_terms() {
        let h = |s: &str| {
            parse_filter_for(s, Table::Http)
                .expect("parses")
                .expect("non-empty")
        };
        assert_eq!(
            h("domain evil.com"),
            "(domain = 'evil.com' OR host = 'evil.com' OR host LIKE '%.evil.com')"
        );
        assert_eq!(
            h("status 5xx and method post"),
            "(status BETWEEN 500 AND 599 AND method = 'POST')"
        );
        assert_eq!(
            h("url contains login"),
            "strpos(lower(url), lower('login')) > 0"
        );
        assert_eq!(
            h("ua ~ curl"),
            "strpos(lower(user_agent), lower('curl')) > 0"
        );
        assert_eq!(
            h("10.0.0.0/8"),
            "(in_cidr(client_ip, '10.0.0.0/8') OR in_cidr(server_ip, '10.0.0.0/8'))"
        );
        assert_eq!(h("user = alice"), "user = 'alice'");
        assert_eq!(h("host WWW.Example.com"), "host = 'www.example.com'");
        assert!(parse_filter_for("dst_port = 5", Table::Http).is_err());
    }

    #[test]
    fn empty_filter_is_none() {
        assert_eq!(parse_filter("  ").expect("ok"), None);
    }
}
