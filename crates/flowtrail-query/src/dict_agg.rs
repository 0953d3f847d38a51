//! Dictionary-key aggregation: `GROUP BY <text column>` with `sum` and `count`, answered from the
//! lake's dictionary-encoded Parquet without hashing a string per row.
//!
//! The lake writes every address and name column dictionary-encoded: each file holds a few
//! thousand distinct `src_ip` values and one small integer key per row. DataFusion's hash
//! aggregate reads those columns as strings and hashes and compares one string per row, which
//! was over half of a top-talkers query. [`DictionaryAggregate`] is a physical optimizer rule
//! that replaces such an aggregate, where it reads straight from a lake scan, by
//! [`DictionaryAggregateExec`]: that operator reads the key column as Arrow dictionary arrays,
//! maps each distinct dictionary value to a group once per column chunk, and then adds each row
//! into its group through the key alone.
//!
//! The rule applies only when the answer is the same by construction; otherwise the plan is left
//! alone:
//! - the aggregate is in `Partial` or `Single` mode, groups by one text column of the files (not
//!   a partition column, not an expression, no grouping sets), and has no `FILTER` clauses;
//! - every aggregate is `sum` or `count` (not `DISTINCT`, no `ORDER BY`) of one expression whose
//!   result and state are a single `Int64` (any expression over the scanned columns is fine:
//!   `sum(coalesce(bytes_out, 0) + coalesce(bytes_in, 0))`);
//! - its input is a local Parquet scan with plain column projections and no row limit. A pushed
//!   down predicate is supported: row groups are pruned by statistics as the scan would, and the
//!   predicate runs as the reader's row filter, its single-text-column parts once per
//!   dictionary value ([`crate::dict_filter`]).
//!
//! A second pass replaces the final aggregate above such an operator (through a repartition or
//! a coalesce) as well: the operator then merges the files' groups itself, in hash buckets
//! small enough to stay in cache (`Mode::Final`).
//!
//! An aggregate without `GROUP BY` is the same with one group (the IP lookup's
//! `SELECT count(*), sum(bytes_out) FROM flows WHERE src_ip = ... OR dst_ip = ...`).
//!
//! Output rows and types are exactly those of the replaced aggregate (for `Partial`, the
//! accumulator states the final aggregate expects: `sum` wraps on overflow and is NULL for a
//! group with no non-NULL input, as DataFusion's). Setting `FLOWTRAIL_DICTIONARY_AGGREGATE=off`
//! disables the rule (the tests compare both ways).

use std::collections::HashSet;
use std::fmt;
use std::fs::File;
use std::path::PathBuf;
use std::sync::Arc;

use crate::dict_filter::{Columns, DictFilter};
use datafusion::arrow::array::{
    new_null_array, Array, ArrayRef, AsArray, BooleanArray, DictionaryArray, Int32Array,
    Int64Array, RecordBatch, StringArray, UInt32Array, UInt64Array,
};
use datafusion::arrow::buffer::NullBuffer;
use datafusion::arrow::compute::{cast, filter_record_batch, take};
use datafusion::arrow::datatypes::{DataType, Field, Int32Type, Int64Type, Schema, SchemaRef};
use datafusion::arrow::error::ArrowError;
use datafusion::common::config::ConfigOptions;
use datafusion::common::pruning::PruningStatistics;
use datafusion::common::tree_node::{Transformed, TreeNode, TreeNodeRecursion};
use datafusion::common::{Column as LogicalColumn, DataFusionError, Result, ScalarValue};
use datafusion::datasource::listing::PartitionedFile;
use datafusion::datasource::physical_plan::{FileScanConfig, ParquetSource};
use datafusion::datasource::source::DataSourceExec;
use datafusion::execution::TaskContext;
use datafusion::logical_expr::ColumnarValue;
use datafusion::object_store::local::LocalFileSystem;
use datafusion::parquet::arrow::arrow_reader::statistics::StatisticsConverter;
use datafusion::parquet::arrow::arrow_reader::{
    ArrowPredicateFn, ArrowReaderMetadata, ArrowReaderOptions, ParquetRecordBatchReaderBuilder,
    RowFilter,
};
use datafusion::parquet::arrow::ProjectionMask;
use datafusion::parquet::file::metadata::{ParquetMetaData, RowGroupMetaData};
use datafusion::physical_expr::expressions::Column;
use datafusion::physical_expr::utils::{collect_columns, reassign_expr_columns};
use datafusion::physical_expr::{EquivalenceProperties, PhysicalExpr};
use datafusion::physical_optimizer::pruning::{PruningPredicate, PruningPredicateBuilder};
use datafusion::physical_optimizer::PhysicalOptimizerRule;
use datafusion::physical_plan::aggregates::{AggregateExec, AggregateMode};
use datafusion::physical_plan::coalesce_partitions::CoalescePartitionsExec;
use datafusion::physical_plan::execution_plan::{Boundedness, EmissionType};
use datafusion::physical_plan::repartition::RepartitionExec;
use datafusion::physical_plan::stream::RecordBatchReceiverStream;
use datafusion::physical_plan::{
    DisplayAs, DisplayFormatType, ExecutionPlan, Partitioning, PlanProperties,
    SendableRecordBatchStream,
};

/// The environment variable that turns the rule off (`off`, `0` or `false`).
pub const DISABLE_ENV: &str = "FLOWTRAIL_DICTIONARY_AGGREGATE";

/// Whether the rule is enabled by the environment (on unless [`DISABLE_ENV`] says off).
pub fn enabled_by_env() -> bool {
    !matches!(
        std::env::var(DISABLE_ENV).as_deref().map(str::trim),
        Ok("off" | "0" | "false" | "no")
    )
}

/// The physical optimizer rule; see the module documentation.
#[derive(Debug, Default)]
pub struct DictionaryAggregate;

impl PhysicalOptimizerRule for DictionaryAggregate {
    fn optimize(
        &self,
        plan: Arc<dyn ExecutionPlan>,
        _config: &ConfigOptions,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        let plan = plan
            .transform_down(|node| {
                Ok(match DictionaryAggregateExec::replacing(&node) {
                    Some(exec) => Transformed::yes(Arc::new(exec) as Arc<dyn ExecutionPlan>),
                    None => Transformed::no(node),
                })
            })?
            .data;
        // Then the final aggregates over the replaced partial ones: merging the groups here
        // hashes each key once per file as a packed integer, where the final aggregate hashed
        // it as a string twice (repartition, then its table) after a string array was built.
        plan.transform_up(|node| {
            Ok(match DictionaryAggregateExec::absorbing_final(&node) {
                Some(exec) => Transformed::yes(Arc::new(exec) as Arc<dyn ExecutionPlan>),
                None => Transformed::no(node),
            })
        })
        .map(|t| t.data)
    }

    fn name(&self) -> &str {
        "flowtrail_dictionary_aggregate"
    }

    fn schema_check(&self) -> bool {
        true
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum AggKind {
    Sum,
    Count,
}

/// One aggregate: its kind and its argument, rewritten onto [`Plan::columns`].
#[derive(Debug)]
struct Agg {
    kind: AggKind,
    arg: Arc<dyn PhysicalExpr>,
    display: String,
}

/// Everything an execution needs, shared by its partitions.
#[derive(Debug)]
struct Plan {
    /// The key column's name in the files; `None` for an aggregate without `GROUP BY`.
    key: Option<String>,
    /// Columns the aggregates' arguments read; the arguments are rewritten onto this schema.
    columns: Columns,
    aggs: Vec<Agg>,
    /// The scan's pushed-down predicate.
    filter: Option<DictFilter>,
    pruning: Option<Arc<PruningPredicate>>,
    /// Table schema (file columns, then partition columns): the pruning predicate's schema.
    table: SchemaRef,
    batch_size: usize,
}

/// Where an operator's groups go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// Each file's groups go out as they are, for the final aggregate above (which merges the
    /// keys several files share).
    Partial,
    /// The replaced aggregate was `Single` (one partition): the partition's groups are merged
    /// here and go out as final answers.
    Single,
    /// The final aggregate above the partial one is replaced too: one output partition, every
    /// file's groups merged here. Each file group is read on its own thread into maps split
    /// by a hash of the key; then each split is merged on its own thread.
    Final,
}

/// Reads a lake scan's files and aggregates by dictionary key; see the module documentation.
#[derive(Debug)]
pub struct DictionaryAggregateExec {
    plan: Arc<Plan>,
    mode: Mode,
    file_groups: Vec<Vec<PartitionedFile>>,
    schema: SchemaRef,
    properties: Arc<PlanProperties>,
}

/// Whether `t` is a text type the lake stores dictionary-encoded.
pub(crate) fn is_text(t: &DataType) -> bool {
    matches!(t, DataType::Utf8 | DataType::Utf8View | DataType::LargeUtf8)
}

impl DictionaryAggregateExec {
    /// The replacement for `node`, or `None` where the rule does not apply.
    fn replacing(node: &Arc<dyn ExecutionPlan>) -> Option<DictionaryAggregateExec> {
        let agg = node.downcast_ref::<AggregateExec>()?;
        if !matches!(agg.mode(), AggregateMode::Partial | AggregateMode::Single)
            || agg.limit_options().is_some()
            || !agg.dynamic_expressions_produced().is_empty()
            || agg.filter_expr().iter().any(Option::is_some)
        {
            return None;
        }
        let group = agg.group_expr();
        let key_out = match group.expr() {
            [] => None,
            [(key, _)] if group.null_expr().is_empty() && group.groups() == [vec![false]] => {
                Some(key.downcast_ref::<Column>()?)
            }
            _ => return None,
        };

        let scan = agg.input().downcast_ref::<DataSourceExec>()?;
        let config = scan.data_source().downcast_ref::<FileScanConfig>()?;
        config.file_source.downcast_ref::<ParquetSource>()?;
        if config.limit.is_some() || config.object_store_url.as_str() != "file:///" {
            return None;
        }
        let table = Arc::clone(config.file_source.table_schema().table_schema());
        let file_columns = config.file_schema().fields().len();

        // The scan's output columns, as table columns; anything but plain columns declines.
        let scanned: Vec<usize> = match config.file_source.projection() {
            Some(p) => p
                .iter()
                .map(|e| {
                    let c = e.expr.downcast_ref::<Column>()?;
                    (c.name() == e.alias).then_some(c.index())
                })
                .collect::<Option<Vec<_>>>()?,
            None => (0..table.fields().len()).collect(),
        };
        let key = match key_out {
            None => None,
            Some(k) => {
                let i = *scanned.get(k.index())?;
                let field = table.field(i);
                if i >= file_columns || !is_text(field.data_type()) {
                    return None;
                }
                Some(field.name().clone())
            }
        };

        // The columns the predicate and the arguments read, by name.
        let mut aggs_raw = Vec::new();
        for a in agg.aggr_expr() {
            let kind = match a.fun().name() {
                "sum" => AggKind::Sum,
                "count" => AggKind::Count,
                _ => return None,
            };
            let state = a.state_fields().ok()?;
            let args = a.expressions();
            if a.is_distinct()
                || !a.order_bys().is_empty()
                || args.len() != 1
                || a.field().data_type() != &DataType::Int64
                || state.len() != 1
                || state[0].data_type() != &DataType::Int64
            {
                return None;
            }
            aggs_raw.push((kind, Arc::clone(&args[0]), a.name().to_string()));
        }
        let mut used: Vec<String> = Vec::new();
        for (_, arg, _) in &aggs_raw {
            for c in collect_columns(arg) {
                if !used.iter().any(|u| u == c.name()) {
                    used.push(c.name().to_string());
                }
            }
        }
        let columns = Columns::of(&table, file_columns, &used)?;
        let mut aggs = Vec::new();
        for (kind, arg, display) in aggs_raw {
            let arg = reassign_expr_columns(arg, &columns.schema).ok()?;
            // The argument must evaluate to Int64 (count accepts anything).
            if kind == AggKind::Sum && arg.data_type(&columns.schema).ok()? != DataType::Int64 {
                return None;
            }
            aggs.push(Agg { kind, arg, display });
        }
        let predicate = config.file_source.filter();
        let pruning = predicate.as_ref().and_then(|p| {
            PruningPredicateBuilder::new()
                .with_file_schema(Arc::clone(&table))
                .build(Arc::clone(p))
        });
        let filter = match &predicate {
            Some(p) => Some(DictFilter::new(p, &table, file_columns)?),
            None => None,
        };
        let plan = Plan {
            key,
            columns,
            aggs,
            filter,
            pruning,
            table,
            batch_size: config.batch_size.unwrap_or(8192).max(1024),
        };
        let mode = match agg.mode() {
            AggregateMode::Single => Mode::Single,
            _ => Mode::Partial,
        };
        let file_groups: Vec<Vec<PartitionedFile>> = config
            .file_groups
            .iter()
            .map(|g| g.files().to_vec())
            .collect();
        let schema = agg.schema();
        let properties = PlanProperties::new(
            EquivalenceProperties::new(Arc::clone(&schema)),
            Partitioning::UnknownPartitioning(file_groups.len().max(1)),
            EmissionType::Final,
            Boundedness::Bounded,
        );
        Some(DictionaryAggregateExec {
            plan: Arc::new(plan),
            mode,
            file_groups,
            schema,
            properties: Arc::new(properties),
        })
    }

    /// The replacement for a final aggregate over this operator in `Partial` mode (through a
    /// repartition or a coalesce), or `None` where `node` is not one.
    fn absorbing_final(node: &Arc<dyn ExecutionPlan>) -> Option<DictionaryAggregateExec> {
        let agg = node.downcast_ref::<AggregateExec>()?;
        if !matches!(
            agg.mode(),
            AggregateMode::Final | AggregateMode::FinalPartitioned
        ) || agg.limit_options().is_some()
            || !agg.dynamic_expressions_produced().is_empty()
            || agg.filter_expr().iter().any(Option::is_some)
        {
            return None;
        }
        let mut input = agg.input();
        loop {
            if let Some(r) = input.downcast_ref::<RepartitionExec>() {
                input = r.input();
            } else if let Some(c) = input.downcast_ref::<CoalescePartitionsExec>() {
                input = c.input();
            } else {
                break;
            }
        }
        let partial = input.downcast_ref::<DictionaryAggregateExec>()?;
        let keys = usize::from(partial.plan.key.is_some());
        if partial.mode != Mode::Partial
            || agg.group_expr().expr().len() != keys
            || agg.aggr_expr().len() != partial.plan.aggs.len()
        {
            return None;
        }
        let schema = agg.schema();
        let properties = PlanProperties::new(
            EquivalenceProperties::new(Arc::clone(&schema)),
            Partitioning::UnknownPartitioning(1),
            EmissionType::Final,
            Boundedness::Bounded,
        );
        Some(DictionaryAggregateExec {
            plan: Arc::clone(&partial.plan),
            mode: Mode::Final,
            file_groups: partial.file_groups.clone(),
            schema,
            properties: Arc::new(properties),
        })
    }
}

impl DisplayAs for DictionaryAggregateExec {
    fn fmt_as(&self, _t: DisplayFormatType, f: &mut fmt::Formatter) -> fmt::Result {
        let aggs: Vec<&str> = self.plan.aggs.iter().map(|a| a.display.as_str()).collect();
        let files: usize = self.file_groups.iter().map(Vec::len).sum();
        write!(
            f,
            "DictionaryAggregateExec: mode={:?}, gby=[{}], aggr=[{}], files={files}",
            self.mode,
            self.plan.key.as_deref().unwrap_or(""),
            aggs.join(", ")
        )?;
        if let Some(p) = &self.plan.filter {
            let by_value = p.dictionary_columns().join(", ");
            if !by_value.is_empty() {
                write!(f, ", predicate by value on [{by_value}]")?;
            }
        }
        Ok(())
    }
}

impl ExecutionPlan for DictionaryAggregateExec {
    fn name(&self) -> &str {
        "DictionaryAggregateExec"
    }

    fn properties(&self) -> &Arc<PlanProperties> {
        &self.properties
    }

    fn children(&self) -> Vec<&Arc<dyn ExecutionPlan>> {
        Vec::new()
    }

    fn apply_expressions(
        &self,
        f: &mut dyn FnMut(&Arc<dyn PhysicalExpr>) -> Result<TreeNodeRecursion>,
    ) -> Result<TreeNodeRecursion> {
        let mut r = TreeNodeRecursion::Continue;
        for e in self.plan.aggs.iter().map(|a| &a.arg) {
            r = f(e)?;
            if r == TreeNodeRecursion::Stop {
                break;
            }
        }
        Ok(r)
    }

    fn with_new_children(
        self: Arc<Self>,
        children: Vec<Arc<dyn ExecutionPlan>>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        if children.is_empty() {
            Ok(self)
        } else {
            Err(DataFusionError::Internal(
                "DictionaryAggregateExec has no children".into(),
            ))
        }
    }

    fn execute(
        &self,
        partition: usize,
        _context: Arc<TaskContext>,
    ) -> Result<SendableRecordBatchStream> {
        let files = self.file_groups.get(partition).cloned().unwrap_or_default();
        let plan = Arc::clone(&self.plan);
        let schema = Arc::clone(&self.schema);
        let mut builder = RecordBatchReceiverStream::builder(Arc::clone(&schema), 2);
        let tx = builder.tx();
        if self.mode == Mode::Final {
            let groups = if partition == 0 {
                self.file_groups.clone()
            } else {
                Vec::new()
            };
            builder.spawn_blocking(move || aggregate_all(&plan, &groups, &schema, &tx));
            return Ok(builder.build());
        }
        let mode = self.mode;
        builder.spawn_blocking(move || {
            let mut local = Local::new(plan.aggs.iter().map(|a| a.kind).collect());
            if mode == Mode::Single {
                // Single mode: this operator gives the final answer, one row per key.
                let mut merged = Merged::new(local.kinds.clone(), plan.key.is_some());
                let mut sink = |local: &mut Local| {
                    local.drain(|key, values, seen, slot| merged.add_slot(key, values, seen, slot))
                };
                for file in &files {
                    if tx.is_closed() {
                        return Ok(());
                    }
                    aggregate_file(&plan, file, &mut local, &mut sink)?;
                }
                for batch in merged.finish(&schema, plan.batch_size)? {
                    if tx.blocking_send(Ok(batch)).is_err() {
                        break;
                    }
                }
            } else {
                // Partial mode: each column chunk's groups go out as they are; the final
                // aggregate merges the keys that several chunks share.
                let keyed = plan.key.is_some();
                let mut sink = |local: &mut Local| -> Result<()> {
                    let Some(mut arrays) = local.take()? else {
                        return Ok(());
                    };
                    if keyed {
                        arrays[0] = cast(&arrays[0], schema.field(0).data_type())?;
                    } else {
                        arrays.remove(0);
                    }
                    let batch = RecordBatch::try_new(Arc::clone(&schema), arrays)?;
                    // A closed channel means the query was dropped: the loop below stops.
                    let _ = tx.blocking_send(Ok(batch));
                    Ok(())
                };
                for file in &files {
                    if tx.is_closed() {
                        return Ok(());
                    }
                    aggregate_file(&plan, file, &mut local, &mut sink)?;
                }
            }
            Ok(())
        });
        Ok(builder.build())
    }
}

/// [`Mode::Final`]: every file group is read on its own thread into its files' groups,
/// bucketed by a hash of the key (keys of at most 15 bytes, packed into an integer; the rest
/// and NULL go to a map of their own); then the buckets are merged on as many threads, each
/// bucket's map small enough to stay in cache. Merging into one large map instead missed the
/// cache on nearly every key (a quarter of a top-talkers query). The answers go to `tx`.
fn aggregate_all(
    plan: &Plan,
    groups: &[Vec<PartitionedFile>],
    schema: &SchemaRef,
    tx: &tokio::sync::mpsc::Sender<Result<RecordBatch>>,
) -> Result<()> {
    let kinds: Vec<AggKind> = plan.aggs.iter().map(|a| a.kind).collect();
    let keyed = plan.key.is_some();
    let read = |files: &Vec<PartitionedFile>| -> Result<(Buckets, Merged)> {
        let mut local = Local::new(kinds.clone());
        let mut buckets = Buckets::new(kinds.len());
        let mut other = Merged::new(kinds.clone(), keyed);
        let mut sink = |local: &mut Local| {
            local.drain(|key, values, seen, slot| match key.and_then(pack) {
                Some(packed) => buckets.push(packed, values, seen, slot),
                None => other.add_slot(key, values, seen, slot),
            })
        };
        for file in files {
            if tx.is_closed() {
                break;
            }
            aggregate_file(plan, file, &mut local, &mut sink)?;
        }
        Ok((buckets, other))
    };
    let mut read: Vec<(Buckets, Merged)> = on_threads(groups.iter().map(|g| move || read(g)))?;
    let mut other = Merged::new(kinds.clone(), keyed);
    for (_, m) in &mut read {
        other.absorb(std::mem::replace(m, Merged::new(Vec::new(), keyed)));
    }
    let threads = groups.len().clamp(1, BUCKETS);
    let (read, kinds) = (&read, &kinds);
    let merged = on_threads((0..threads).map(|t| {
        move || {
            let mut out = Merged::new(kinds.clone(), true);
            let mut index: FastMap<u128, u32> = FastMap::default();
            for bucket in (t..BUCKETS).step_by(threads) {
                index.clear();
                for (b, _) in read {
                    b.merge_into(bucket, &mut index, &mut out);
                }
            }
            Ok(out)
        }
    }))?;
    let mut batches = other.finish(schema, plan.batch_size)?;
    if keyed {
        for m in merged {
            batches.extend(m.finish(schema, plan.batch_size)?);
        }
    }
    for batch in batches {
        if tx.blocking_send(Ok(batch)).is_err() {
            break;
        }
    }
    Ok(())
}

/// Hash bits that pick a bucket in [`Mode::Final`]: 64 buckets, so that one bucket's keys of a
/// lake of a few hundred thousand addresses (a few thousand keys) fit in a core's cache.
const BUCKET_BITS: u32 = 6;
const BUCKETS: usize = 1 << BUCKET_BITS;

/// A bucket's list is folded onto its distinct keys when it reaches this many entries (or
/// twice its distinct keys after the last fold), so a reader holds about its distinct keys,
/// not one entry per key and file.
const BUCKET_FOLD_AT: usize = 1 << 16;

/// Groups with packed keys, bucketed by key hash, as read (a key appears once per file until
/// its bucket is folded).
struct Buckets {
    aggs: usize,
    keys: Vec<Vec<u128>>,
    /// `aggs` states per key.
    values: Vec<Vec<i64>>,
    seen: Vec<Vec<bool>>,
    /// Per bucket: the length at which it is folded next.
    fold_at: Vec<usize>,
    /// The least of those lengths ([`BUCKET_FOLD_AT`]; smaller in tests).
    fold_min: usize,
}

impl Buckets {
    fn new(aggs: usize) -> Buckets {
        Buckets {
            aggs,
            keys: vec![Vec::new(); BUCKETS],
            values: vec![Vec::new(); BUCKETS],
            seen: vec![Vec::new(); BUCKETS],
            fold_at: vec![BUCKET_FOLD_AT; BUCKETS],
            fold_min: BUCKET_FOLD_AT,
        }
    }

    fn bucket_of(packed: u128) -> usize {
        let h = ((packed as u64) ^ ((packed >> 64) as u64).rotate_left(32))
            .wrapping_mul(0x9e37_79b9_7f4a_7c15);
        (h >> (64 - BUCKET_BITS)) as usize
    }

    fn push(&mut self, packed: u128, values: &[Vec<i64>], seen: &[Vec<bool>], slot: usize) {
        let b = Buckets::bucket_of(packed);
        self.keys[b].push(packed);
        for (v, s) in values.iter().zip(seen) {
            self.values[b].push(v.get(slot).copied().unwrap_or(0));
            self.seen[b].push(s.get(slot).copied().unwrap_or(false));
        }
        if self.keys[b].len() >= self.fold_at[b] {
            self.fold(b);
        }
    }

    /// Replaces bucket `b`'s entries by one per distinct key, states added.
    fn fold(&mut self, b: usize) {
        let n = self.aggs;
        let mut index: FastMap<u128, usize> = FastMap::default();
        let (mut keys, mut values, mut seen) = (Vec::new(), Vec::new(), Vec::new());
        for (i, &packed) in self.keys[b].iter().enumerate() {
            let g = *index.entry(packed).or_insert_with(|| {
                keys.push(packed);
                values.extend(std::iter::repeat_n(0i64, n));
                seen.extend(std::iter::repeat_n(false, n));
                keys.len() - 1
            });
            for a in 0..n {
                values[g * n + a] = values[g * n + a].wrapping_add(self.values[b][i * n + a]);
                seen[g * n + a] |= self.seen[b][i * n + a];
            }
        }
        self.fold_at[b] = (2 * keys.len()).max(self.fold_min);
        self.keys[b] = keys;
        self.values[b] = values;
        self.seen[b] = seen;
    }

    /// Adds this reader's groups of `bucket` into `out`; `index` maps packed keys to `out`'s
    /// groups (for this bucket only).
    fn merge_into(&self, bucket: usize, index: &mut FastMap<u128, u32>, out: &mut Merged) {
        let n = self.aggs;
        let (values, seen) = (&self.values[bucket], &self.seen[bucket]);
        for (i, &packed) in self.keys[bucket].iter().enumerate() {
            let g = *index.entry(packed).or_insert_with(|| {
                let bytes = packed.to_le_bytes();
                let len = usize::from(bytes[15]).min(15);
                out.add_group(Some(&String::from_utf8_lossy(&bytes[..len])))
            }) as usize;
            for a in 0..n {
                out.values[a][g] = out.values[a][g].wrapping_add(values[i * n + a]);
                out.seen[a][g] |= seen[i * n + a];
            }
        }
    }
}

/// Runs each job on a thread of its own (the first on this one) and returns their results in
/// order, or the first error.
fn on_threads<T: Send, F: FnOnce() -> Result<T> + Send>(
    jobs: impl Iterator<Item = F>,
) -> Result<Vec<T>> {
    let mut jobs: Vec<F> = jobs.collect();
    if jobs.is_empty() {
        return Ok(Vec::new());
    }
    let first = jobs.remove(0);
    std::thread::scope(|s| {
        let handles: Vec<_> = jobs.into_iter().map(|j| s.spawn(j)).collect();
        let mut out = vec![first()?];
        for h in handles {
            out.push(h.join().map_err(|_| {
                DataFusionError::Internal("a dictionary aggregation thread panicked".into())
            })??);
        }
        Ok(out)
    })
}

/// Accumulator states by dictionary key, for the column chunk being read: an array index per
/// row, no hashing. Slot `len` (one past the dictionary) is the NULL key.
struct Local {
    kinds: Vec<AggKind>,
    /// The chunk's dictionary (`None`: the file has no key column, every key is NULL).
    dictionary: Option<ArrayRef>,
    touched: Vec<bool>,
    values: Vec<Vec<i64>>,
    /// Per `sum`: whether the slot saw a non-NULL input (else its state is NULL).
    seen: Vec<Vec<bool>>,
    /// Slot of each row of the current batch.
    slots: Vec<u32>,
}

impl Local {
    fn new(kinds: Vec<AggKind>) -> Local {
        let n = kinds.len();
        Local {
            kinds,
            dictionary: None,
            touched: Vec::new(),
            values: vec![Vec::new(); n],
            seen: vec![Vec::new(); n],
            slots: Vec::new(),
        }
    }

    /// Whether the states belong to `dictionary` (so rows keyed by it can be added).
    fn holds(&self, dictionary: Option<&ArrayRef>) -> bool {
        match (&self.dictionary, dictionary) {
            (Some(a), Some(b)) => same_values(a, b),
            (None, None) => !self.touched.is_empty(),
            _ => false,
        }
    }

    /// Starts states for `dictionary`; call [`Local::take`] first.
    fn reset(&mut self, dictionary: Option<&ArrayRef>) {
        let slots = dictionary.map_or(0, |d| d.len()) + 1;
        self.dictionary = dictionary.cloned();
        self.touched.clear();
        self.touched.resize(slots, false);
        for v in &mut self.values {
            v.clear();
            v.resize(slots, 0);
        }
        for s in &mut self.seen {
            s.clear();
            s.resize(slots, false);
        }
    }

    /// Adds one batch: `keys` index the dictionary (`None`: every key is NULL); `args` are the
    /// aggregates' evaluated arguments.
    fn add(
        &mut self,
        keys: Option<&Int32Array>,
        rows: usize,
        args: &[ColumnarValue],
    ) -> Result<()> {
        let null = (self.touched.len() - 1) as u32;
        if let Some(keys) = keys.filter(|k| k.null_count() == 0) {
            // No NULL key (addresses): the keys are the slots, once checked in range.
            let raw = keys.values();
            if let Some(&k) = raw.iter().max_by_key(|&&k| k as u32) {
                if k as u32 >= null {
                    return Err(DataFusionError::Execution(format!(
                        "dictionary key {k} out of range ({null} values)"
                    )));
                }
            }
            for &k in raw.iter() {
                self.touched[k as u32 as usize] = true;
            }
            for (a, arg) in args.iter().enumerate() {
                accumulate(
                    self.kinds[a],
                    raw.iter().map(|&k| k as u32),
                    arg,
                    &mut self.values[a],
                    &mut self.seen[a],
                )?;
            }
            return Ok(());
        }
        let mut slots = std::mem::take(&mut self.slots);
        slots.clear();
        match keys {
            None => slots.resize(rows, null),
            Some(keys) => {
                for (i, &k) in keys.values().iter().enumerate() {
                    let slot = if keys.is_null(i) {
                        null
                    } else if (k as u32) < null {
                        k as u32
                    } else {
                        return Err(DataFusionError::Execution(format!(
                            "dictionary key {k} out of range ({null} values)"
                        )));
                    };
                    slots.push(slot);
                }
            }
        }
        for &s in &slots {
            self.touched[s as usize] = true;
        }
        for (a, arg) in args.iter().enumerate() {
            accumulate(
                self.kinds[a],
                slots.iter().copied(),
                arg,
                &mut self.values[a],
                &mut self.seen[a],
            )?;
        }
        self.slots = slots;
        Ok(())
    }

    /// Calls `f(key, values, seen, slot)` for each touched slot (`values[a][slot]` and
    /// `seen[a][slot]` are its states), without building arrays; the states are cleared.
    fn drain(
        &mut self,
        mut f: impl FnMut(Option<&str>, &[Vec<i64>], &[Vec<bool>], usize),
    ) -> Result<()> {
        let null = self.touched.len().saturating_sub(1);
        let dictionary = match self.dictionary.take() {
            Some(d) if d.data_type() != &DataType::Utf8 => Some(cast(&d, &DataType::Utf8)?),
            d => d,
        };
        let text = dictionary.as_ref().and_then(|d| d.as_string_opt::<i32>());
        for (slot, &touched) in self.touched.iter().enumerate() {
            if !touched {
                continue;
            }
            let key = match text {
                Some(t) if slot < null && t.is_valid(slot) => Some(t.value(slot)),
                _ => None,
            };
            f(key, &self.values, &self.seen, slot);
        }
        self.touched.clear();
        Ok(())
    }

    /// The touched slots as rows (key as Utf8, then one Int64 state per aggregate), or `None`
    /// when no row was added; the states are cleared.
    fn take(&mut self) -> Result<Option<Vec<ArrayRef>>> {
        let null = self.touched.len().saturating_sub(1);
        let picked: Vec<usize> = (0..self.touched.len())
            .filter(|&i| self.touched[i])
            .collect();
        if picked.is_empty() {
            return Ok(None);
        }
        let indices: UInt32Array = picked
            .iter()
            .map(|&i| (i < null).then_some(i as u32))
            .collect();
        let keys = match &self.dictionary {
            Some(d) => {
                let d = if d.data_type() == &DataType::Utf8 {
                    Arc::clone(d)
                } else {
                    cast(d, &DataType::Utf8)?
                };
                take(&d, &indices, None)?
            }
            None => new_null_array(&DataType::Utf8, picked.len()),
        };
        let mut arrays = vec![keys];
        for ((kind, values), seen) in self.kinds.iter().zip(&self.values).zip(&self.seen) {
            let v: Vec<i64> = picked.iter().map(|&i| values[i]).collect();
            let nulls = match kind {
                AggKind::Sum => Some(NullBuffer::from_iter(picked.iter().map(|&i| seen[i]))),
                AggKind::Count => None,
            };
            arrays.push(Arc::new(Int64Array::new(v.into(), nulls)) as ArrayRef);
        }
        self.touched.clear();
        self.dictionary = None;
        Ok(Some(arrays))
    }
}

/// Adds `arg` into `values` (and `seen`) at each row's slot.
fn accumulate(
    kind: AggKind,
    slots: impl Iterator<Item = u32>,
    arg: &ColumnarValue,
    values: &mut [i64],
    seen: &mut [bool],
) -> Result<()> {
    match arg {
        ColumnarValue::Scalar(s) => {
            if s.is_null() {
                return Ok(());
            }
            let v = match (kind, s) {
                (AggKind::Count, _) => 1,
                (AggKind::Sum, ScalarValue::Int64(Some(v))) => *v,
                (AggKind::Sum, other) => {
                    return Err(DataFusionError::Internal(format!(
                        "sum of a non-Int64 value {other:?}"
                    )))
                }
            };
            for g in slots {
                let g = g as usize;
                values[g] = values[g].wrapping_add(v);
                seen[g] = true;
            }
        }
        ColumnarValue::Array(array) => match kind {
            AggKind::Count => {
                let nulls = array.logical_nulls();
                for (i, g) in slots.enumerate() {
                    if nulls.as_ref().is_none_or(|n| n.is_valid(i)) {
                        values[g as usize] += 1;
                    }
                }
            }
            AggKind::Sum => {
                let array = array.as_primitive_opt::<Int64Type>().ok_or_else(|| {
                    DataFusionError::Internal(format!("sum of {} values", array.data_type()))
                })?;
                let raw = array.values();
                match array.nulls() {
                    None => {
                        for (g, &v) in slots.zip(raw.iter()) {
                            let g = g as usize;
                            values[g] = values[g].wrapping_add(v);
                            seen[g] = true;
                        }
                    }
                    Some(nulls) => {
                        for (i, (g, &v)) in slots.zip(raw.iter()).enumerate() {
                            if nulls.is_valid(i) {
                                let g = g as usize;
                                values[g] = values[g].wrapping_add(v);
                                seen[g] = true;
                            }
                        }
                    }
                }
            }
        },
    }
    Ok(())
}

type FastMap<K, V> = datafusion::common::HashMap<K, V>;

/// `s` packed with its length into one integer when it has at most 15 bytes: its bytes in
/// little-endian order, the length in the top byte. Built in registers: copying the bytes into
/// a buffer and loading it back as one integer stalled on store forwarding (a quarter of the
/// merge's time).
fn pack(s: &str) -> Option<u128> {
    let b = s.as_bytes();
    if b.len() > 15 {
        return None;
    }
    let word = |part: &[u8]| {
        part.iter()
            .rev()
            .fold(0u64, |w, &c| (w << 8) | u64::from(c))
    };
    let (lo, hi) = b.split_at(b.len().min(8));
    Some(u128::from(word(lo)) | (u128::from(word(hi)) << 64) | ((b.len() as u128) << 120))
}

/// All groups of one partition, for `Single` mode, where no final aggregate follows.
struct Merged {
    kinds: Vec<AggKind>,
    /// Whether there is a key column (else one group, answered even for no rows).
    keyed: bool,
    /// Keys of up to 15 bytes (addresses, names, actions), packed into one integer.
    short: FastMap<u128, u32>,
    long: FastMap<Box<str>, u32>,
    null_group: Option<u32>,
    /// Every group's key: a span of `text`, `None` for the NULL group.
    keys: Vec<Option<(u32, u32)>>,
    text: String,
    values: Vec<Vec<i64>>,
    seen: Vec<Vec<bool>>,
}

impl Merged {
    fn new(kinds: Vec<AggKind>, keyed: bool) -> Merged {
        let n = kinds.len();
        Merged {
            kinds,
            keyed,
            short: FastMap::default(),
            long: FastMap::default(),
            null_group: None,
            keys: Vec::new(),
            text: String::new(),
            values: vec![Vec::new(); n],
            seen: vec![Vec::new(); n],
        }
    }

    fn add_group(&mut self, key: Option<&str>) -> u32 {
        let g = self.keys.len() as u32;
        self.keys.push(key.map(|k| {
            let start = self.text.len() as u32;
            self.text.push_str(k);
            (start, k.len() as u32)
        }));
        for v in &mut self.values {
            v.push(0);
        }
        for s in &mut self.seen {
            s.push(false);
        }
        g
    }

    fn group(&mut self, key: Option<&str>) -> u32 {
        let Some(k) = key else {
            if let Some(g) = self.null_group {
                return g;
            }
            let g = self.add_group(None);
            self.null_group = Some(g);
            return g;
        };
        if let Some(packed) = pack(k) {
            if let Some(&g) = self.short.get(&packed) {
                return g;
            }
            let g = self.add_group(Some(k));
            self.short.insert(packed, g);
            g
        } else {
            if let Some(&g) = self.long.get(k) {
                return g;
            }
            let g = self.add_group(Some(k));
            self.long.insert(k.into(), g);
            g
        }
    }

    /// Adds slot `slot` of a [`Local`]'s states into `key`'s group (a `sum` never seen is 0).
    fn add_slot(
        &mut self,
        key: Option<&str>,
        values: &[Vec<i64>],
        seen: &[Vec<bool>],
        slot: usize,
    ) {
        let g = self.group(key) as usize;
        for (a, (v, s)) in values.iter().zip(seen).enumerate() {
            self.values[a][g] = self.values[a][g].wrapping_add(v.get(slot).copied().unwrap_or(0));
            self.seen[a][g] |= s.get(slot).copied().unwrap_or(false);
        }
    }

    /// Adds every group of `other` (of the same aggregates) into this one.
    fn absorb(&mut self, other: Merged) {
        for (g, key) in other.keys.iter().enumerate() {
            let key =
                key.and_then(|(start, len)| other.text.get(start as usize..(start + len) as usize));
            let into = self.group(key) as usize;
            for a in 0..self.values.len() {
                self.values[a][into] = self.values[a][into].wrapping_add(other.values[a][g]);
                self.seen[a][into] |= other.seen[a][g];
            }
        }
    }

    /// The groups as batches of `schema` (key, then one Int64 per aggregate).
    fn finish(mut self, schema: &SchemaRef, batch_size: usize) -> Result<Vec<RecordBatch>> {
        if !self.keyed && self.keys.is_empty() {
            self.group(None);
        }
        if self.keys.is_empty() {
            return Ok(Vec::new());
        }
        let text = &self.text;
        let keys: ArrayRef =
            Arc::new(StringArray::from_iter(self.keys.iter().map(|k| {
                k.and_then(|(start, len)| text.get(start as usize..(start + len) as usize))
            })));
        let mut columns = Vec::new();
        if self.keyed {
            columns.push(cast(&keys, schema.field(0).data_type())?);
        }
        for ((kind, values), seen) in self.kinds.iter().zip(self.values).zip(self.seen) {
            let nulls = match kind {
                AggKind::Sum if seen.iter().any(|s| !s) => Some(NullBuffer::from(seen)),
                _ => None,
            };
            columns.push(Arc::new(Int64Array::new(values.into(), nulls)));
        }
        let batch = RecordBatch::try_new(Arc::clone(schema), columns)?;
        let mut out = Vec::new();
        let mut offset = 0;
        while offset < batch.num_rows() {
            let len = batch_size.min(batch.num_rows() - offset);
            out.push(batch.slice(offset, len));
            offset += len;
        }
        Ok(out)
    }
}

/// Whether two arrays are views of the same memory (same type, length, offset and buffers).
pub(crate) fn same_values(a: &ArrayRef, b: &ArrayRef) -> bool {
    let (a, b) = (a.to_data(), b.to_data());
    a.data_type() == b.data_type()
        && a.len() == b.len()
        && a.offset() == b.offset()
        && a.buffers().len() == b.buffers().len()
        && a.buffers()
            .iter()
            .zip(b.buffers())
            .all(|(x, y)| x.as_ptr() == y.as_ptr() && x.len() == y.len())
        && a.nulls().map(|n| n.buffer().as_ptr()) == b.nulls().map(|n| n.buffer().as_ptr())
}

/// The local path of a scanned file.
fn local_path(file: &PartitionedFile) -> Result<PathBuf> {
    LocalFileSystem::new()
        .path_to_filesystem(&file.object_meta.location)
        .map_err(|e| DataFusionError::External(Box::new(e)))
}

/// Row-group statistics of one file for the pruning predicate, typed as the table's columns.
struct RowGroupStats<'a> {
    metadata: &'a ParquetMetaData,
    file_schema: &'a Schema,
    table: &'a Schema,
    groups: &'a [usize],
}

impl RowGroupStats<'_> {
    fn row_groups(&self) -> impl Iterator<Item = &RowGroupMetaData> {
        self.groups.iter().map(|&i| self.metadata.row_group(i))
    }

    fn converter(&self, column: &LogicalColumn) -> Option<StatisticsConverter<'_>> {
        StatisticsConverter::try_new(
            column.name(),
            self.file_schema,
            self.metadata.file_metadata().schema_descr(),
        )
        .ok()
    }

    fn typed(&self, column: &LogicalColumn, array: ArrayRef) -> Option<ArrayRef> {
        let field = self.table.field_with_name(column.name()).ok()?;
        if array.data_type() == field.data_type() {
            Some(array)
        } else {
            cast(&array, field.data_type()).ok()
        }
    }
}

impl PruningStatistics for RowGroupStats<'_> {
    fn min_values(&self, column: &LogicalColumn) -> Option<ArrayRef> {
        let a = self
            .converter(column)?
            .row_group_mins(self.row_groups())
            .ok()?;
        self.typed(column, a)
    }

    fn max_values(&self, column: &LogicalColumn) -> Option<ArrayRef> {
        let a = self
            .converter(column)?
            .row_group_maxes(self.row_groups())
            .ok()?;
        self.typed(column, a)
    }

    fn num_containers(&self) -> usize {
        self.groups.len()
    }

    fn null_counts(&self, column: &LogicalColumn) -> Option<ArrayRef> {
        let a = self
            .converter(column)?
            .row_group_null_counts(self.row_groups())
            .ok()?;
        Some(Arc::new(a))
    }

    fn row_counts(&self) -> Option<ArrayRef> {
        let counts: UInt64Array = self
            .row_groups()
            .map(|g| Some(g.num_rows() as u64))
            .collect();
        Some(Arc::new(counts))
    }

    fn contained(
        &self,
        _column: &LogicalColumn,
        _values: &HashSet<ScalarValue>,
    ) -> Option<BooleanArray> {
        None
    }
}

/// Adds the rows of one scanned file (or of its byte range) to `groups`.
fn aggregate_file(
    plan: &Plan,
    file: &PartitionedFile,
    local: &mut Local,
    sink: &mut dyn FnMut(&mut Local) -> Result<()>,
) -> Result<()> {
    let path = local_path(file)?;
    let context =
        |e: &dyn fmt::Display| DataFusionError::Execution(format!("{}: {e}", path.display()));
    let f = File::open(&path).map_err(|e| context(&e))?;
    let loaded =
        ArrowReaderMetadata::load(&f, ArrowReaderOptions::new()).map_err(|e| context(&e))?;
    let metadata = Arc::clone(loaded.metadata());
    let file_schema = Arc::clone(loaded.schema());

    // Row groups: those starting in this file range (DataFusion's rule: the first column's
    // first page offset), then those the predicate's statistics do not rule out.
    let mut row_groups: Vec<usize> = (0..metadata.num_row_groups())
        .filter(|&i| match &file.range {
            None => true,
            Some(r) => {
                let col = metadata.row_group(i).column(0);
                let offset = col
                    .dictionary_page_offset()
                    .unwrap_or_else(|| col.data_page_offset());
                r.start <= offset && offset < r.end
            }
        })
        .collect();
    if let (Some(pruning), false) = (&plan.pruning, row_groups.is_empty()) {
        let stats = RowGroupStats {
            metadata: &metadata,
            file_schema: &file_schema,
            table: &plan.table,
            groups: &row_groups,
        };
        if let Ok(keep) = pruning.prune(&stats) {
            row_groups = row_groups
                .into_iter()
                .zip(keep)
                .filter_map(|(g, k)| k.then_some(g))
                .collect();
        }
    }
    if row_groups.is_empty() {
        return Ok(());
    }

    // Read the key and the text columns the predicate tests by value as dictionaries,
    // everything else as the file stores it.
    let by_value = plan
        .filter
        .as_ref()
        .map_or(&[][..], |f| f.dictionary_columns());
    let as_dictionary =
        |name: &str| plan.key.as_deref() == Some(name) || by_value.iter().any(|c| c == name);
    let hint: Vec<Field> = file_schema
        .fields()
        .iter()
        .map(|f| {
            let f = f.as_ref().clone();
            if as_dictionary(f.name()) {
                f.with_data_type(DataType::Dictionary(
                    Box::new(DataType::Int32),
                    Box::new(DataType::Utf8),
                ))
            } else {
                f
            }
        })
        .collect();
    let options = ArrowReaderOptions::new().with_schema(Arc::new(Schema::new(hint)));
    let loaded = ArrowReaderMetadata::try_new(metadata, options).map_err(|e| context(&e))?;
    let descr = loaded.metadata().file_metadata().schema_descr_ptr();
    let roots_of = |names: &mut dyn Iterator<Item = &str>| -> Vec<usize> {
        let mut roots: Vec<usize> = names.filter_map(|n| file_schema.index_of(n).ok()).collect();
        roots.sort_unstable();
        roots.dedup();
        roots
    };
    let main_roots = roots_of(
        &mut plan.key.as_deref().into_iter().chain(
            plan.columns
                .schema
                .fields()
                .iter()
                .map(|f| f.name().as_str()),
        ),
    );
    let mut builder = ParquetRecordBatchReaderBuilder::new_with_metadata(f, loaded)
        .with_projection(ProjectionMask::roots(&descr, main_roots))
        .with_row_groups(row_groups)
        // Without a predicate, larger batches than the session's: fewer per-batch costs in the
        // reader (nothing but the accumulators outlives a batch). With one, the session's: the
        // row filter's buffers for 64 Ki rows tripled the system time (page faults) of a
        // filtered top-N.
        .with_batch_size(if plan.filter.is_some() {
            plan.batch_size
        } else {
            plan.batch_size * 8
        });
    // The predicate runs while decoding (the other columns are decoded only for passing rows)
    // when it reads a column of this file; otherwise it is a constant for the file (NULLs and
    // partition values), evaluated below.
    let mut after = None;
    if let Some(filter) = &plan.filter {
        let roots = roots_of(&mut filter.file_columns());
        let mut filter = filter.clone();
        if roots.is_empty() {
            after = Some(filter);
        } else {
            let values = file.partition_values.clone();
            let predicate = ArrowPredicateFn::new(
                ProjectionMask::roots(&descr, roots),
                move |batch: RecordBatch| {
                    filter
                        .evaluate(&batch, &values)
                        .map_err(|e| ArrowError::ExternalError(Box::new(e)))
                },
            );
            builder = builder.with_row_filter(RowFilter::new(vec![Box::new(predicate)]));
        }
    }
    let reader = builder.build().map_err(|e| context(&e))?;

    for batch in reader {
        let mut batch = batch.map_err(|e| context(&e))?;
        if let Some(filter) = &mut after {
            let mask = filter.evaluate(&batch, &file.partition_values)?;
            batch = filter_record_batch(&batch, &mask)?;
        }
        let n = batch.num_rows();
        if n == 0 {
            continue;
        }
        let key_array = match plan.key.as_deref().and_then(|k| batch.column_by_name(k)) {
            Some(a) => Some(
                a.as_any()
                    .downcast_ref::<DictionaryArray<Int32Type>>()
                    .ok_or_else(|| context(&"the key column is not read as a dictionary"))?
                    .clone(),
            ),
            None => None,
        };
        let dictionary = key_array.as_ref().map(|d| d.values());
        if !local.holds(dictionary) {
            sink(local)?;
            local.reset(dictionary);
        }
        let view = plan.columns.view(&batch, &file.partition_values)?;
        let args: Vec<ColumnarValue> = plan
            .aggs
            .iter()
            .map(|a| a.arg.evaluate(&view))
            .collect::<Result<_>>()?;
        local.add(key_array.as_ref().map(|k| k.keys()), n, &args)?;
    }
    // Each file has its own dictionaries: hand this file's groups on.
    sink(local)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pack_is_the_bytes_then_the_length() {
        let mut seen = std::collections::HashSet::new();
        for s in [
            "",
            "a",
            "10.0.0.1",
            "255.255.255.255",
            "abcdefgh",
            "abcdefghi",
            "x\u{e9}",
        ] {
            let mut buf = [0u8; 16];
            buf[..s.len()].copy_from_slice(s.as_bytes());
            buf[15] = s.len() as u8;
            assert_eq!(pack(s), Some(u128::from_le_bytes(buf)), "{s:?}");
            assert!(seen.insert(pack(s)), "{s:?} collides");
        }
        assert_eq!(pack("2001:db8::dead:beef"), None, "longer than 15 bytes");
        // A trailing NUL byte does not collide with the shorter key: the length differs.
        assert_ne!(pack("a\0"), pack("a"));
    }

    #[test]
    fn folded_buckets_keep_every_sum() {
        // Three slots of a reader's states: 5, never seen (NULL), -2.
        let values = vec![vec![5, 0, -2]];
        let seen = vec![vec![true, false, true]];
        let mut b = Buckets::new(1);
        b.fold_min = 1000;
        b.fold_at = vec![1000; BUCKETS];
        // 300 k entries over 50 k keys (780 a bucket): every bucket folds several times.
        let keys: Vec<u128> = (0..50_000u32)
            .map(|i| pack(&format!("10.0.{}.{}", i / 256, i % 256)).unwrap_or_default())
            .collect();
        for round in 0..6 {
            for (i, &k) in keys.iter().enumerate() {
                b.push(k, &values, &seen, (i + round) % 3);
            }
        }
        let entries: usize = b.keys.iter().map(Vec::len).sum();
        assert!(
            entries <= 100_000,
            "folded: {entries} entries are left of 300,000"
        );
        let mut out = Merged::new(vec![AggKind::Sum], true);
        let mut index = FastMap::default();
        for bucket in 0..BUCKETS {
            index.clear();
            b.merge_into(bucket, &mut index, &mut out);
        }
        assert_eq!(out.keys.len(), 50_000);
        // Each key saw rows (i + round) % 3 for six rounds: each row twice, 2 * (5 - 2) = 6.
        assert!(out.values[0].iter().all(|&v| v == 6), "sums");
        assert!(out.seen[0].iter().all(|&s| s));
    }

    #[test]
    fn buckets_spread_addresses() {
        let spread: std::collections::HashSet<usize> = (0..4096)
            .filter_map(|i| pack(&format!("10.{}.{}.{}", i / 256, i % 256, i % 7)))
            .map(Buckets::bucket_of)
            .collect();
        assert_eq!(spread.len(), BUCKETS, "4,096 addresses reach every bucket");
    }
}
