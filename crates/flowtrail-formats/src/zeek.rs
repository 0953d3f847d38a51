//! The Zeek TSV header handling shared by the `zeek_conn` and `zeek_http` decoders: the
//! `#separator`/`#fields`/`#types`... directives of a header block, the column layout they
//! declare, `\xHH` unescaping, the split of one record into mapped values and `extra`, and the
//! typed `extra` writer. What a column feeds is the decoder's business ([`ZeekColumn`]).

use std::borrow::Cow;

use crate::util::{is_json_number, push_json_str, ObjWriter};

/// The columns one Zeek log decoder maps.
pub(crate) trait ZeekColumn: Copy + PartialEq {
    /// The column a `#fields` name feeds.
    fn column(name: &str) -> Self;
    /// Whether the value is (also) kept in `extra`.
    fn in_extra(self) -> bool;
    /// The index of the column's slot among the mapped values (`None`: `extra` only).
    fn slot(self) -> Option<usize>;
    /// The kind of a standard column when `#types` is missing.
    fn kind_of_name(name: &str) -> Kind;
    /// Why records of a layout with these columns cannot be decoded, if they cannot.
    fn layout_problem(cols: &[Self]) -> Option<String>;
    /// Why records of log `path` are not decoded, if they are not.
    fn path_problem(path: &str) -> Option<String>;
}

/// How a value kept in `extra` is written, from its `#types` entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// `count`, `int`, `port`, `double`, `time`, `interval`: a JSON number when it is one.
    Num,
    /// `bool`: `T`/`F` → `true`/`false`.
    Bool,
    /// `set[...]`/`vector[...]`: a JSON array; `num` when the element type is numeric.
    Set { num: bool },
    /// Everything else (`string`, `addr`, `enum`, `subnet`...): a JSON string.
    Str,
}

impl Kind {
    pub(crate) fn of_type(ty: &str) -> Kind {
        let numeric =
            |t: &str| matches!(t, "count" | "int" | "port" | "double" | "time" | "interval");
        if numeric(ty) {
            return Kind::Num;
        }
        if ty == "bool" {
            return Kind::Bool;
        }
        for container in ["set[", "vector["] {
            if let Some(inner) = ty.strip_prefix(container).and_then(|r| r.strip_suffix(']')) {
                return Kind::Set {
                    num: numeric(inner),
                };
            }
        }
        Kind::Str
    }
}

/// The column layout of one `#fields` line.
#[derive(Debug, Clone)]
pub(crate) struct Layout<C> {
    pub(crate) cols: Vec<C>,
    pub(crate) names: Vec<String>,
    pub(crate) kinds: Vec<Kind>,
    /// Why records of this layout cannot be decoded, if they cannot.
    pub(crate) problem: Option<String>,
}

impl<C: ZeekColumn> Layout<C> {
    pub(crate) fn new(names: Vec<String>) -> Layout<C> {
        let cols: Vec<C> = names.iter().map(|n| C::column(n)).collect();
        let kinds = names.iter().map(|n| C::kind_of_name(n)).collect();
        let problem = C::layout_problem(&cols);
        Layout {
            cols,
            names,
            kinds,
            problem,
        }
    }
}

/// The directives of the current header block.
#[derive(Debug, Clone)]
pub(crate) struct Block<C> {
    pub(crate) sep: String,
    pub(crate) set_sep: String,
    pub(crate) empty: String,
    pub(crate) unset: String,
    pub(crate) path: Option<String>,
    pub(crate) layout: Option<Layout<C>>,
}

impl<C> Default for Block<C> {
    fn default() -> Block<C> {
        Block {
            sep: "\t".to_string(),
            set_sep: ",".to_string(),
            empty: "(empty)".to_string(),
            unset: "-".to_string(),
            path: None,
            layout: None,
        }
    }
}

impl<C: ZeekColumn> Block<C> {
    /// Applies one `#` line; lines that are not directives (comments, `#open`) change nothing.
    pub(crate) fn directive(&mut self, line: &str) {
        let Some(body) = line.strip_prefix('#') else {
            return;
        };
        if let Some(v) = body.strip_prefix("separator") {
            // `#separator \x09`: the only directive separated by a space, its value escaped.
            let v = v.trim_start_matches(' ');
            let sep = unescape(v);
            *self = Block::default();
            if !sep.is_empty() {
                self.sep = sep.into_owned();
            }
            return;
        }
        let name_end = body
            .find(|c: char| c == ' ' || self.sep.starts_with(c))
            .unwrap_or(body.len());
        let (name, rest) = body.split_at(name_end);
        let value = rest
            .strip_prefix(self.sep.as_str())
            .unwrap_or_else(|| rest.trim_start_matches(' '));
        match name {
            "set_separator" => self.set_sep = unescape(value).into_owned(),
            "empty_field" => self.empty = value.to_string(),
            "unset_field" => self.unset = value.to_string(),
            "path" => self.path = Some(value.to_string()),
            "fields" => {
                let names = value.split(self.sep.as_str()).map(str::to_string).collect();
                self.layout = Some(Layout::new(names));
            }
            "types" => {
                if let Some(layout) = &mut self.layout {
                    let types: Vec<&str> = value.split(self.sep.as_str()).collect();
                    if types.len() == layout.names.len() {
                        layout.kinds = types.iter().map(|t| Kind::of_type(t)).collect();
                    }
                }
            }
            _ => {}
        }
    }

    /// The layout records are decoded with, or the reason they are rejected (no `#fields` yet,
    /// another log's `#path`, a layout without the decoder's columns).
    pub(crate) fn record_layout(&self) -> Result<&Layout<C>, Cow<'_, str>> {
        let Some(layout) = &self.layout else {
            return Err(Cow::Borrowed(
                "line before any #fields header (a Zeek TSV log starts with #separator and #fields lines)",
            ));
        };
        if let Some(problem) = self.path.as_deref().and_then(C::path_problem) {
            return Err(Cow::Owned(problem));
        }
        if let Some(problem) = &layout.problem {
            return Err(Cow::Borrowed(problem));
        }
        Ok(layout)
    }

    /// Splits one TSV record: columns kept in `extra` are written to `w` (typed by their kind;
    /// a set element is written as a number when `num_elem` accepts it), mapped values that are
    /// neither unset nor empty are stored in their slot of `vals`. Returns the number of fields.
    pub(crate) fn split_record<'t>(
        &self,
        layout: &Layout<C>,
        text: &'t str,
        w: &mut ObjWriter<'_>,
        vals: &mut [Option<&'t str>],
        num_elem: fn(&str) -> bool,
    ) -> usize {
        let mut n = 0usize;
        for value in text.split(self.sep.as_str()) {
            let (Some(col), Some(kind), Some(name)) =
                (layout.cols.get(n), layout.kinds.get(n), layout.names.get(n))
            else {
                n += 1;
                continue;
            };
            n += 1;
            if col.in_extra() {
                self.write_extra(w, name, *kind, value, num_elem);
            }
            if value != self.unset && value != self.empty {
                if let Some(slot) = col.slot().and_then(|i| vals.get_mut(i)) {
                    *slot = Some(value);
                }
            }
        }
        n
    }

    /// Writes one TSV value into `extra`, typed by its `#types` kind; unset values are left out.
    fn write_extra(
        &self,
        w: &mut ObjWriter<'_>,
        name: &str,
        kind: Kind,
        value: &str,
        num_elem: fn(&str) -> bool,
    ) {
        if value == self.unset {
            return;
        }
        if value == self.empty {
            if matches!(kind, Kind::Set { .. }) {
                w.raw(name, "[]");
            }
            return;
        }
        match kind {
            Kind::Num if is_json_number(value) => w.raw(name, value),
            Kind::Bool if value == "T" => w.raw(name, "true"),
            Kind::Bool if value == "F" => w.raw(name, "false"),
            Kind::Set { num } => {
                let out = w.key(name);
                out.push('[');
                for (i, elem) in value.split(self.set_sep.as_str()).enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    if num && num_elem(elem) {
                        out.push_str(elem);
                    } else {
                        push_json_str(out, &unescape(elem));
                    }
                }
                out.push(']');
            }
            _ => w.str(name, &unescape(value)),
        }
    }
}

/// Decodes `\xHH` escapes; returns the input when there are none or the result is not UTF-8.
pub(crate) fn unescape(s: &str) -> Cow<'_, str> {
    if memchr::memmem::find(s.as_bytes(), b"\\x").is_none() {
        return Cow::Borrowed(s);
    }
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while let Some(&c) = b.get(i) {
        if c == b'\\' && b.get(i + 1) == Some(&b'x') {
            let hex = |j: usize| b.get(j).and_then(|h| char::from(*h).to_digit(16));
            if let (Some(h), Some(l)) = (hex(i + 2), hex(i + 3)) {
                out.push((h * 16 + l) as u8);
                i += 4;
                continue;
            }
        }
        out.push(c);
        i += 1;
    }
    match String::from_utf8(out) {
        Ok(s) => Cow::Owned(s),
        Err(_) => Cow::Borrowed(s),
    }
}
