//! Pieces shared by the security-product HTTP decoders (`zscaler`, `panos_url`, `zeek_http`,
//! `sentinelone`): the reused `extra` JSON object writer, a streaming reader for one-object-per-
//! line JSON records that routes each member to a column slot, to `extra`, or nowhere (no
//! `serde_json::Value` tree, strings borrowed from the input), and small text helpers.

use std::borrow::Cow;
use std::fmt::{self, Write as _};

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;

use crate::envelope::parse_u64;
use crate::util::{write_f64, Key, Transcode};

/// Returns `s` clipped (64 bytes) for a rejection reason.
pub(super) use crate::util::clip as clipped;

// ---------------------------------------------------------------------------------------------
// Text helpers

/// Returns the request method upper-cased, borrowing a static string for the usual methods so
/// that PAN-OS's lower-case `get` costs no allocation.
pub(super) fn upper_method(m: &str) -> Cow<'_, str> {
    if !m.bytes().any(|b| b.is_ascii_lowercase()) {
        return Cow::Borrowed(m);
    }
    const KNOWN: [&str; 9] = [
        "GET", "POST", "PUT", "HEAD", "DELETE", "OPTIONS", "CONNECT", "PATCH", "TRACE",
    ];
    match KNOWN.iter().find(|k| k.eq_ignore_ascii_case(m)) {
        Some(k) => Cow::Borrowed(k),
        None => Cow::Owned(m.to_ascii_uppercase()),
    }
}

/// Parses a non-negative decimal number of seconds (`1320279554.496300`, `7`) into µs; digits
/// past the sixth decimal are dropped.
pub(super) fn secs_to_micros(s: &str) -> Option<i64> {
    crate::util::secs_micros(s, 1_000_000_000_000, usize::MAX)
}

pub(super) use crate::util::f64_secs_micros as f64_secs_to_micros;

/// Returns whether an ISO 8601 date-time string states its offset (`Z`, `+hh:mm`, `-hhmm`).
pub(super) fn has_offset(s: &str) -> bool {
    let s = s.trim();
    let Some(tail) = s.get(19..) else {
        return false;
    };
    let tail = tail.trim_start_matches(|c: char| c == '.' || c == ',' || c.is_ascii_digit());
    !tail.is_empty()
}

// ---------------------------------------------------------------------------------------------
// The extra object

pub(super) use crate::util::{push_json_str, ObjWriter};

// ---------------------------------------------------------------------------------------------
// JSON values

/// A JSON value as a record member, strings borrowed from the input unless escaped. Arrays keep
/// their first string element; objects are only named.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum JVal<'a> {
    Str(Cow<'a, str>),
    U64(u64),
    I64(i64),
    F64(f64),
    Bool(bool),
    Null,
    List(Option<Cow<'a, str>>),
    Object,
}

impl<'a> JVal<'a> {
    /// The value as text: strings as they are, numbers and booleans written out; `None` for
    /// null, arrays and objects.
    pub(super) fn text(&self) -> Option<Cow<'a, str>> {
        match self {
            JVal::Str(s) => Some(s.clone()),
            JVal::U64(v) => Some(Cow::Owned(v.to_string())),
            JVal::I64(v) => Some(Cow::Owned(v.to_string())),
            JVal::F64(v) => Some(Cow::Owned(v.to_string())),
            JVal::Bool(b) => Some(Cow::Borrowed(if *b { "true" } else { "false" })),
            JVal::Null | JVal::List(_) | JVal::Object => None,
        }
    }

    /// A non-negative integer written as a number or as a decimal string.
    pub(super) fn as_u64(&self) -> Option<u64> {
        match self {
            JVal::U64(v) => Some(*v),
            JVal::Str(s) => parse_u64(s.trim().as_bytes()),
            JVal::F64(f) if f.fract() == 0.0 && *f >= 0.0 && *f < 1.8e19 => Some(*f as u64),
            _ => None,
        }
    }

    /// Renders the value for a rejection reason.
    pub(super) fn describe(&self) -> String {
        match self {
            JVal::Str(s) => format!("{:?}", clipped(s)),
            JVal::U64(v) => v.to_string(),
            JVal::I64(v) => v.to_string(),
            JVal::F64(v) => v.to_string(),
            JVal::Bool(v) => v.to_string(),
            JVal::Null => "null".to_string(),
            JVal::List(_) => "a JSON array".to_string(),
            JVal::Object => "a JSON object".to_string(),
        }
    }
}

struct JValVisitor;

impl<'de> Visitor<'de> for JValVisitor {
    type Value = JVal<'de>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<JVal<'de>, E> {
        Ok(JVal::Str(Cow::Borrowed(v)))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<JVal<'de>, E> {
        Ok(JVal::Str(Cow::Owned(v.to_owned())))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<JVal<'de>, E> {
        Ok(JVal::Str(Cow::Owned(v)))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<JVal<'de>, E> {
        Ok(JVal::U64(v))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<JVal<'de>, E> {
        Ok(JVal::I64(v))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<JVal<'de>, E> {
        Ok(JVal::F64(v))
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<JVal<'de>, E> {
        Ok(JVal::Bool(v))
    }
    fn visit_unit<E: de::Error>(self) -> Result<JVal<'de>, E> {
        Ok(JVal::Null)
    }
    fn visit_none<E: de::Error>(self) -> Result<JVal<'de>, E> {
        Ok(JVal::Null)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<JVal<'de>, A::Error> {
        let mut first = None;
        if let Some(v) = seq.next_element::<JVal<'de>>()? {
            if let JVal::Str(s) = v {
                first = Some(s);
            }
            while seq.next_element::<de::IgnoredAny>()?.is_some() {}
        }
        Ok(JVal::List(first))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<JVal<'de>, A::Error> {
        while map
            .next_entry::<de::IgnoredAny, de::IgnoredAny>()?
            .is_some()
        {}
        Ok(JVal::Object)
    }
}

impl<'de> Deserialize<'de> for JVal<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(JValVisitor)
    }
}

/// Reads a value as a [`JVal`] and copies it, as JSON, into the string too.
struct Tee<'o>(&'o mut String);

impl<'de> DeserializeSeed<'de> for Tee<'_> {
    type Value = JVal<'de>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<JVal<'de>, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Tee<'_> {
    type Value = JVal<'de>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<JVal<'de>, E> {
        push_json_str(self.0, v);
        Ok(JVal::Str(Cow::Borrowed(v)))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<JVal<'de>, E> {
        push_json_str(self.0, v);
        Ok(JVal::Str(Cow::Owned(v.to_owned())))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<JVal<'de>, E> {
        Transcode(self.0).visit_u64::<E>(v)?;
        Ok(JVal::U64(v))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<JVal<'de>, E> {
        Transcode(self.0).visit_i64::<E>(v)?;
        Ok(JVal::I64(v))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<JVal<'de>, E> {
        write_f64(self.0, v);
        Ok(JVal::F64(v))
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<JVal<'de>, E> {
        Transcode(self.0).visit_bool::<E>(v)?;
        Ok(JVal::Bool(v))
    }
    fn visit_unit<E: de::Error>(self) -> Result<JVal<'de>, E> {
        self.0.push_str("null");
        Ok(JVal::Null)
    }
    fn visit_none<E: de::Error>(self) -> Result<JVal<'de>, E> {
        self.0.push_str("null");
        Ok(JVal::Null)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<JVal<'de>, A::Error> {
        let out = self.0;
        out.push('[');
        let mut first = None;
        let mut n = 0;
        loop {
            let mark = out.len();
            if n > 0 {
                out.push(',');
            }
            match seq.next_element_seed(Tee(&mut *out))? {
                None => {
                    out.truncate(mark);
                    break;
                }
                Some(v) => {
                    if n == 0 {
                        if let JVal::Str(s) = v {
                            first = Some(s);
                        }
                    }
                }
            }
            n += 1;
        }
        out.push(']');
        Ok(JVal::List(first))
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<JVal<'de>, A::Error> {
        Transcode(self.0).visit_map(map)?;
        Ok(JVal::Object)
    }
}

// ---------------------------------------------------------------------------------------------
// Routing the members of a record

/// Where one member of a JSON record goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Route {
    /// To the decoder's slot `slot`; when `keep` names a key, also into `extra` under it.
    Field {
        slot: u8,
        keep: Option<&'static str>,
    },
    /// Into `extra`, under its own name (`None`) or under another. `null` and `""` are left out.
    Keep(Option<&'static str>),
    /// Nowhere (template constants).
    Drop,
    /// An object whose members are routed as if they were top-level members named
    /// `<prefix><member>` (Zeek's `"id": {...}`, Zscaler's `"event": {...}` envelope). Any other
    /// value is kept in `extra` under its own name.
    Nest(&'static str),
}

/// A decoder's view of one JSON record.
pub(super) trait JsonRecord<'de> {
    /// Routes the member `key`.
    fn route(&self, key: &str) -> Route;
    /// Takes the value of a [`Route::Field`] member.
    fn take(&mut self, slot: u8, v: JVal<'de>);
    /// Whether a member about to be kept in `extra`, written as `json`, is left out instead
    /// (placeholders for "absent"; by default `null` and `""`).
    fn discard(&self, json: &str) -> bool {
        json == "null" || json == "\"\""
    }
}

/// Reads the members of one object into a [`JsonRecord`] and `extra`.
struct Members<'r, 'w, 'b, R> {
    rec: &'r mut R,
    extra: &'w mut ObjWriter<'b>,
    prefix: &'r str,
    /// The member name, for a nested value that turns out not to be an object.
    name: &'r str,
    /// Whether an object was seen (the top-level value must be one).
    seen_object: &'r mut bool,
}

impl<'de, R: JsonRecord<'de>> DeserializeSeed<'de> for Members<'_, '_, '_, R> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de, R: JsonRecord<'de>> Members<'_, '_, '_, R> {
    /// Keeps a non-object value found where an object was expected.
    fn keep<F>(self, write: F)
    where
        F: FnOnce(&mut String),
    {
        if !self.name.is_empty() {
            write(self.extra.key(self.name));
        }
    }
}

impl<'de, R: JsonRecord<'de>> Visitor<'de> for Members<'_, '_, '_, R> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON object")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        *self.seen_object = true;
        let mut joined = String::new();
        while let Some(Key(key)) = map.next_key::<Key<'de>>()? {
            let full: &str = if self.prefix.is_empty() {
                &key
            } else {
                joined.clear();
                joined.push_str(self.prefix);
                joined.push_str(&key);
                &joined
            };
            match self.rec.route(full) {
                Route::Field { slot, keep: None } => {
                    let v = map.next_value::<JVal<'de>>()?;
                    self.rec.take(slot, v);
                }
                Route::Field {
                    slot,
                    keep: Some(name),
                } => {
                    let mark = self.extra.mark();
                    let start = self.extra.key(name).len();
                    let v = map.next_value_seed(Tee(self.extra.buf()))?;
                    if self
                        .rec
                        .discard(self.extra.buf().get(start..).unwrap_or(""))
                    {
                        self.extra.undo(mark);
                    }
                    self.rec.take(slot, v);
                }
                Route::Keep(name) => {
                    let mark = self.extra.mark();
                    let start = self.extra.key(name.unwrap_or(full)).len();
                    map.next_value_seed(Transcode(self.extra.buf()))?;
                    if self
                        .rec
                        .discard(self.extra.buf().get(start..).unwrap_or(""))
                    {
                        self.extra.undo(mark);
                    }
                }
                Route::Drop => {
                    map.next_value::<de::IgnoredAny>()?;
                }
                Route::Nest(prefix) => {
                    let name = full.to_string();
                    let mut seen = false;
                    map.next_value_seed(Members {
                        rec: &mut *self.rec,
                        extra: &mut *self.extra,
                        prefix,
                        name: &name,
                        seen_object: &mut seen,
                    })?;
                }
            }
        }
        Ok(())
    }
    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<(), E> {
        self.keep(|o| push_json_str(o, v));
        Ok(())
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<(), E> {
        self.keep(|o| push_json_str(o, v));
        Ok(())
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<(), E> {
        self.keep(|o| {
            let _ = write!(o, "{v}");
        });
        Ok(())
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<(), E> {
        self.keep(|o| {
            let _ = write!(o, "{v}");
        });
        Ok(())
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<(), E> {
        self.keep(|o| write_f64(o, v));
        Ok(())
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<(), E> {
        self.keep(|o| o.push_str(if v { "true" } else { "false" }));
        Ok(())
    }
    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        Ok(())
    }
    fn visit_none<E: de::Error>(self) -> Result<(), E> {
        Ok(())
    }
    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<(), A::Error> {
        if self.name.is_empty() {
            // A top-level array: not a record; consume it.
            let mut seq = seq;
            while seq.next_element::<de::IgnoredAny>()?.is_some() {}
            return Ok(());
        }
        Transcode(self.extra.key(self.name)).visit_seq(seq)
    }
}

/// Why a JSON line is not a record.
pub(super) fn json_error(err: &serde_json::Error) -> String {
    // serde's message ends with " at line 1 column N": keep the column only.
    let msg = err.to_string();
    let msg = msg
        .rfind(" at line ")
        .and_then(|i| msg.get(..i))
        .unwrap_or(&msg);
    format!("invalid JSON: {msg} at column {}", err.column())
}

/// Reads one JSON object (a whole line) into `rec`, writing kept members into `extra`
/// (emptied first). Returns whether `extra` has members, or the rejection reason.
pub(super) fn read_json<'de, R: JsonRecord<'de>>(
    unit: &'de [u8],
    rec: &mut R,
    extra: &mut String,
) -> Result<bool, String> {
    let mut w = ObjWriter::new(extra);
    let mut seen = false;
    let mut de = serde_json::Deserializer::from_slice(unit);
    Members {
        rec,
        extra: &mut w,
        prefix: "",
        name: "",
        seen_object: &mut seen,
    }
    .deserialize(&mut de)
    .and_then(|()| de.end())
    .map_err(|e| json_error(&e))?;
    if !seen {
        return Err("expected a JSON object (one record per line)".to_string());
    }
    Ok(w.finish())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Default)]
    struct Rec<'a> {
        a: Option<JVal<'a>>,
        b: Option<JVal<'a>>,
        inner: Option<JVal<'a>>,
    }

    impl<'de> JsonRecord<'de> for Rec<'de> {
        fn route(&self, key: &str) -> Route {
            match key {
                "a" => Route::Field {
                    slot: 0,
                    keep: None,
                },
                "b" => Route::Field {
                    slot: 1,
                    keep: Some("bee"),
                },
                "n" => Route::Nest("n."),
                "n.x" => Route::Field {
                    slot: 2,
                    keep: None,
                },
                "drop" => Route::Drop,
                "ren" => Route::Keep(Some("renamed")),
                _ => Route::Keep(None),
            }
        }
        fn take(&mut self, slot: u8, v: JVal<'de>) {
            match slot {
                0 => self.a = Some(v),
                1 => self.b = Some(v),
                _ => self.inner = Some(v),
            }
        }
    }

    #[test]
    fn routing_members() {
        let line = br#"{"a":"x","b":["m1","m2"],"n":{"x":5,"y":[1,{"z":null}]},"drop":1,"ren":2.5,"nul":null,"e":"","s":"q\"","n2":7}"#;
        let mut rec = Rec::default();
        let mut extra = String::new();
        assert_eq!(read_json(line, &mut rec, &mut extra), Ok(true));
        assert_eq!(rec.a, Some(JVal::Str(Cow::Borrowed("x"))));
        assert_eq!(rec.b, Some(JVal::List(Some(Cow::Borrowed("m1")))));
        assert_eq!(rec.inner, Some(JVal::U64(5)));
        assert_eq!(
            extra,
            r#"{"bee":["m1","m2"],"n.y":[1,{"z":null}],"renamed":2.5,"s":"q\"","n2":7}"#
        );
        // A nest key holding a scalar is kept as it is.
        let mut rec = Rec::default();
        assert_eq!(read_json(br#"{"n":3}"#, &mut rec, &mut extra), Ok(true));
        assert_eq!(extra, r#"{"n":3}"#);
    }

    #[test]
    fn not_objects() {
        let mut extra = String::new();
        for bad in [&b"[1,2]"[..], b"\"s\"", b"3"] {
            let mut rec = Rec::default();
            assert_eq!(
                read_json(bad, &mut rec, &mut extra),
                Err("expected a JSON object (one record per line)".to_string())
            );
        }
        let mut rec = Rec::default();
        let err = read_json(b"{\"a\":", &mut rec, &mut extra).expect_err("truncated");
        assert!(err.starts_with("invalid JSON: EOF"), "{err}");
        let mut rec = Rec::default();
        assert!(read_json(b"{} x", &mut rec, &mut extra).is_err());
    }

    #[test]
    fn helpers() {
        assert_eq!(upper_method("get"), "GET");
        assert!(matches!(upper_method("get"), Cow::Borrowed(_)));
        assert_eq!(upper_method("propfind"), "PROPFIND");
        assert_eq!(
            secs_to_micros("1320279566.452687"),
            Some(1_320_279_566_452_687)
        );
        assert_eq!(secs_to_micros("12"), Some(12_000_000));
        assert_eq!(secs_to_micros("1."), None);
        assert_eq!(secs_to_micros("XXXXXXXXXX.XXXXXX"), None);
        assert!(has_offset("2024-01-12T11:21:15.190+01:00"));
        assert!(has_offset("2024-01-12T11:21:15Z"));
        assert!(!has_offset("2024-01-12 11:21:15"));
        assert!(!has_offset("2024-01-12 11:21:15.25"));
    }
}
