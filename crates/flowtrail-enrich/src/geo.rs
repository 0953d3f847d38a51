//! GeoIP and ASN lookups over MaxMind-format databases ([`GeoDb`]).
//!
//! Any MaxMind DB file works: MaxMind GeoIP2/GeoLite2 City, Country, ASN and ISP, DB-IP lite
//! (same record layout as GeoIP2), and the sapics/ip-location-db files, whose records are flat
//! (`country_code`, `city`, `latitude`, `longitude`, `autonomous_system_number`,
//! `autonomous_system_organization`). Each record is decoded straight out of the database
//! buffer into a small struct borrowing its strings, so a lookup allocates nothing.
//!
//! Fields read: `country.iso_code` (or `country_code`, or a plain string `country`);
//! `city.names.en` (or a plain string `city`); `location.latitude/longitude` (or top-level
//! `latitude/longitude`); `autonomous_system_number` and `autonomous_system_organization`.
//! `registered_country` is deliberately not used as a fallback for `country`: it is where the
//! block is registered, not where the address is.

use std::fmt;
use std::marker::PhantomData;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use maxminddb::Reader;
use serde::de::{self, Deserializer, IgnoredAny, MapAccess, Visitor};
use serde::Deserialize;

use crate::Error;

/// What a lookup found. Strings borrow from the database. Fields are `None` when no database
/// had them.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct GeoInfo<'a> {
    /// ISO 3166-1 alpha-2 country code (`SE`).
    pub country_iso: Option<&'a str>,
    /// City name in English (`Linköping`).
    pub city: Option<&'a str>,
    /// Latitude in degrees.
    pub lat: Option<f64>,
    /// Longitude in degrees.
    pub lon: Option<f64>,
    /// Autonomous system number.
    pub asn: Option<u32>,
    /// Autonomous system organization (`Bredband2 AB`).
    pub as_org: Option<&'a str>,
}

impl GeoInfo<'_> {
    /// True when nothing was found.
    pub fn is_empty(&self) -> bool {
        *self == GeoInfo::default()
    }
}

/// One opened database.
pub struct GeoDatabase {
    path: PathBuf,
    reader: Reader<Vec<u8>>,
}

impl fmt::Debug for GeoDatabase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GeoDatabase")
            .field("path", &self.path)
            .field("database_type", &self.reader.metadata().database_type)
            .finish()
    }
}

impl GeoDatabase {
    /// The file it was opened from.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The metadata's `database_type` (`GeoIP2-City`, `GeoLite2-ASN`, `DBIP-City-Lite`...).
    pub fn database_type(&self) -> &str {
        &self.reader.metadata().database_type
    }

    /// The metadata's build time, seconds since the epoch.
    pub fn build_epoch(&self) -> u64 {
        self.reader.metadata().build_epoch
    }
}

/// A stack of MaxMind-format databases queried together: for each field, the first database
/// (in the order added) that has it wins. Typical use: a City database plus an ASN database.
/// `Send + Sync`; share one instance between threads.
#[derive(Debug, Default)]
pub struct GeoDb {
    dbs: Vec<GeoDatabase>,
}

impl GeoDb {
    /// An empty stack (every lookup finds nothing).
    pub fn new() -> GeoDb {
        GeoDb::default()
    }

    /// Opens each database in `paths` (read fully into memory).
    pub fn open<P: AsRef<Path>>(paths: impl IntoIterator<Item = P>) -> Result<GeoDb, Error> {
        let mut db = GeoDb::new();
        for p in paths {
            db.add(p)?;
        }
        Ok(db)
    }

    /// Opens one more database and appends it to the stack. Fails on unreadable files and on
    /// files that are not valid MaxMind DBs (never panics on corrupt input).
    pub fn add(&mut self, path: impl AsRef<Path>) -> Result<(), Error> {
        let path = path.as_ref();
        let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
        self.add_bytes(path, bytes)
    }

    /// Appends a database held in memory; `name` is used in messages.
    pub fn add_bytes(&mut self, name: impl AsRef<Path>, bytes: Vec<u8>) -> Result<(), Error> {
        let path = name.as_ref().to_path_buf();
        let reader = Reader::from_source(bytes).map_err(|e| Error::Geo {
            path: path.clone(),
            message: e.to_string(),
        })?;
        self.dbs.push(GeoDatabase { path, reader });
        Ok(())
    }

    /// The opened databases.
    pub fn databases(&self) -> &[GeoDatabase] {
        &self.dbs
    }

    /// True when no database is open.
    pub fn is_empty(&self) -> bool {
        self.dbs.is_empty()
    }

    /// Checks every database's search tree and data section completely (slow: seconds for a
    /// full-size City database). Optional; lookups never panic without it.
    pub fn verify(&self) -> Result<(), Error> {
        for d in &self.dbs {
            d.reader.verify().map_err(|e| Error::Geo {
                path: d.path.clone(),
                message: e.to_string(),
            })?;
        }
        Ok(())
    }

    /// Looks `ip` up in every database and merges the answers. Records a database cannot decode
    /// (corrupt data) are treated as absent; use [`GeoDb::try_lookup`] to see the error.
    #[inline]
    pub fn lookup(&self, ip: IpAddr) -> GeoInfo<'_> {
        let mut out = GeoInfo::default();
        for d in &self.dbs {
            if let Ok(Some(g)) = lookup_one(d, ip) {
                merge(&mut out, g);
            }
        }
        out
    }

    /// Like [`GeoDb::lookup`], failing on the first database error.
    pub fn try_lookup(&self, ip: IpAddr) -> Result<GeoInfo<'_>, Error> {
        let mut out = GeoInfo::default();
        for d in &self.dbs {
            match lookup_one(d, ip) {
                Ok(Some(g)) => merge(&mut out, g),
                Ok(None) => {}
                Err(message) => {
                    return Err(Error::Geo {
                        path: d.path.clone(),
                        message,
                    })
                }
            }
        }
        Ok(out)
    }
}

fn merge<'a>(out: &mut GeoInfo<'a>, g: GeoInfo<'a>) {
    out.country_iso = out.country_iso.or(g.country_iso);
    out.city = out.city.or(g.city);
    if out.lat.is_none() && out.lon.is_none() {
        out.lat = g.lat;
        out.lon = g.lon;
    }
    out.asn = out.asn.or(g.asn);
    out.as_org = out.as_org.or(g.as_org);
}

fn lookup_one(d: &GeoDatabase, ip: IpAddr) -> Result<Option<GeoInfo<'_>>, String> {
    let ip = ip.to_canonical();
    if ip.is_ipv6() && d.reader.metadata().ip_version == 4 {
        return Ok(None);
    }
    let res = d.reader.lookup(ip).map_err(|e| e.to_string())?;
    let Some(rec) = res.decode::<RawRecord<'_>>().map_err(|e| e.to_string())? else {
        return Ok(None);
    };
    let (mut lat, mut lon) = match rec.location {
        Some(l) => (l.latitude.0, l.longitude.0),
        None => (None, None),
    };
    if lat.is_none() && lon.is_none() {
        lat = rec.latitude.0;
        lon = rec.longitude.0;
    }
    Ok(Some(GeoInfo {
        country_iso: rec.country.0.or(rec.country_code.0),
        city: rec.city.0,
        lat,
        lon,
        asn: rec.autonomous_system_number.0,
        as_org: rec.autonomous_system_organization.0,
    }))
}

// --- record decoding ----------------------------------------------------------------------

#[derive(Deserialize, Default)]
struct RawRecord<'a> {
    /// `{"iso_code": ..}` or a plain code.
    #[serde(borrow, default)]
    country: Named<'a, IsoCode>,
    #[serde(borrow, default)]
    country_code: Named<'a, IsoCode>,
    /// `{"names": {"en": ..}}` or a plain name.
    #[serde(borrow, default)]
    city: Named<'a, EnglishName>,
    #[serde(default)]
    location: Option<Location>,
    #[serde(default)]
    latitude: Lenient<f64>,
    #[serde(default)]
    longitude: Lenient<f64>,
    #[serde(default)]
    autonomous_system_number: Lenient<u32>,
    #[serde(borrow, default)]
    autonomous_system_organization: Named<'a, IsoCode>,
}

#[derive(Deserialize, Default)]
struct Location {
    #[serde(default)]
    latitude: Lenient<f64>,
    #[serde(default)]
    longitude: Lenient<f64>,
}

/// How to find the wanted string inside a map.
trait MapPath {
    /// Keys to descend through, the last one holding the string.
    const PATH: &'static [&'static str];
}

struct IsoCode;
impl MapPath for IsoCode {
    const PATH: &'static [&'static str] = &["iso_code"];
}

struct EnglishName;
impl MapPath for EnglishName {
    const PATH: &'static [&'static str] = &["names", "en"];
}

/// A borrowed string given either directly or at `P::PATH` inside nested maps. Values of any
/// other shape decode as absent instead of failing the whole record.
struct Named<'a, P>(Option<&'a str>, PhantomData<P>);

impl<P> Default for Named<'_, P> {
    fn default() -> Self {
        Named(None, PhantomData)
    }
}

impl<'de: 'a, 'a, P: MapPath> Deserialize<'de> for Named<'a, P> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(NamedVisitor::<P> {
            depth: 0,
            _p: PhantomData,
        })
        .map(|v| Named(v, PhantomData))
    }
}

struct NamedVisitor<P> {
    depth: usize,
    _p: PhantomData<P>,
}

impl<'de, P: MapPath> de::DeserializeSeed<'de> for NamedVisitor<P> {
    type Value = Option<&'de str>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de, P: MapPath> Visitor<'de> for NamedVisitor<P> {
    type Value = Option<&'de str>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string or a map")
    }

    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Some(v).filter(|s| !s.is_empty()))
    }

    fn visit_str<E: de::Error>(self, _v: &str) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let want = P::PATH.get(self.depth).copied();
        let mut found = None;
        while let Some(key) = map.next_key::<KeyMatch>()? {
            let hit = want.is_some_and(|w| key.0 == Some(w));
            if hit && found.is_none() {
                found = map.next_value_seed(NamedVisitor::<P> {
                    depth: self.depth + 1,
                    _p: PhantomData,
                })?;
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(found)
    }

    fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(None)
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_u128<E: de::Error>(self, _: u128) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_bytes<E: de::Error>(self, _: &[u8]) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
}

/// A map key, kept only when it is one of the keys looked for.
struct KeyMatch(Option<&'static str>);

impl<'de> Deserialize<'de> for KeyMatch {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = KeyMatch;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a map key")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<KeyMatch, E> {
                Ok(KeyMatch(match v {
                    "iso_code" => Some("iso_code"),
                    "names" => Some("names"),
                    "en" => Some("en"),
                    _ => None,
                }))
            }
        }
        d.deserialize_str(V)
    }
}

/// A number that may also be written as a string; any other shape decodes as absent.
#[derive(Default)]
struct Lenient<T>(Option<T>);

trait FromNum: Sized {
    fn from_f64(v: f64) -> Option<Self>;
    fn from_u64(v: u64) -> Option<Self>;
    fn from_i64(v: i64) -> Option<Self>;
    fn from_text(v: &str) -> Option<Self>;
}

impl FromNum for f64 {
    fn from_f64(v: f64) -> Option<Self> {
        v.is_finite().then_some(v)
    }
    fn from_u64(v: u64) -> Option<Self> {
        Some(v as f64)
    }
    fn from_i64(v: i64) -> Option<Self> {
        Some(v as f64)
    }
    fn from_text(v: &str) -> Option<Self> {
        v.trim().parse::<f64>().ok().filter(|x| x.is_finite())
    }
}

impl FromNum for u32 {
    fn from_f64(v: f64) -> Option<Self> {
        (v >= 0.0 && v <= f64::from(u32::MAX) && v.fract() == 0.0).then_some(v as u32)
    }
    fn from_u64(v: u64) -> Option<Self> {
        u32::try_from(v).ok()
    }
    fn from_i64(v: i64) -> Option<Self> {
        u32::try_from(v).ok()
    }
    fn from_text(v: &str) -> Option<Self> {
        let t = v.trim();
        let t = t
            .strip_prefix("AS")
            .or_else(|| t.strip_prefix("as"))
            .unwrap_or(t);
        t.parse().ok()
    }
}

impl<'de, T: FromNum> Deserialize<'de> for Lenient<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<T>(PhantomData<T>);
        impl<'de, T: FromNum> Visitor<'de> for V<T> {
            type Value = Lenient<T>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a number")
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
                Ok(Lenient(T::from_f64(v)))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
                Ok(Lenient(T::from_u64(v)))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
                Ok(Lenient(T::from_i64(v)))
            }
            fn visit_u128<E: de::Error>(self, v: u128) -> Result<Self::Value, E> {
                Ok(Lenient(u64::try_from(v).ok().and_then(T::from_u64)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(Lenient(T::from_text(v)))
            }
            fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
                Ok(Lenient(None))
            }
            fn visit_bytes<E: de::Error>(self, _: &[u8]) -> Result<Self::Value, E> {
                Ok(Lenient(None))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut m: A) -> Result<Self::Value, A::Error> {
                while m.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Ok(Lenient(None))
            }
            fn visit_seq<A: de::SeqAccess<'de>>(self, mut s: A) -> Result<Self::Value, A::Error> {
                while s.next_element::<IgnoredAny>()?.is_some() {}
                Ok(Lenient(None))
            }
        }
        d.deserialize_any(V(PhantomData))
    }
}
