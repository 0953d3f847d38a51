//! Enrichment for flowtrail: threat-intelligence matching, feed parsers and the intel store,
//! GeoIP/ASN, asset inventory, IP-to-user bindings and flow direction.
//!
//! Everything here is synchronous, allocation-light and free of I/O except where a type says it
//! opens files ([`store::IntelStore`], [`geo::GeoDb`], [`feeds::parse_file`]). Every index is
//! built once and then read-only, so share it between ingest threads behind an `Arc`.
//!
//! # Integration guide
//!
//! **CLI (`flowtrail intel add|list|remove|update`)**
//!
//! ```no_run
//! use flowtrail_enrich::feeds::{parse_bytes, FeedFormat};
//! use flowtrail_enrich::store::IntelStore;
//! # fn main() -> Result<(), flowtrail_enrich::Error> {
//! let mut store = IntelStore::open("/var/lib/flowtrail/intel")?;
//! // add: read or download the source, detect (or take --format) and parse.
//! let bytes = std::fs::read("urlhaus.csv").map_err(|e| flowtrail_enrich::Error::io("urlhaus.csv", e))?;
//! let (format, parsed) = parse_bytes(&bytes, None, "urlhaus");
//! for s in &parsed.report.skipped { eprintln!("skipped {}: {}", s.location, s.reason); }
//! store.add_feed("urlhaus", "urlhaus.csv", format, parsed)?;
//! store.save()?;
//! // list
//! for f in store.list() { println!("{} {} {} indicators", f.name, f.format.name(), f.indicator_count); }
//! // update: re-read `feed.meta.source`, parse with the stored `feed.meta.format`,
//! // then `store.update_feed(name, parsed)`; remove: `store.remove_feed(name)`; then `save()`.
//! # Ok(()) }
//! ```
//!
//! CSV feeds with other layouts use [`feeds::FeedFormat::Csv`] with a [`feeds::CsvMapping`]
//! (value column by name or index, kind, label/confidence/time columns...).
//!
//! **Ingest (columns)**: build once per run, then per record:
//!
//! * `let ti = store.index();` → [`ti::TiIndex`]. For a flow use `ti.match_ip(src, time)` and
//!   `ti.match_ip(dst, time)` (or the non-allocating [`ti::TiIndex::first_ip`]); for HTTP also
//!   `match_domain(host, time)`, `match_url(url, time)`, `match_user_agent(ua, time)`. Pass the
//!   record's `time` (µs) so validity windows are judged at event time. A hit gives
//!   `feed`, `labels`, `confidence`, `reference`.
//! * `let geo = GeoDb::open([city_mmdb, asn_mmdb])?;` → `geo.lookup(ip)` gives
//!   [`geo::GeoInfo`] (`country_iso`, `city`, `lat`, `lon`, `asn`, `as_org`), borrowed from the
//!   database, no allocation.
//! * `InternalNetworks::default()` (or `::parse(config_string)`) → `classify(src, dst)` gives
//!   the schema's `Direction` for the `direction` column.
//! * `AssetInventory::from_csv(text)` → `lookup(ip)`; `UserBindings::from_csv(text)` →
//!   `user_at(ip, time)`.
//!
//! **Query (SQL functions)**: `geo_country(ip)` = `geo.lookup(ip).country_iso`; `asn(ip)` =
//! `geo.lookup(ip).asn`; `ti_match(x)` = [`ti::TiIndex::match_any`] (IP, `ip:port`, URL with
//! its host, domain, or user agent; pass [`ti::ANY_TIME`] or the row's time); `asset(ip)` =
//! `inventory.lookup(ip)`; `user_at(ip, time)` = `bindings.user_at(ip, time)`. Parse the IP
//! argument with [`net::parse_ip_loose`] (accepts ports, brackets, zones).
//!
//! # Modules
//!
//! * [`ti`]: indicators, normalization, [`ti::TiIndex`] (matching rules are documented there).
//! * [`feeds`]: parsers for plain lists, CSV (URLhaus, Feodo, ThreatFox built in), STIX 2.1,
//!   MISP; each returns indicators plus a report of skipped entries with reasons.
//! * [`store`]: the persistent intel store (`intel.json`).
//! * [`geo`]: MaxMind-format databases (MaxMind, DB-IP, ip-location-db).
//! * [`context`]: asset inventory and IP-to-user bindings.
//! * [`direction`]: internal networks and flow direction.
//! * [`net`], [`prefix`]: CIDR type and the longest-prefix table behind the IP lookups.

pub mod context;
pub mod direction;
pub mod feeds;
pub mod geo;
mod hash;
pub mod net;
pub mod prefix;
pub mod store;
pub mod ti;
pub mod time;

use std::fmt;
use std::path::{Path, PathBuf};

pub use context::{Asset, AssetInventory, UserBinding, UserBindings};
pub use direction::InternalNetworks;
pub use feeds::{FeedFormat, ParseReport, Parsed};
pub use geo::{GeoDb, GeoInfo};
pub use net::Cidr;
pub use store::IntelStore;
pub use ti::{Hit, Indicator, IndicatorKind, TiIndex, ANY_TIME};

/// Errors from the parts of this crate that touch files.
#[derive(Debug)]
pub enum Error {
    /// Reading or writing a file failed.
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// A MaxMind database could not be opened or read.
    Geo {
        /// The database file.
        path: PathBuf,
        /// The reader's message.
        message: String,
    },
    /// The intel store is malformed or an operation on it is invalid.
    Store(String),
}

impl Error {
    /// An I/O error on `path`.
    pub fn io(path: impl AsRef<Path>, source: std::io::Error) -> Error {
        Error::Io {
            path: path.as_ref().to_path_buf(),
            source,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Io { path, source } => write!(f, "{}: {source}", path.display()),
            Error::Geo { path, message } => {
                write!(
                    f,
                    "{}: not a readable MaxMind database: {message}",
                    path.display()
                )
            }
            Error::Store(m) => f.write_str(m),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Io { source, .. } => Some(source),
            _ => None,
        }
    }
}
