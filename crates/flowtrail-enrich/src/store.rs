//! The persistent intel store behind `flowtrail intel add|list|remove|update`.
//!
//! Layout: one JSON file, `<dir>/intel.json`:
//!
//! ```json
//! {"format": "flowtrail-intel", "version": 1,
//!  "feeds": [{"meta": {"name": "urlhaus", "source": "/data/urlhaus.csv",
//!                      "format": {"type": "urlhaus"}, "added_at": 1700000000000000,
//!                      "updated_at": 1700000000000000, "indicator_count": 1, "skipped_count": 0},
//!             "indicators": [{"kind": "url", "value": "http://a.example/x", "labels": ["elf"]}]}]}
//! ```
//!
//! Times are µs since the epoch. Saving writes `intel.json.tmp` and renames it over the old
//! file, so a crash never leaves a half-written store. The store does not fetch URLs: the CLI
//! downloads (or reads) the source and hands the bytes to [`IntelStore::add_feed`] /
//! [`IntelStore::update_feed`].

use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::feeds::{FeedFormat, ParseReport, Parsed};
use crate::ti::{Indicator, TiIndex};
use crate::Error;
use flowtrail_schema::Micros;

/// The store's file name inside its folder.
pub const STORE_FILE: &str = "intel.json";
const FORMAT_TAG: &str = "flowtrail-intel";
const VERSION: u32 = 1;

/// A feed's description, as listed by `flowtrail intel list`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FeedMeta {
    /// Unique feed name.
    pub name: String,
    /// Where it came from: a path or URL, used again by `intel update`.
    pub source: String,
    /// How it is parsed.
    pub format: FeedFormat,
    /// When it was first added (µs).
    pub added_at: Micros,
    /// When its indicators were last replaced (µs).
    pub updated_at: Micros,
    /// Indicators stored.
    pub indicator_count: usize,
    /// Entries the parser skipped at the last add/update.
    #[serde(default)]
    pub skipped_count: usize,
}

/// A feed with its indicators.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredFeed {
    /// Description.
    pub meta: FeedMeta,
    /// Indicators (their `feed` field is filled in on load).
    pub indicators: Vec<Indicator>,
}

#[derive(Serialize, Deserialize)]
struct FileRepr {
    format: String,
    version: u32,
    feeds: Vec<StoredFeed>,
}

/// The intel store: feeds and their indicators, kept in one JSON file under a folder.
#[derive(Debug, Clone)]
pub struct IntelStore {
    dir: PathBuf,
    feeds: Vec<StoredFeed>,
}

fn now_micros() -> Micros {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_micros() as Micros)
}

fn check_name(name: &str) -> Result<(), Error> {
    let ok = !name.trim().is_empty()
        && name.len() <= 128
        && name.trim() == name
        && !name.chars().any(char::is_control);
    if ok {
        Ok(())
    } else {
        Err(Error::Store(format!(
            "bad feed name {name:?}: use 1-128 printable characters without surrounding spaces"
        )))
    }
}

impl IntelStore {
    /// Opens the store in `dir`: loads `dir/intel.json` when it exists, else starts empty
    /// (nothing is written until [`IntelStore::save`]).
    pub fn open(dir: impl AsRef<Path>) -> Result<IntelStore, Error> {
        let dir = dir.as_ref().to_path_buf();
        let path = dir.join(STORE_FILE);
        if !path.is_file() {
            return Ok(IntelStore {
                dir,
                feeds: Vec::new(),
            });
        }
        Self::load(dir)
    }

    /// Loads `dir/intel.json`, failing when it is missing or malformed.
    pub fn load(dir: impl AsRef<Path>) -> Result<IntelStore, Error> {
        let dir = dir.as_ref().to_path_buf();
        let path = dir.join(STORE_FILE);
        let bytes = std::fs::read(&path).map_err(|e| Error::io(&path, e))?;
        let repr: FileRepr = serde_json::from_slice(&bytes)
            .map_err(|e| Error::Store(format!("{}: {e}", path.display())))?;
        if repr.format != FORMAT_TAG {
            return Err(Error::Store(format!(
                "{}: not a flowtrail intel store (format {:?})",
                path.display(),
                repr.format
            )));
        }
        if repr.version > VERSION {
            return Err(Error::Store(format!(
                "{}: store version {} is newer than this flowtrail understands ({VERSION})",
                path.display(),
                repr.version
            )));
        }
        let mut feeds = repr.feeds;
        for f in &mut feeds {
            for i in &mut f.indicators {
                i.feed.clone_from(&f.meta.name);
            }
        }
        Ok(IntelStore { dir, feeds })
    }

    /// Writes the store to `dir/intel.json` (atomically: temp file + rename), creating `dir`.
    pub fn save(&self) -> Result<(), Error> {
        std::fs::create_dir_all(&self.dir).map_err(|e| Error::io(&self.dir, e))?;
        let path = self.dir.join(STORE_FILE);
        let tmp = self.dir.join(format!("{STORE_FILE}.tmp"));
        let repr = FileReprRef {
            format: FORMAT_TAG,
            version: VERSION,
            feeds: &self.feeds,
        };
        let file = std::fs::File::create(&tmp).map_err(|e| Error::io(&tmp, e))?;
        let mut w = BufWriter::new(file);
        serde_json::to_writer(&mut w, &repr)
            .map_err(|e| Error::Store(format!("{}: {e}", tmp.display())))?;
        w.write_all(b"\n").map_err(|e| Error::io(&tmp, e))?;
        let file = w
            .into_inner()
            .map_err(|e| Error::io(&tmp, e.into_error()))?;
        file.sync_all().map_err(|e| Error::io(&tmp, e))?;
        std::fs::rename(&tmp, &path).map_err(|e| Error::io(&path, e))?;
        Ok(())
    }

    /// The folder holding the store.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Adds a new feed from parser output. Fails when `name` is taken (use
    /// [`IntelStore::update_feed`]) or invalid. The indicators' `feed` is set to `name`.
    pub fn add_feed(
        &mut self,
        name: &str,
        source: &str,
        format: FeedFormat,
        parsed: Parsed,
    ) -> Result<&FeedMeta, Error> {
        check_name(name)?;
        if self.feed(name).is_some() {
            return Err(Error::Store(format!(
                "feed {name:?} exists; update or remove it first"
            )));
        }
        let now = now_micros();
        let mut feed = StoredFeed {
            meta: FeedMeta {
                name: name.to_string(),
                source: source.to_string(),
                format,
                added_at: now,
                updated_at: now,
                indicator_count: 0,
                skipped_count: 0,
            },
            indicators: Vec::new(),
        };
        set_indicators(&mut feed, parsed.indicators, &parsed.report, now);
        self.feeds.push(feed);
        Ok(&self.feeds[self.feeds.len() - 1].meta)
    }

    /// Replaces a feed's indicators (after re-reading its source), keeping `added_at`.
    pub fn update_feed(&mut self, name: &str, parsed: Parsed) -> Result<&FeedMeta, Error> {
        let now = now_micros();
        let Some(feed) = self.feeds.iter_mut().find(|f| f.meta.name == name) else {
            return Err(Error::Store(format!("no feed named {name:?}")));
        };
        set_indicators(feed, parsed.indicators, &parsed.report, now);
        Ok(&feed.meta)
    }

    /// Changes where a feed is re-read from by `intel update`; returns whether it exists.
    pub fn set_source(&mut self, name: &str, source: &str) -> bool {
        match self.feeds.iter_mut().find(|f| f.meta.name == name) {
            Some(f) => {
                f.meta.source = source.to_string();
                true
            }
            None => false,
        }
    }

    /// Removes a feed; returns whether it existed.
    pub fn remove_feed(&mut self, name: &str) -> bool {
        let before = self.feeds.len();
        self.feeds.retain(|f| f.meta.name != name);
        self.feeds.len() != before
    }

    /// Every feed's description, in the order added.
    pub fn list(&self) -> impl Iterator<Item = &FeedMeta> {
        self.feeds.iter().map(|f| &f.meta)
    }

    /// A feed by name.
    pub fn feed(&self, name: &str) -> Option<&StoredFeed> {
        self.feeds.iter().find(|f| f.meta.name == name)
    }

    /// Total indicators over all feeds.
    pub fn indicator_count(&self) -> usize {
        self.feeds.iter().map(|f| f.indicators.len()).sum()
    }

    /// Builds the matching index over all feeds (indicators are cloned).
    pub fn index(&self) -> TiIndex {
        TiIndex::build(self.feeds.iter().flat_map(|f| f.indicators.iter().cloned()))
    }

    /// Builds the matching index, consuming the store.
    pub fn into_index(self) -> TiIndex {
        TiIndex::build(self.feeds.into_iter().flat_map(|f| f.indicators))
    }
}

#[derive(Serialize)]
struct FileReprRef<'a> {
    format: &'a str,
    version: u32,
    feeds: &'a [StoredFeed],
}

fn set_indicators(
    feed: &mut StoredFeed,
    mut inds: Vec<Indicator>,
    report: &ParseReport,
    now: Micros,
) {
    for i in &mut inds {
        i.feed.clone_from(&feed.meta.name);
    }
    feed.meta.indicator_count = inds.len();
    feed.meta.skipped_count = report.skipped_total;
    feed.meta.updated_at = now;
    feed.indicators = inds;
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::feeds::parse_list;

    #[test]
    fn round_trip() {
        let dir = std::env::temp_dir().join(format!("ft-enrich-store-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let mut s = IntelStore::open(&dir).unwrap();
        assert_eq!(s.list().count(), 0);
        s.add_feed(
            "a",
            "a.txt",
            FeedFormat::List,
            parse_list("1.2.3.4\nevil.com\nbad value\n", "ignored"),
        )
        .unwrap();
        assert!(s
            .add_feed("a", "x", FeedFormat::List, Parsed::default())
            .is_err());
        assert!(s
            .add_feed(" a", "x", FeedFormat::List, Parsed::default())
            .is_err());
        s.add_feed(
            "b",
            "b.txt",
            FeedFormat::Stix,
            parse_list("10.0.0.0/8\n", ""),
        )
        .unwrap();
        s.save().unwrap();
        let t = IntelStore::load(&dir).unwrap();
        let metas: Vec<_> = t
            .list()
            .map(|m| (m.name.as_str(), m.indicator_count, m.skipped_count))
            .collect();
        assert_eq!(metas, [("a", 2, 1), ("b", 1, 0)]);
        assert_eq!(t.feed("a").unwrap().indicators[0].feed, "a");
        let idx = t.index();
        let hits = idx.match_ip("10.1.2.3".parse().unwrap(), 0);
        assert_eq!(hits[0].feed, "b");
        let mut t = t;
        t.update_feed("a", parse_list("5.5.5.5\n", "")).unwrap();
        assert!(t.update_feed("zz", Parsed::default()).is_err());
        assert!(t.remove_feed("b"));
        assert!(!t.remove_feed("b"));
        t.save().unwrap();
        let mut mapping = crate::feeds::CsvMapping::urlhaus();
        mapping.delimiter = ';';
        mapping.comment = None;
        mapping.labels.push(crate::feeds::ColumnRef::Index(3));
        let csv = FeedFormat::Csv {
            mapping: Box::new(mapping),
        };
        t.add_feed("c", "c.csv", csv.clone(), Parsed::default())
            .unwrap();
        t.save().unwrap();
        let u = IntelStore::open(&dir).unwrap();
        assert_eq!(u.indicator_count(), 1);
        assert_eq!(u.feed("a").unwrap().meta.format, FeedFormat::List);
        assert_eq!(u.feed("c").unwrap().meta.format, csv);
        std::fs::write(
            dir.join(STORE_FILE),
            "{\"format\":\"other\",\"version\":1,\"feeds\":[]}",
        )
        .unwrap();
        assert!(IntelStore::load(&dir).is_err());
        std::fs::write(dir.join(STORE_FILE), "garbage").unwrap();
        assert!(IntelStore::open(&dir).is_err());
        let _ = std::fs::remove_dir_all(&dir);
    }
}
