//! Enrichment SQL functions, registered when their data is available:
//!
//! - `ti_match(x)`: comma-separated names of the feeds listing `x` (an IP, `ip:port`, domain or
//!   host, URL or user agent), NULL when none does (needs an intel store).
//! - `geo_country(ip)`, `geo_city(ip)`, `asn(ip)`, `as_org(ip)`: from the GeoIP databases.
//! - `asset(ip)`: the inventory's host name for the address.
//! - `user_at(ip, time)`: who held the address at that time, from the bindings.
//!
//! Every function is vectorised over Arrow arrays and returns NULL for NULL or unparsable input.

use std::net::IpAddr;
use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, Int64Array, StringArray, UInt32Array};
use datafusion::arrow::datatypes::{DataType, TimeUnit};
use datafusion::common::{cast::as_string_array, DataFusionError};
use datafusion::logical_expr::{create_udf, ColumnarValue, Volatility};
use datafusion::prelude::SessionContext;
use flowtrail_enrich::net::parse_ip_loose;
use flowtrail_enrich::{AssetInventory, GeoDb, GeoInfo, TiIndex, UserBindings, ANY_TIME};

/// The enrichment data a session's SQL functions use; each part is optional and its functions
/// are registered only when it is present.
#[derive(Debug, Clone, Default)]
pub struct Enrichment {
    /// Threat-intelligence index (`ti_match`). When `None`, [`crate::open_session_with`] loads
    /// the lake's intel store (`<lake>/_intel/`) if it has one.
    pub ti: Option<Arc<TiIndex>>,
    /// GeoIP/ASN databases (`geo_country`, `geo_city`, `asn`, `as_org`).
    pub geo: Option<Arc<GeoDb>>,
    /// Asset inventory (`asset`).
    pub assets: Option<Arc<AssetInventory>>,
    /// IP-to-user bindings (`user_at`).
    pub users: Option<Arc<UserBindings>>,
}

fn rows_of(args: &[ColumnarValue]) -> usize {
    args.iter()
        .find_map(|a| match a {
            ColumnarValue::Array(a) => Some(a.len()),
            ColumnarValue::Scalar(_) => None,
        })
        .unwrap_or(1)
}

fn string_arg(v: &ColumnarValue, rows: usize) -> Result<ArrayRef, DataFusionError> {
    let arr = v.to_array(rows)?;
    if arr.data_type() == &DataType::Utf8 {
        Ok(arr)
    } else {
        Ok(datafusion::arrow::compute::cast(&arr, &DataType::Utf8)?)
    }
}

fn first_arg<'a>(
    args: &'a [ColumnarValue],
    name: &str,
) -> Result<&'a ColumnarValue, DataFusionError> {
    args.first()
        .ok_or_else(|| DataFusionError::Plan(format!("{name} takes an argument")))
}

/// Applies `f` to each non-NULL string of the first argument, producing a text column.
fn map_text(
    args: &[ColumnarValue],
    name: &str,
    mut f: impl FnMut(&str) -> Option<String>,
) -> Result<ColumnarValue, DataFusionError> {
    let rows = rows_of(args);
    let arr = string_arg(first_arg(args, name)?, rows)?;
    let s = as_string_array(&arr)?;
    let out: StringArray = s.iter().map(|v| v.and_then(&mut f)).collect();
    Ok(ColumnarValue::Array(Arc::new(out)))
}

/// Feed names of `hits`, sorted, deduplicated and joined with commas.
pub fn feed_names<'a>(hits: impl IntoIterator<Item = &'a flowtrail_enrich::Hit>) -> Option<String> {
    let mut names: Vec<&str> = hits.into_iter().map(|h| h.feed.as_str()).collect();
    if names.is_empty() {
        return None;
    }
    names.sort_unstable();
    names.dedup();
    Some(names.join(","))
}

/// Picks a text field of a lookup result.
type GeoPick = fn(&GeoInfo<'_>) -> Option<String>;

fn geo_text(
    geo: &GeoDb,
    args: &[ColumnarValue],
    name: &str,
    pick: GeoPick,
) -> Result<ColumnarValue, DataFusionError> {
    map_text(args, name, |v| {
        let ip = parse_ip_loose(v)?;
        pick(&geo.lookup(ip))
    })
}

fn asn_fn(geo: &GeoDb, args: &[ColumnarValue]) -> Result<ColumnarValue, DataFusionError> {
    let rows = rows_of(args);
    let arr = string_arg(first_arg(args, "asn")?, rows)?;
    let s = as_string_array(&arr)?;
    let out: UInt32Array = s
        .iter()
        .map(|v| v.and_then(parse_ip_loose).and_then(|ip| geo.lookup(ip).asn))
        .collect();
    Ok(ColumnarValue::Array(Arc::new(out)))
}

fn user_at_fn(
    users: &UserBindings,
    args: &[ColumnarValue],
) -> Result<ColumnarValue, DataFusionError> {
    let rows = rows_of(args);
    let [ip, time] = args else {
        return Err(DataFusionError::Plan(
            "user_at(ip, time) takes two arguments".into(),
        ));
    };
    let ips = string_arg(ip, rows)?;
    let ips = as_string_array(&ips)?;
    let t = time.to_array(rows)?;
    let t = match t.data_type() {
        DataType::Timestamp(TimeUnit::Microsecond, _) | DataType::Int64 => {
            datafusion::arrow::compute::cast(&t, &DataType::Int64)?
        }
        _ => {
            let us = datafusion::arrow::compute::cast(
                &t,
                &DataType::Timestamp(TimeUnit::Microsecond, None),
            )?;
            datafusion::arrow::compute::cast(&us, &DataType::Int64)?
        }
    };
    let Some(t) = t.as_any().downcast_ref::<Int64Array>() else {
        return Err(DataFusionError::Internal(
            "user_at: time cast failed".into(),
        ));
    };
    let out: StringArray = (0..ips.len())
        .map(|i| {
            if ips.is_null(i) || t.is_null(i) {
                return None;
            }
            let addr: IpAddr = parse_ip_loose(ips.value(i))?;
            users.user_at(addr, t.value(i)).map(str::to_string)
        })
        .collect();
    Ok(ColumnarValue::Array(Arc::new(out)))
}

/// Registers the enrichment functions whose data `e` has.
pub fn register(ctx: &SessionContext, e: &Enrichment) {
    if let Some(ti) = &e.ti {
        let ti = Arc::clone(ti);
        ctx.register_udf(create_udf(
            "ti_match",
            vec![DataType::Utf8],
            DataType::Utf8,
            Volatility::Immutable,
            Arc::new(move |args: &[ColumnarValue]| {
                let mut hits = Vec::new();
                map_text(args, "ti_match", |v| {
                    hits.clear();
                    hits.extend(ti.match_any(v, ANY_TIME));
                    feed_names(hits.iter().copied())
                })
            }),
        ));
    }
    if let Some(geo) = &e.geo {
        let texts: [(&str, GeoPick); 3] = [
            ("geo_country", |g| g.country_iso.map(str::to_string)),
            ("geo_city", |g| g.city.map(str::to_string)),
            ("as_org", |g| g.as_org.map(str::to_string)),
        ];
        for (name, pick) in texts {
            let geo = Arc::clone(geo);
            ctx.register_udf(create_udf(
                name,
                vec![DataType::Utf8],
                DataType::Utf8,
                Volatility::Immutable,
                Arc::new(move |args: &[ColumnarValue]| geo_text(&geo, args, name, pick)),
            ));
        }
        let geo = Arc::clone(geo);
        ctx.register_udf(create_udf(
            "asn",
            vec![DataType::Utf8],
            DataType::UInt32,
            Volatility::Immutable,
            Arc::new(move |args: &[ColumnarValue]| asn_fn(&geo, args)),
        ));
    }
    if let Some(assets) = &e.assets {
        let assets = Arc::clone(assets);
        ctx.register_udf(create_udf(
            "asset",
            vec![DataType::Utf8],
            DataType::Utf8,
            Volatility::Immutable,
            Arc::new(move |args: &[ColumnarValue]| {
                map_text(args, "asset", |v| {
                    let ip = parse_ip_loose(v)?;
                    assets.lookup(ip)?.hostname.clone()
                })
            }),
        ));
    }
    if let Some(users) = &e.users {
        let users = Arc::clone(users);
        ctx.register_udf(create_udf(
            "user_at",
            vec![
                DataType::Utf8,
                DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
            ],
            DataType::Utf8,
            Volatility::Immutable,
            Arc::new(move |args: &[ColumnarValue]| user_at_fn(&users, args)),
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::array::AsArray;
    use flowtrail_enrich::{Asset, Cidr, Indicator, IndicatorKind, UserBinding};

    fn enrichment() -> Enrichment {
        let ind = |k, v: &str, feed: &str| {
            Indicator::new(k, v)
                .map(|i| i.with_feed(feed))
                .unwrap_or_else(|e| panic!("{v}: {e}"))
        };
        let ti = TiIndex::build([
            ind(IndicatorKind::Ip, "198.51.100.66", "a"),
            ind(IndicatorKind::Cidr, "198.51.100.0/24", "b"),
            ind(IndicatorKind::Domain, "evil.example", "c"),
            ind(IndicatorKind::UserAgent, "EvilBot/6.6", "d"),
        ]);
        let assets = AssetInventory::new([Asset {
            network: Cidr::parse("10.0.0.0/24").expect("cidr"),
            hostname: Some("lab".into()),
            owner: None,
            criticality: None,
            tags: Vec::new(),
        }]);
        let users = UserBindings::new([UserBinding {
            ip: "10.0.0.5".parse().expect("ip"),
            user: "alice".into(),
            start: 100,
            end: Some(200),
        }]);
        Enrichment {
            ti: Some(Arc::new(ti)),
            geo: None,
            assets: Some(Arc::new(assets)),
            users: Some(Arc::new(users)),
        }
    }

    async fn texts(ctx: &SessionContext, sql: &str) -> Vec<Option<String>> {
        let batches = ctx
            .sql(sql)
            .await
            .expect("plan")
            .collect()
            .await
            .expect("run");
        batches
            .iter()
            .flat_map(|b| {
                let c =
                    datafusion::arrow::compute::cast(b.column(0), &DataType::Utf8).expect("cast");
                c.as_string::<i32>()
                    .iter()
                    .map(|v| v.map(str::to_string))
                    .collect::<Vec<_>>()
            })
            .collect()
    }

    #[tokio::test]
    async fn functions_over_columns() {
        let ctx = SessionContext::new();
        register(&ctx, &enrichment());
        let got = texts(
            &ctx,
            "SELECT ti_match(v) FROM (VALUES ('198.51.100.66'), ('198.51.100.7:443'), \
             ('https://cdn.EVIL.example/x'), ('EvilBot/6.6'), ('good.example'), (NULL)) AS t(v)",
        )
        .await;
        let want = [Some("a,b"), Some("b"), Some("c"), Some("d"), None, None];
        assert_eq!(got, want.map(|s| s.map(str::to_string)));
        let got = texts(
            &ctx,
            "SELECT asset(v) FROM (VALUES ('10.0.0.9'), ('10.0.1.9'), ('junk')) AS t(v)",
        )
        .await;
        assert_eq!(got, [Some("lab".to_string()), None, None]);
        let got = texts(
            &ctx,
            "SELECT user_at(ip, to_timestamp_micros(t)) FROM (VALUES ('10.0.0.5', 150), \
             ('10.0.0.5', 250), ('10.0.0.6', 150)) AS x(ip, t)",
        )
        .await;
        assert_eq!(got, [Some("alice".to_string()), None, None]);
    }

    #[tokio::test]
    async fn unregistered_without_data() {
        let ctx = SessionContext::new();
        register(&ctx, &Enrichment::default());
        assert!(ctx.sql("SELECT ti_match('x')").await.is_err());
        assert!(ctx.sql("SELECT geo_country('1.1.1.1')").await.is_err());
    }
}
