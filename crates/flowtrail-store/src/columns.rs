//! Column accumulators tuned for ingest: most rows of a batch share their low-cardinality text
//! (the input's path, the format, the account, the action), and many columns are empty for a
//! whole batch (a VPC log has no user, MAC or NAT address). Copying those per row into plain
//! Arrow builders cost more than parsing the line, so:
//!
//! - [`DictText`] keeps one key per row and each distinct value once (an Arrow dictionary
//!   array, which Parquet stores as its dictionary encoding anyway), with a last-value shortcut
//!   so a run of equal values costs one comparison;
//! - every column type ([`DictText`], [`PlainText`], [`Int`]) stays empty while the column is
//!   all null and only counts rows, then materializes on the first value.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::Arc;

use arrow::array::{
    new_null_array, ArrayRef, DictionaryArray, Int32Array, PrimitiveArray, StringArray,
    StringBuilder,
};
use arrow::buffer::{Buffer, NullBuffer, OffsetBuffer, ScalarBuffer};
use arrow::datatypes::{ArrowPrimitiveType, DataType, Int32Type};

/// The Arrow type of a dictionary text column.
pub fn dict_type() -> DataType {
    DataType::Dictionary(Box::new(DataType::Int32), Box::new(DataType::Utf8))
}

/// FxHash (rustc's hasher): fast for the short keys of a column dictionary. The keys come from
/// one input at a time and a collision only costs a comparison, so flooding is not a concern.
#[derive(Default, Clone, Copy)]
pub struct FxHasher(u64);

impl Hasher for FxHasher {
    fn write(&mut self, bytes: &[u8]) {
        const K: u64 = 0x51_7c_c1_b7_27_22_0a_95;
        let mut h = self.0;
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let mut w = [0u8; 8];
            w.copy_from_slice(c);
            h = (h.rotate_left(5) ^ u64::from_le_bytes(w)).wrapping_mul(K);
        }
        for &b in chunks.remainder() {
            h = (h.rotate_left(5) ^ u64::from(b)).wrapping_mul(K);
        }
        self.0 = h;
    }

    fn write_u8(&mut self, i: u8) {
        self.write(&[i]);
    }

    fn write_usize(&mut self, i: usize) {
        self.write(&(i as u64).to_le_bytes());
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

type FxMap<K, V> = HashMap<K, V, BuildHasherDefault<FxHasher>>;

/// Byte equality inlined for the short values of a column dictionary (an account, an interface
/// id, a status): eight bytes per compare and the last word overlapping, where `==` calls
/// `memcmp` and was 2.5 % of an ingest.
#[inline]
pub(crate) fn text_eq(a: &[u8], b: &[u8]) -> bool {
    let n = a.len();
    if n != b.len() {
        return false;
    }
    if n < 8 {
        return a.iter().zip(b).all(|(x, y)| x == y);
    }
    let word = |s: &[u8], at: usize| {
        s.get(at..at + 8)
            .and_then(|c| <[u8; 8]>::try_from(c).ok())
            .map(u64::from_ne_bytes)
    };
    let mut at = 0;
    while at + 8 < n {
        if word(a, at) != word(b, at) {
            return false;
        }
        at += 8;
    }
    word(a, n - 8) == word(b, n - 8)
}

/// An all-null array of `rows` rows: one per type and row count is made and shared by every
/// all-null column of a batch (most columns of most formats), instead of allocating and
/// zeroing a keys or values buffer for each.
fn null_array(data_type: &DataType, rows: usize) -> ArrayRef {
    thread_local! {
        static MADE: std::cell::RefCell<Vec<ArrayRef>> = const { std::cell::RefCell::new(Vec::new()) };
    }
    MADE.with_borrow_mut(|made| {
        if let Some(a) = made
            .iter()
            .find(|a| a.len() == rows && a.data_type() == data_type)
        {
            return Arc::clone(a);
        }
        let a = new_null_array(data_type, rows);
        // Keep the latest of each type only.
        made.retain(|m| m.data_type() != data_type);
        made.push(Arc::clone(&a));
        a
    })
}

/// Per-row slots of a column (dictionary keys or integers) with their nulls, costing nothing per
/// row while the column is all null: the leading nulls are only counted, and validity is
/// materialized at the first null after a value (`None`: all valid so far).
#[derive(Default)]
pub struct Slots<T> {
    leading_nulls: usize,
    values: Vec<T>,
    valid: Option<Vec<bool>>,
    capacity: usize,
}

impl<T: Copy + Default> Slots<T> {
    pub fn with_capacity(rows: usize) -> Self {
        Slots {
            leading_nulls: 0,
            values: Vec::new(),
            valid: None,
            capacity: rows,
        }
    }

    pub fn len(&self) -> usize {
        self.leading_nulls + self.values.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// True while no value has been pushed since the last `take`.
    fn all_null(&self) -> bool {
        self.values.capacity() == 0
    }

    /// Turns the leading run of nulls into stored slots, at the first value.
    #[cold]
    fn materialize(&mut self) {
        let nulls = std::mem::take(&mut self.leading_nulls);
        self.values.reserve(self.capacity.max(nulls + 1));
        if nulls > 0 {
            self.values.resize(nulls, T::default());
            let mut valid = Vec::with_capacity(self.values.capacity());
            valid.resize(nulls, false);
            self.valid = Some(valid);
        }
    }

    #[inline(always)]
    pub fn push(&mut self, v: T) {
        if self.all_null() {
            self.materialize();
        }
        self.values.push(v);
        if let Some(valid) = self.valid.as_mut() {
            valid.push(true);
        }
    }

    /// Appends a null: a counter while the column is all null (most columns of most formats),
    /// inlined into the row builder.
    #[inline(always)]
    pub fn push_null(&mut self) {
        if self.all_null() {
            self.leading_nulls += 1;
        } else {
            self.push_stored_null();
        }
    }

    #[inline(never)]
    fn push_stored_null(&mut self) {
        let n = self.values.len();
        let valid = self.valid.get_or_insert_with(|| {
            let mut v = Vec::with_capacity(self.values.capacity());
            v.resize(n, true);
            v
        });
        valid.push(false);
        self.values.push(T::default());
    }

    /// Takes the rows as (row count, values or `None` when every row is null, validity),
    /// leaving the slots empty.
    pub fn take(&mut self) -> (usize, Option<Vec<T>>, Option<NullBuffer>) {
        let rows = self.len();
        self.leading_nulls = 0;
        let values = std::mem::take(&mut self.values);
        let nulls = self.valid.take().map(NullBuffer::from);
        match values.is_empty() {
            true => (rows, None, None),
            false => (rows, Some(values), nulls),
        }
    }
}

/// A low-cardinality text column stored as dictionary keys.
#[derive(Default)]
pub struct DictText {
    keys: Slots<i32>,
    values: Vec<Box<str>>,
    /// Keys by the value's bytes.
    index: FxMap<Box<[u8]>, i32>,
    /// The key of the last value appended, for the run shortcut.
    last: Option<i32>,
    /// Keys of `'static` strings by address and length (see [`DictText::append_static`]).
    statics: Vec<(usize, usize, i32)>,
    /// Bytes of text held (each distinct value once).
    bytes: usize,
    /// Keys of recent values, direct-mapped by [`recent_slot`] (-1: empty); a hit is confirmed
    /// by comparing the text. Allocated at the first lookup past the last-value shortcut.
    recent: Vec<i32>,
    /// Keys by code for [`DictText::append_coded`] ([`CODE_UNSEEN`], [`CODE_NULL`] or a key),
    /// 256 slots allocated at the first use.
    coded: Vec<i32>,
}

/// A code not yet looked up in this batch.
const CODE_UNSEEN: i32 = -1;
/// A code whose value is null.
const CODE_NULL: i32 = -2;

/// Slots of [`DictText::recent`]: a column that changes value row by row (an interface id)
/// holds hundreds of distinct values per hour (800 in the benchmark's).
const RECENT_BITS: u32 = 12;

/// The [`DictText::recent`] slot of `v`: a hash of its length and its first and last eight
/// bytes (which tell apart ids that share a prefix).
#[inline(always)]
fn recent_slot(v: &[u8]) -> usize {
    let word = |at: usize| {
        v.get(at..at + 8)
            .and_then(|c| <[u8; 8]>::try_from(c).ok())
            .map_or(0, u64::from_le_bytes)
    };
    let (first, last) = match v.len() {
        n if n >= 8 => (word(0), word(n - 8)),
        _ => (v.iter().fold(0u64, |h, &b| (h << 8) | u64::from(b)), 0),
    };
    let h = (first ^ last.rotate_left(29) ^ v.len() as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    (h >> (64 - RECENT_BITS)) as usize
}

impl DictText {
    pub fn with_capacity(rows: usize) -> Self {
        DictText {
            keys: Slots::with_capacity(rows),
            ..Default::default()
        }
    }

    pub fn len(&self) -> usize {
        self.keys.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Bytes of text the column holds.
    pub fn text_bytes(&self) -> usize {
        self.bytes
    }

    /// Returns the key of `v`, adding it to the dictionary if it is new.
    #[inline(always)]
    pub fn key_of(&mut self, v: &str) -> i32 {
        self.key_of_bytes(v.as_bytes())
    }

    /// [`DictText::key_of`] for text given as bytes, such as a field a decoder has checked to
    /// be ASCII without making a `str` of it: the bytes are checked as UTF-8 only when they
    /// are a new value (bytes that are not UTF-8 are stored with U+FFFD in place of the bad
    /// sequences, but never compare equal to that text).
    #[inline(always)]
    pub fn key_of_bytes(&mut self, v: &[u8]) -> i32 {
        if let Some(k) = self.last {
            if self
                .values
                .get(k as usize)
                .is_some_and(|p| text_eq(p.as_bytes(), v))
            {
                return k;
            }
        }
        self.key_of_lookup(v)
    }

    /// [`DictText::key_of_bytes`] past the last-value shortcut: the cache of recent values,
    /// then the hash lookup, out of line.
    #[inline(never)]
    fn key_of_lookup(&mut self, v: &[u8]) -> i32 {
        if self.recent.is_empty() {
            self.recent = vec![-1; 1 << RECENT_BITS];
        }
        let slot = recent_slot(v);
        if let Some(&k) = self.recent.get(slot) {
            let cached = usize::try_from(k).ok().and_then(|k| self.values.get(k));
            if cached.is_some_and(|c| text_eq(c.as_bytes(), v)) {
                self.last = Some(k);
                return k;
            }
        }
        let k = match self.index.get(v) {
            Some(&k) => k,
            None => {
                let k = self.values.len() as i32;
                self.bytes += v.len();
                self.values.push(String::from_utf8_lossy(v).into());
                self.index.insert(v.into(), k);
                k
            }
        };
        if let Some(r) = self.recent.get_mut(slot) {
            *r = k;
        }
        self.last = Some(k);
        k
    }

    #[inline]
    pub fn append_value(&mut self, v: &str) {
        let k = self.key_of(v);
        self.append_key(k);
    }

    /// [`DictText::append_value`] of text given as bytes (see [`DictText::key_of_bytes`]).
    #[inline]
    pub fn append_bytes(&mut self, v: &[u8]) {
        let k = self.key_of_bytes(v);
        self.append_key(k);
    }

    /// Appends a row holding the value of `key` (from [`DictText::key_of`] on this column
    /// since its last `finish`).
    #[inline]
    pub fn append_key(&mut self, key: i32) {
        self.keys.push(key);
    }

    #[inline]
    pub fn append_null(&mut self) {
        self.keys.push_null();
    }

    #[inline]
    pub fn append_option(&mut self, v: Option<&str>) {
        match v {
            Some(v) => self.append_value(v),
            None => self.append_null(),
        }
    }

    /// Appends a `'static` string (an enum's name, a protocol name): found by its address
    /// among the few seen in this batch instead of compared byte by byte, the last one found
    /// first, inline.
    #[inline]
    pub fn append_static(&mut self, v: Option<&'static str>) {
        let Some(v) = v else {
            return self.append_null();
        };
        let key = match self.statics.first() {
            Some(&(at, len, k)) if (at, len) == (v.as_ptr() as usize, v.len()) => k,
            _ => self.static_key(v),
        };
        self.append_key(key);
    }

    /// [`DictText::append_static`] past its first entry: moves the value found (or added) to
    /// the front.
    #[inline(never)]
    fn static_key(&mut self, v: &'static str) -> i32 {
        let id = (v.as_ptr() as usize, v.len());
        match self.statics.iter().position(|s| (s.0, s.1) == id) {
            Some(i) => {
                self.statics.swap(0, i);
                self.statics[0].2
            }
            None => {
                let k = self.key_of(v);
                if self.statics.len() < 32 {
                    self.statics.push((id.0, id.1, k));
                    let last = self.statics.len() - 1;
                    self.statics.swap(0, last);
                }
                k
            }
        }
    }

    /// Appends the value of `code` in a fixed set of values known by small codes (an enum's
    /// discriminant, a protocol number): `value(code)` is asked once per code and batch, and
    /// its answer (a `'static` name, or `None` for null) must not change.
    #[inline]
    pub fn append_coded(&mut self, code: u8, value: impl FnOnce(u8) -> Option<&'static str>) {
        match self.coded.get(usize::from(code)).copied() {
            Some(CODE_NULL) => self.append_null(),
            Some(k) if k >= 0 => self.append_key(k),
            _ => {
                let k = self.code_key(code, value(code));
                match k {
                    CODE_NULL => self.append_null(),
                    k => self.append_key(k),
                }
            }
        }
    }

    /// The key (or [`CODE_NULL`]) of a code's value, remembered for the batch.
    #[inline(never)]
    fn code_key(&mut self, code: u8, value: Option<&'static str>) -> i32 {
        if self.coded.is_empty() {
            self.coded = vec![CODE_UNSEEN; 256];
        }
        let k = match value {
            Some(v) => self.key_of(v),
            None => CODE_NULL,
        };
        if let Some(slot) = self.coded.get_mut(usize::from(code)) {
            *slot = k;
        }
        k
    }

    /// Takes the column as an Arrow dictionary array, leaving it empty.
    pub fn finish(&mut self) -> ArrayRef {
        self.statics.clear();
        self.coded.fill(CODE_UNSEEN);
        let (rows, keys, nulls) = self.keys.take();
        let values = std::mem::take(&mut self.values);
        self.index.clear();
        self.recent.fill(-1);
        self.last = None;
        self.bytes = 0;
        let Some(keys) = keys.filter(|_| !values.is_empty()) else {
            return null_array(&dict_type(), rows);
        };
        let values = StringArray::from_iter_values(values.iter().map(|v| v.as_ref()));
        let keys = Int32Array::new(ScalarBuffer::from(keys), nulls);
        match DictionaryArray::<Int32Type>::try_new(keys, Arc::new(values)) {
            Ok(a) => Arc::new(a),
            // Every key was issued by `key_of` below `values.len()`.
            Err(e) => unreachable!("dictionary keys out of range: {e}"),
        }
    }
}

/// An address column stored as dictionary keys, looked up by the address's 128 bits (IPv4 as
/// its IPv4-mapped form, so `::ffff:a.b.c.d` and `a.b.c.d` are one value): each distinct address
/// is formatted as text once per batch instead of once per row, and the key lookup hashes two
/// integers instead of a string. An hour of flows repeats its addresses many times over.
#[derive(Default)]
pub struct DictIp {
    keys: Slots<i32>,
    /// Distinct addresses, in key order.
    addrs: Vec<u128>,
    /// Their canonical text, concatenated, and where each starts (plus the end).
    text: String,
    offsets: Vec<i32>,
    /// Open addressing over `addrs`: a slot holds the address's low 32 bits (the IPv4 address
    /// itself for IPv4) and its key + 1 (0 when free), with [`V6_KEY`] set for an IPv6
    /// address. An IPv4 lookup is settled in the slot, without reading `addrs`.
    table: Vec<(u32, u32)>,
    last: Option<(u128, i32)>,
}

/// Marks a table slot whose address is not IPv4 (so it must be compared in full).
const V6_KEY: u32 = 1 << 31;

/// The IPv4-mapped prefix of a 128-bit address (`::ffff:0:0/96`).
const V4_MAPPED: u128 = 0xffff_0000_0000;

fn is_v4(bits: u128) -> bool {
    bits >> 32 == V4_MAPPED >> 32
}

fn ip_bits(ip: &IpAddr) -> u128 {
    match ip {
        IpAddr::V4(v4) => u128::from(v4.to_ipv6_mapped()),
        IpAddr::V6(v6) => u128::from(*v6),
    }
}

fn ip_slot(bits: u128, table_bits: u32) -> usize {
    let h =
        ((bits as u64) ^ ((bits >> 64) as u64).rotate_left(29)).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    (h >> (64 - table_bits)) as usize
}

impl DictIp {
    pub fn with_capacity(rows: usize) -> Self {
        DictIp {
            keys: Slots::with_capacity(rows),
            ..Default::default()
        }
    }

    pub fn len(&self) -> usize {
        self.keys.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Bytes of text the column holds (each distinct address once).
    pub fn text_bytes(&self) -> usize {
        self.text.len()
    }

    /// The key of the address `bits` (see [`ip_bits`]), taken by value: a reference to an
    /// `IpAddr` just built by the caller stalled its load on store forwarding.
    fn key_of(&mut self, bits: u128) -> i32 {
        if let Some((b, k)) = self.last {
            if b == bits {
                return k;
            }
        }
        if self.table.is_empty() {
            self.table = vec![(0, 0); 1024];
            self.offsets.push(0);
        }
        let table_bits = self.table.len().trailing_zeros();
        let mask = self.table.len() - 1;
        let tag = bits as u32;
        let v4 = is_v4(bits);
        let mut s = ip_slot(bits, table_bits);
        let k = loop {
            match self.table[s] {
                (_, 0) => {
                    let k = self.addrs.len();
                    if k >= V6_KEY as usize - 1 {
                        // Past 2^31 distinct addresses a batch cannot be written anyway.
                        unreachable!("address dictionary overflow");
                    }
                    self.addrs.push(bits);
                    // An IPv4-mapped address is written as IPv4.
                    crate::batch::push_ip_text(&IpAddr::V6(Ipv6Addr::from(bits)), &mut self.text);
                    self.offsets.push(self.text.len() as i32);
                    let flag = if v4 { 0 } else { V6_KEY };
                    self.table[s] = (tag, (k as u32 + 1) | flag);
                    if self.addrs.len() * 2 > self.table.len() {
                        self.grow();
                    }
                    break k as i32;
                }
                (t, e) if t == tag => {
                    let k = (e & !V6_KEY) - 1;
                    let stored_v4 = e & V6_KEY == 0;
                    if v4 && stored_v4 {
                        break k as i32;
                    }
                    if !v4 && !stored_v4 && self.addrs.get(k as usize) == Some(&bits) {
                        break k as i32;
                    }
                    s = (s + 1) & mask;
                }
                _ => s = (s + 1) & mask,
            }
        };
        self.last = Some((bits, k));
        k
    }

    fn grow(&mut self) {
        let size = self.table.len() * 2;
        let table_bits = size.trailing_zeros();
        self.table.clear();
        self.table.resize(size, (0, 0));
        for (k, &bits) in self.addrs.iter().enumerate() {
            let mut s = ip_slot(bits, table_bits);
            while self.table[s].1 != 0 {
                s = (s + 1) & (size - 1);
            }
            let flag = if is_v4(bits) { 0 } else { V6_KEY };
            self.table[s] = (bits as u32, (k as u32 + 1) | flag);
        }
    }

    /// Appends an IPv4 address (the same key [`DictIp::append_option`] gives it).
    #[inline]
    pub fn append_v4(&mut self, ip: Ipv4Addr) {
        let k = self.key_of(u128::from(ip.to_ipv6_mapped()));
        self.keys.push(k);
    }

    pub fn append_option(&mut self, ip: Option<&IpAddr>) {
        match ip {
            Some(ip) => {
                let k = self.key_of(ip_bits(ip));
                self.keys.push(k);
            }
            None => self.keys.push_null(),
        }
    }

    /// Takes the column as an Arrow dictionary array, leaving it empty.
    pub fn finish(&mut self) -> ArrayRef {
        let (rows, keys, nulls) = self.keys.take();
        let text = std::mem::take(&mut self.text);
        let offsets = std::mem::take(&mut self.offsets);
        self.addrs.clear();
        self.table = Vec::new();
        self.last = None;
        let Some(keys) = keys.filter(|_| offsets.len() >= 2) else {
            return null_array(&dict_type(), rows);
        };
        let values = match StringArray::try_new(
            OffsetBuffer::new(ScalarBuffer::from(offsets)),
            Buffer::from(text.into_bytes()),
            None,
        ) {
            Ok(v) => v,
            // Offsets are pushed in order at UTF-8 boundaries of ASCII text.
            Err(e) => unreachable!("address text out of step with its offsets: {e}"),
        };
        let keys = Int32Array::new(ScalarBuffer::from(keys), nulls);
        match DictionaryArray::<Int32Type>::try_new(keys, Arc::new(values)) {
            Ok(a) => Arc::new(a),
            Err(e) => unreachable!("dictionary keys out of range: {e}"),
        }
    }
}

/// A text column that costs nothing per row while it is all null.
#[derive(Default)]
pub struct PlainText {
    nulls: usize,
    b: Option<StringBuilder>,
    capacity: (usize, usize),
    bytes: usize,
}

impl PlainText {
    /// A column expecting `rows` values of about `bytes_per_value` bytes once materialized.
    pub fn with_capacity(rows: usize, bytes_per_value: usize) -> Self {
        PlainText {
            nulls: 0,
            b: None,
            capacity: (rows, rows.saturating_mul(bytes_per_value)),
            bytes: 0,
        }
    }

    fn builder(&mut self) -> &mut StringBuilder {
        let (nulls, capacity) = (self.nulls, self.capacity);
        self.b.get_or_insert_with(|| {
            let mut b = StringBuilder::with_capacity(capacity.0.max(nulls + 1), capacity.1);
            b.append_nulls(nulls);
            b
        })
    }

    pub fn append_value(&mut self, v: &str) {
        self.bytes += v.len();
        self.builder().append_value(v);
    }

    /// Bytes of text the column holds (Arrow's 32-bit offsets cap a column at 2 GiB).
    pub fn text_bytes(&self) -> usize {
        self.bytes
    }

    #[inline]
    pub fn append_null(&mut self) {
        match self.b.as_mut() {
            Some(b) => b.append_null(),
            None => self.nulls += 1,
        }
    }

    pub fn append_option(&mut self, v: Option<&str>) {
        match v {
            Some(v) => self.append_value(v),
            None => self.append_null(),
        }
    }

    pub fn finish(&mut self) -> ArrayRef {
        let nulls = std::mem::take(&mut self.nulls);
        self.bytes = 0;
        match self.b.take() {
            Some(mut b) => Arc::new(b.finish()),
            None => null_array(&DataType::Utf8, nulls),
        }
    }
}

/// A primitive column that costs nothing per row while it is all null. Values go into plain
/// [`Slots`] (inlined pushes; Arrow's builder was a call per value).
pub struct Int<T: ArrowPrimitiveType> {
    slots: Slots<T::Native>,
    data_type: DataType,
}

impl<T: ArrowPrimitiveType> Int<T> {
    pub fn with_capacity(rows: usize) -> Self {
        Int {
            slots: Slots::with_capacity(rows),
            data_type: T::DATA_TYPE,
        }
    }

    /// Sets the Arrow type (a timestamp column carries its time zone).
    pub fn with_data_type(mut self, data_type: DataType) -> Self {
        self.data_type = data_type;
        self
    }

    #[inline]
    pub fn append_value(&mut self, v: T::Native) {
        self.slots.push(v);
    }

    #[inline]
    pub fn append_null(&mut self) {
        self.slots.push_null();
    }

    #[inline]
    pub fn append_option(&mut self, v: Option<T::Native>) {
        match v {
            Some(v) => self.slots.push(v),
            None => self.slots.push_null(),
        }
    }

    pub fn finish(&mut self) -> ArrayRef {
        match self.slots.take() {
            (rows, None, _) => null_array(&self.data_type, rows),
            (_, Some(values), nulls) => Arc::new(
                PrimitiveArray::<T>::new(ScalarBuffer::from(values), nulls)
                    .with_data_type(self.data_type.clone()),
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{Array, AsArray};
    use arrow::datatypes::Int64Type;

    #[test]
    fn text_eq_agrees_with_eq_at_every_length_and_position() {
        for n in 0..40usize {
            let a: Vec<u8> = (0..n).map(|i| b'a' + (i % 26) as u8).collect();
            assert!(text_eq(&a, &a.clone()), "equal, length {n}");
            for at in 0..n {
                let mut b = a.clone();
                b[at] ^= 0x20;
                assert!(!text_eq(&a, &b), "differs at {at}, length {n}");
            }
            let mut longer = a.clone();
            longer.push(b'z');
            assert!(!text_eq(&a, &longer), "length {n} vs {}", n + 1);
        }
    }

    #[test]
    fn dict_text_round_trips_values_through_the_recent_cache() {
        // 5,000 distinct values (many sharing a slot of the 1,024-slot cache, many sharing a
        // prefix or a suffix), drawn with repeats, over two batches.
        let mut rng = flowtrail_gen::Rng::new(3, 9);
        let distinct: Vec<String> = (0..5000)
            .map(|i| match i % 4 {
                0 => format!("eni-{i:017x}"),
                1 => format!("{i:x}"),
                2 => format!("{i:05}-suffix-shared"),
                _ => "x".repeat(i % 40),
            })
            .collect();
        let mut c = DictText::with_capacity(16);
        for _ in 0..2 {
            let rows: Vec<&str> = (0..30_000)
                .map(|_| distinct[rng.below(distinct.len() as u64) as usize].as_str())
                .collect();
            for v in &rows {
                c.append_value(v);
            }
            let a = c.finish();
            let d = a.as_dictionary::<Int32Type>();
            let values = d.values().as_string::<i32>();
            let got: Vec<&str> = d
                .keys()
                .values()
                .iter()
                .map(|&k| values.value(k as usize))
                .collect();
            assert_eq!(got, rows);
            let unique: std::collections::HashSet<&str> = rows.iter().copied().collect();
            assert_eq!(
                values.len(),
                unique.len(),
                "each distinct value is stored once"
            );
        }
    }

    #[test]
    fn dict_text_round_trips_values_nulls_and_runs() {
        let mut c = DictText::with_capacity(4);
        for v in [
            Some("b"),
            Some("b"),
            None,
            Some("a"),
            Some("b"),
            None,
            Some("a"),
        ] {
            c.append_option(v);
        }
        let a = c.finish();
        let d = a.as_dictionary::<Int32Type>();
        let values = d.values().as_string::<i32>();
        let got: Vec<Option<&str>> = d
            .keys()
            .iter()
            .map(|k| k.map(|k| values.value(k as usize)))
            .collect();
        assert_eq!(
            got,
            [
                Some("b"),
                Some("b"),
                None,
                Some("a"),
                Some("b"),
                None,
                Some("a")
            ]
        );
        assert_eq!(values.len(), 2, "each distinct value is stored once");
        // The column is reusable after finish.
        c.append_value("z");
        let a = c.finish();
        assert_eq!(a.len(), 1);
        assert_eq!(a.null_count(), 0);
        // Static strings share keys with equal values appended otherwise.
        let owned = String::from("tcp");
        c.append_static(Some("tcp"));
        c.append_value(&owned);
        c.append_static(None);
        c.append_static(Some("udp"));
        c.append_static(Some("tcp"));
        let a = c.finish();
        let d = a.as_dictionary::<Int32Type>();
        let values = d.values().as_string::<i32>();
        let got: Vec<Option<&str>> = d
            .keys()
            .iter()
            .map(|k| k.map(|k| values.value(k as usize)))
            .collect();
        assert_eq!(
            got,
            [Some("tcp"), Some("tcp"), None, Some("udp"), Some("tcp")]
        );
        assert_eq!(values.len(), 2);
    }

    #[test]
    fn dict_ip_keys_each_address_once_in_canonical_text() {
        let mut c = DictIp::with_capacity(2);
        let ips: Vec<Option<IpAddr>> = [
            None,
            Some("10.0.0.1"),
            Some("::ffff:10.0.0.1"),
            Some("2001:db8::1"),
            None,
            Some("10.0.0.2"),
            Some("10.0.0.1"),
        ]
        .iter()
        .map(|v| v.map(|s| s.parse().expect("ip")))
        .collect();
        for ip in &ips {
            c.append_option(ip.as_ref());
        }
        // Enough distinct addresses to grow the table several times.
        for i in 0..5000u32 {
            c.append_option(Some(&IpAddr::from((i * 7919).to_be_bytes())));
        }
        // IPv6 addresses sharing their low 32 bits with IPv4 ones stay distinct.
        let twins: Vec<IpAddr> = ["2001:db8::a00:1", "::a00:1", "::ffff:0:a00:1"]
            .iter()
            .map(|s| s.parse().expect("ip"))
            .collect();
        for ip in &twins {
            c.append_option(Some(ip));
            c.append_option(Some(&"10.0.0.1".parse().expect("ip")));
        }
        let a = c.finish();
        let d = a.as_dictionary::<Int32Type>();
        let values = d.values().as_string::<i32>();
        let got: Vec<Option<&str>> = d
            .keys()
            .iter()
            .map(|k| k.map(|k| values.value(k as usize)))
            .collect();
        assert_eq!(
            &got[..7],
            [
                None,
                Some("10.0.0.1"),
                Some("10.0.0.1"),
                Some("2001:db8::1"),
                None,
                Some("10.0.0.2"),
                Some("10.0.0.1")
            ]
        );
        for i in 0..5000u32 {
            assert_eq!(
                got[7 + i as usize],
                Some(IpAddr::from((i * 7919).to_be_bytes()).to_string().as_str())
            );
        }
        let tail: Vec<Option<&str>> = got[7 + 5000..].to_vec();
        assert_eq!(
            tail,
            [
                Some("2001:db8::a00:1"),
                Some("10.0.0.1"),
                Some("::a00:1"),
                Some("10.0.0.1"),
                Some("::ffff:0:a00:1"),
                Some("10.0.0.1")
            ]
        );
        assert_eq!(
            values.len(),
            3 + 5000 + 3,
            "each distinct address is stored once"
        );
        assert!(c.finish().is_empty());
        assert_eq!(c.text_bytes(), 0);
    }

    #[test]
    fn all_null_columns_materialize_late() {
        let mut t = PlainText::with_capacity(8, 4);
        let mut i = Int::<Int64Type>::with_capacity(8);
        let mut d = DictText::default();
        for _ in 0..3 {
            t.append_null();
            i.append_option(None);
            d.append_null();
        }
        assert!(t.b.is_none() && i.slots.all_null());
        t.append_value("x");
        i.append_value(7);
        let (t, i, d) = (t.finish(), i.finish(), d.finish());
        assert_eq!((t.len(), t.null_count()), (4, 3));
        assert_eq!(t.as_string::<i32>().value(3), "x");
        assert_eq!((i.len(), i.null_count()), (4, 3));
        assert_eq!(i.as_primitive::<Int64Type>().value(3), 7);
        assert_eq!((d.len(), d.null_count()), (3, 3));
        assert_eq!(d.data_type(), &dict_type());
    }
}
