//! DataFusion over the lake: the `flows` and `http` tables, flowtrail's SQL functions, the
//! terse filter language and time ranges.
//!
//! Invariant: this crate never writes to the lake.

pub mod dict_agg;
mod dict_filter;
pub mod enrich_udf;
pub mod filter;
pub mod timerange;
pub mod udf;

use std::path::Path;
use std::sync::Arc;

use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};
use datafusion::datasource::file_format::parquet::ParquetFormat;
use datafusion::datasource::listing::{
    ListingOptions, ListingTable, ListingTableConfig, ListingTableUrl,
};
use datafusion::error::DataFusionError;
use datafusion::execution::SessionStateBuilder;
use datafusion::prelude::{SessionConfig, SessionContext};
use flowtrail_schema::{Column, ColumnType, FLOW_COLUMNS, HTTP_COLUMNS};

pub use enrich_udf::Enrichment;
pub use filter::{parse_filter, parse_filter_for, FilterError, Table};
pub use timerange::{parse_time, TimeRange};

fn data_type(t: ColumnType) -> DataType {
    match t {
        ColumnType::Timestamp => DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
        ColumnType::Ip | ColumnType::Text => DataType::Utf8View,
        ColumnType::Int32 => DataType::Int32,
        ColumnType::Int64 => DataType::Int64,
    }
}

fn file_schema(cols: &[Column]) -> SchemaRef {
    Arc::new(Schema::new(
        cols.iter()
            .map(|c| Field::new(c.name, data_type(c.ty), c.nullable()))
            .collect::<Vec<_>>(),
    ))
}

/// Builds a session with `flows` and `http` over the lake at `root`, restricted to `range`.
///
/// The raw tables are registered as `_flows` and `_http`; `flows` and `http` are views over them
/// with the time range applied (on `time` and on the `date` partition, so whole folders are
/// pruned), which makes `--since/--until` work the same for SQL, filters and `top`.
pub async fn open_session(
    root: &Path,
    range: &TimeRange,
) -> Result<SessionContext, DataFusionError> {
    open_session_with(root, range, &Enrichment::default()).await
}

/// The folder of a lake's intel store.
pub fn intel_dir(root: &Path) -> std::path::PathBuf {
    root.join("_intel")
}

/// Loads the lake's intel store (`<lake>/_intel/`) as a matching index, `None` when it has none.
pub fn load_intel(root: &Path) -> Result<Option<Arc<flowtrail_enrich::TiIndex>>, DataFusionError> {
    let dir = intel_dir(root);
    if !dir.join(flowtrail_enrich::store::STORE_FILE).is_file() {
        return Ok(None);
    }
    let store = flowtrail_enrich::IntelStore::load(&dir)
        .map_err(|e| DataFusionError::Execution(e.to_string()))?;
    Ok(Some(Arc::new(store.into_index())))
}

/// How the query engine is set up beyond the lake and the time range.
#[derive(Debug, Clone)]
pub struct EngineOptions {
    /// Answer `GROUP BY` on a text column from the dictionary keys ([`dict_agg`]). On unless
    /// `FLOWTRAIL_DICTIONARY_AGGREGATE=off`.
    pub dictionary_aggregate: bool,
    /// DataFusion settings applied last (`("datafusion.execution.target_partitions", "4")`).
    pub settings: Vec<(String, String)>,
}

impl Default for EngineOptions {
    fn default() -> Self {
        EngineOptions {
            dictionary_aggregate: dict_agg::enabled_by_env(),
            settings: Vec::new(),
        }
    }
}

/// Like [`open_session`], also registering the enrichment functions of `enrich`
/// (see [`enrich_udf`]); `ti_match` uses the lake's intel store when `enrich.ti` is `None`.
pub async fn open_session_with(
    root: &Path,
    range: &TimeRange,
    enrich: &Enrichment,
) -> Result<SessionContext, DataFusionError> {
    open_session_configured(root, range, enrich, &EngineOptions::default()).await
}

/// Like [`open_session_with`], with the engine set up by `engine`.
pub async fn open_session_configured(
    root: &Path,
    range: &TimeRange,
    enrich: &Enrichment,
    engine: &EngineOptions,
) -> Result<SessionContext, DataFusionError> {
    // DATAFUSION_* environment variables (e.g. DATAFUSION_EXECUTION_TARGET_PARTITIONS) tune the
    // engine, including the defaults flowtrail sets here when they are absent.
    let mut config = SessionConfig::from_env()?.with_information_schema(true);
    for (key, value) in [
        // Filters run while decoding, so the other columns are decoded only for matching rows.
        ("datafusion.execution.parquet.pushdown_filters", true),
        ("datafusion.execution.parquet.reorder_filters", true),
    ] {
        let env = key.replace('.', "_").to_ascii_uppercase();
        if std::env::var_os(env).is_none() {
            config = config.set_bool(key, value);
        }
    }
    config.options_mut().sql_parser.enable_ident_normalization = true;
    for (key, value) in &engine.settings {
        config.options_mut().set(key, value)?;
    }
    let mut state = SessionStateBuilder::new()
        .with_config(config)
        .with_default_features();
    if engine.dictionary_aggregate {
        state = state.with_physical_optimizer_rule(Arc::new(dict_agg::DictionaryAggregate));
    }
    let ctx = SessionContext::new_with_state(state.build());
    udf::register_all(&ctx);
    let mut enrich = enrich.clone();
    if enrich.ti.is_none() {
        enrich.ti = load_intel(root)?;
    }
    enrich_udf::register(&ctx, &enrich);
    for (name, cols) in [("flows", FLOW_COLUMNS), ("http", HTTP_COLUMNS)] {
        let dir = root.join(name);
        std::fs::create_dir_all(&dir)
            .map_err(|e| DataFusionError::Execution(format!("{}: {e}", dir.display())))?;
        let url = ListingTableUrl::parse(format!("{}/", dir.canonicalize()?.display()))?;
        let opts = ListingOptions::new(Arc::new(ParquetFormat::default()))
            .with_file_extension(".parquet")
            .with_table_partition_cols(vec![
                ("date".to_string(), DataType::Utf8),
                ("hour".to_string(), DataType::Utf8),
            ]);
        let cfg = ListingTableConfig::new(url)
            .with_listing_options(opts)
            .with_schema(file_schema(cols));
        ctx.register_table(format!("_{name}"), Arc::new(ListingTable::try_new(cfg)?))?;
        let sql = format!(
            "CREATE VIEW {name} AS SELECT * FROM _{name}{}",
            range.where_clause()
        );
        ctx.sql(&sql).await?;
    }
    Ok(ctx)
}

/// The columns shown by `flowtrail query FILTER` when none are asked for.
pub const DEFAULT_FLOW_COLUMNS: &[&str] = &[
    "time",
    "src_ip",
    "src_port",
    "dst_ip",
    "dst_port",
    "protocol_name",
    "bytes_out",
    "bytes_in",
    "packets_out",
    "action",
    "direction",
    "source_format",
    "origin",
    "origin_line",
];

/// The columns shown by `flowtrail query --table http FILTER` when none are asked for.
pub const DEFAULT_HTTP_COLUMNS: &[&str] = &[
    "time",
    "client_ip",
    "user",
    "device",
    "method",
    "url",
    "status",
    "user_agent",
    "action",
    "source_format",
    "origin",
    "origin_line",
];

/// Returns the SQL of `flowtrail query FILTER` on `table`.
pub fn filter_sql(
    table: Table,
    filter: &str,
    columns: Option<&[String]>,
    limit: Option<usize>,
) -> Result<String, FilterError> {
    let cond = parse_filter_for(filter, table)?;
    let cols = match columns {
        Some(c) if !c.is_empty() => {
            for name in c {
                if name != "*" && !table.columns().iter().any(|col| col.name == name) {
                    return Err(FilterError::new(
                        0,
                        format!("unknown column `{name}` of {}", table.name()),
                    ));
                }
            }
            c.join(", ")
        }
        _ if table == Table::Http => DEFAULT_HTTP_COLUMNS.join(", "),
        _ => DEFAULT_FLOW_COLUMNS.join(", "),
    };
    let mut sql = format!("SELECT {cols} FROM {}", table.name());
    if let Some(c) = cond {
        sql.push_str(&format!(" WHERE {c}"));
    }
    sql.push_str(" ORDER BY time, origin, origin_line");
    if let Some(n) = limit {
        sql.push_str(&format!(" LIMIT {n}"));
    }
    Ok(sql)
}

/// What `flowtrail top` ranks by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TopBy {
    Bytes,
    Flows,
    Packets,
}

/// Returns the SQL of `flowtrail top FIELD --by ...` on `flows`; `fields` may list several columns.
pub fn top_sql(
    fields: &[String],
    by: TopBy,
    filter: &str,
    limit: usize,
) -> Result<String, FilterError> {
    top_sql_for(Table::Flows, fields, by, filter, limit)
}

/// Returns the SQL of `flowtrail top` on `table`. On `http`, `bytes` sums both directions and
/// `flows` counts requests; `packets` does not exist there.
pub fn top_sql_for(
    table: Table,
    fields: &[String],
    by: TopBy,
    filter: &str,
    limit: usize,
) -> Result<String, FilterError> {
    for f in fields {
        if !table.columns().iter().any(|c| c.name == f) && f != "date" && f != "hour" {
            return Err(FilterError::new(
                0,
                format!(
                    "unknown column `{f}` of {} (see `flowtrail schema`)",
                    table.name()
                ),
            ));
        }
    }
    if fields.is_empty() {
        return Err(FilterError::new(0, "top needs at least one column".into()));
    }
    let keys = fields.join(", ");
    let cond = parse_filter_for(filter, table)?;
    if table == Table::Http {
        let order = match by {
            TopBy::Bytes => "bytes",
            TopBy::Flows => "requests",
            TopBy::Packets => {
                return Err(FilterError::new(
                    0,
                    "http has no packet counts: use --by bytes or --by flows".into(),
                ))
            }
        };
        return Ok(format!(
            "SELECT {keys}, count(*) AS requests, \
             sum(coalesce(bytes_out, 0) + coalesce(bytes_in, 0)) AS bytes, \
             count(DISTINCT client_ip) AS clients \
             FROM http{} GROUP BY {keys} ORDER BY {order} DESC, {keys} LIMIT {limit}",
            cond.map(|c| format!(" WHERE {c}")).unwrap_or_default()
        ));
    }
    let order = match by {
        TopBy::Bytes => "bytes",
        TopBy::Flows => "flows",
        TopBy::Packets => "packets",
    };
    Ok(format!(
        "SELECT {keys}, count(*) AS flows, \
         sum(coalesce(bytes_out, 0) + coalesce(bytes_in, 0)) AS bytes, \
         sum(coalesce(packets_out, 0) + coalesce(packets_in, 0)) AS packets \
         FROM flows{} GROUP BY {keys} ORDER BY {order} DESC, {keys} LIMIT {limit}",
        cond.map(|c| format!(" WHERE {c}")).unwrap_or_default()
    ))
}
