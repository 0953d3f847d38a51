//! Predicates evaluated once per distinct value: the part of a scan's predicate that reads one
//! text column (`src_ip = '203.0.113.77'`, `in_cidr(dst_ip, '10.0.0.0/8')`, `action LIKE 'd%'`)
//! is evaluated over that column's dictionary (a few thousand values per file) instead of over
//! every row, and the answer is spread to the rows by their dictionary keys.
//!
//! A predicate becomes a tree: `AND`, `OR` and `NOT` nodes (three-valued, as SQL), leaves that
//! read exactly one text column of the files and are row-independent (no volatile function, no
//! dynamic filter) evaluated per value, and any other leaf evaluated on the rows as usual. A NULL
//! key is evaluated as a NULL value, so `src_ip IS NULL` and `NOT (...)` keep their meaning.

use std::sync::Arc;

use datafusion::arrow::array::{
    new_null_array, Array, ArrayRef, AsArray, BooleanArray, DictionaryArray, RecordBatch,
    RecordBatchOptions,
};
use datafusion::arrow::buffer::{BooleanBuffer, NullBuffer};
use datafusion::arrow::compute::kernels::boolean::{and_kleene, not, or_kleene};
use datafusion::arrow::compute::{cast, concat, prep_null_mask_filter};
use datafusion::arrow::datatypes::{Int32Type, Schema, SchemaRef};
use datafusion::common::tree_node::TreeNode;
use datafusion::common::{DataFusionError, Result, ScalarValue};
use datafusion::logical_expr::{Operator, Volatility};
use datafusion::physical_expr::expressions::{BinaryExpr, DynamicFilterPhysicalExpr, NotExpr};
use datafusion::physical_expr::utils::{collect_columns, reassign_expr_columns};
use datafusion::physical_expr::{PhysicalExpr, ScalarFunctionExpr};

/// Where a predicate column comes from.
#[derive(Debug, Clone)]
pub(crate) enum Source {
    /// A column of the files, by name; cast to the table's type when the file stores another.
    File,
    /// A Hive partition column: index into the file's partition values.
    Partition(usize),
}

/// Columns by name with the table's types and their sources: what a batch is turned into
/// before an expression over the table's columns is evaluated on it.
#[derive(Debug, Clone)]
pub(crate) struct Columns {
    pub schema: SchemaRef,
    pub sources: Vec<Source>,
}

impl Columns {
    /// `names` of `table`, whose first `file_columns` columns are in the files.
    pub fn of(table: &Schema, file_columns: usize, names: &[String]) -> Option<Columns> {
        let mut fields = Vec::new();
        let mut sources = Vec::new();
        for name in names {
            let i = table.index_of(name).ok()?;
            // Nullable whatever the table says: a file may lack the column.
            fields.push(table.field(i).clone().with_nullable(true));
            sources.push(if i < file_columns {
                Source::File
            } else {
                Source::Partition(i - file_columns)
            });
        }
        Some(Columns {
            schema: Arc::new(Schema::new(fields)),
            sources,
        })
    }

    /// `batch` (columns read from one file, by name) as these columns: cast to the table's
    /// types, NULL where the file lacks a column, partition columns from `partition_values`.
    pub fn view(
        &self,
        batch: &RecordBatch,
        partition_values: &[ScalarValue],
    ) -> Result<RecordBatch> {
        let rows = batch.num_rows();
        let mut columns = Vec::with_capacity(self.sources.len());
        for (field, source) in self.schema.fields().iter().zip(&self.sources) {
            let array = match source {
                Source::Partition(i) => match partition_values.get(*i) {
                    Some(v) => cast(&v.to_array_of_size(rows)?, field.data_type())?,
                    None => new_null_array(field.data_type(), rows),
                },
                Source::File => match batch.column_by_name(field.name()) {
                    Some(a) if a.data_type() == field.data_type() => Arc::clone(a),
                    Some(a) => cast(a, field.data_type())?,
                    None => new_null_array(field.data_type(), rows),
                },
            };
            columns.push(array);
        }
        Ok(RecordBatch::try_new_with_options(
            Arc::clone(&self.schema),
            columns,
            &RecordBatchOptions::new().with_row_count(Some(rows)),
        )?)
    }
}

/// Whether `expr` gives each row an answer that depends on that row's values alone.
fn row_independent(expr: &Arc<dyn PhysicalExpr>) -> bool {
    !expr
        .exists(|e| {
            Ok(e.downcast_ref::<DynamicFilterPhysicalExpr>().is_some()
                || e.downcast_ref::<ScalarFunctionExpr>()
                    .is_some_and(|f| f.fun().signature().volatility == Volatility::Volatile))
        })
        .unwrap_or(true)
}

/// A leaf evaluated over the distinct values of one text column.
#[derive(Debug, Clone)]
struct ValuesLeaf {
    column: String,
    /// The leaf, over a schema of that one column.
    expr: Arc<dyn PhysicalExpr>,
    schema: SchemaRef,
    /// The leaf's answers for the dictionary last seen.
    cache: Option<Answers>,
}

/// A leaf's answer for each value of a dictionary, then for NULL.
#[derive(Debug, Clone)]
struct Answers {
    dictionary: ArrayRef,
    /// True where the answer is TRUE.
    truth: Vec<bool>,
    /// False where the answer is NULL.
    valid: Vec<bool>,
    /// Summary of the answers for the dictionary's values (the NULL key's slot aside), for
    /// rows without NULL keys: how many are TRUE, which one if just one, whether none is NULL.
    trues: usize,
    only_true: Option<usize>,
    values_valid: bool,
}

#[derive(Debug, Clone)]
enum Node {
    And(Box<Node>, Box<Node>),
    Or(Box<Node>, Box<Node>),
    Not(Box<Node>),
    Values(ValuesLeaf),
    /// Evaluated on the rows, over [`DictFilter::columns`].
    Rows(Arc<dyn PhysicalExpr>),
}

/// A scan predicate evaluated with dictionary-encoded text columns; see the module docs.
#[derive(Debug, Clone)]
pub(crate) struct DictFilter {
    root: Node,
    /// The predicate's columns: row leaves are evaluated over them.
    columns: Columns,
    /// Text columns of the files that value leaves read: read them as dictionaries.
    dictionary_columns: Vec<String>,
}

impl DictFilter {
    /// The filter for `predicate` over `table` (first `file_columns` in the files), or `None`
    /// when part of it cannot be placed.
    pub fn new(
        predicate: &Arc<dyn PhysicalExpr>,
        table: &Schema,
        file_columns: usize,
    ) -> Option<DictFilter> {
        let names: Vec<String> = collect_columns(predicate)
            .into_iter()
            .map(|c| c.name().to_string())
            .collect();
        let columns = Columns::of(table, file_columns, &names)?;
        let mut dictionary_columns = Vec::new();
        let root = build(
            predicate,
            table,
            file_columns,
            &columns.schema,
            &mut dictionary_columns,
        )?;
        Some(DictFilter {
            root,
            columns,
            dictionary_columns,
        })
    }

    /// The file columns the predicate reads.
    pub fn file_columns(&self) -> impl Iterator<Item = &str> {
        self.columns
            .schema
            .fields()
            .iter()
            .zip(&self.columns.sources)
            .filter(|(_, s)| matches!(s, Source::File))
            .map(|(f, _)| f.name().as_str())
    }

    /// The columns to read as dictionaries.
    pub fn dictionary_columns(&self) -> &[String] {
        &self.dictionary_columns
    }

    /// Which rows of `batch` pass (NULL counts as not passing). `batch` holds the predicate's
    /// file columns by name, value-leaf columns as `Dictionary(Int32, Utf8)`.
    pub fn evaluate(
        &mut self,
        batch: &RecordBatch,
        partition_values: &[ScalarValue],
    ) -> Result<BooleanArray> {
        let mut view = None;
        let result = eval(
            &mut self.root,
            batch,
            partition_values,
            &self.columns,
            &mut view,
        )?;
        Ok(if result.null_count() > 0 {
            prep_null_mask_filter(&result)
        } else {
            result
        })
    }
}

fn build(
    expr: &Arc<dyn PhysicalExpr>,
    table: &Schema,
    file_columns: usize,
    columns: &SchemaRef,
    dictionary_columns: &mut Vec<String>,
) -> Option<Node> {
    let mut sub = |e: &Arc<dyn PhysicalExpr>| {
        build(e, table, file_columns, columns, dictionary_columns).map(Box::new)
    };
    if let Some(b) = expr.downcast_ref::<BinaryExpr>() {
        match b.op() {
            Operator::And => return Some(Node::And(sub(b.left())?, sub(b.right())?)),
            Operator::Or => return Some(Node::Or(sub(b.left())?, sub(b.right())?)),
            _ => {}
        }
    }
    if let Some(n) = expr.downcast_ref::<NotExpr>() {
        return Some(Node::Not(sub(n.arg())?));
    }
    let used = collect_columns(expr);
    if let (1, true) = (used.len(), row_independent(expr)) {
        let name = used.iter().next()?.name();
        let i = table.index_of(name).ok()?;
        let field = table.field(i);
        if i < file_columns && crate::dict_agg::is_text(field.data_type()) {
            // Nullable: the leaf is also evaluated for the NULL key.
            let schema = Arc::new(Schema::new(vec![field.clone().with_nullable(true)]));
            let leaf = reassign_expr_columns(Arc::clone(expr), &schema).ok()?;
            if !dictionary_columns.iter().any(|c| c == name) {
                dictionary_columns.push(name.to_string());
            }
            return Some(Node::Values(ValuesLeaf {
                column: name.to_string(),
                expr: leaf,
                schema,
                cache: None,
            }));
        }
    }
    Some(Node::Rows(
        reassign_expr_columns(Arc::clone(expr), columns).ok()?,
    ))
}

fn boolean(array: ArrayRef) -> Result<BooleanArray> {
    array
        .as_boolean_opt()
        .cloned()
        .ok_or_else(|| DataFusionError::Internal("predicate is not boolean".into()))
}

fn eval(
    node: &mut Node,
    batch: &RecordBatch,
    partition_values: &[ScalarValue],
    columns: &Columns,
    view: &mut Option<RecordBatch>,
) -> Result<BooleanArray> {
    let rows = batch.num_rows();
    match node {
        Node::And(l, r) => {
            let l = eval(l, batch, partition_values, columns, view)?;
            let r = eval(r, batch, partition_values, columns, view)?;
            Ok(and_kleene(&l, &r)?)
        }
        Node::Or(l, r) => {
            let l = eval(l, batch, partition_values, columns, view)?;
            let r = eval(r, batch, partition_values, columns, view)?;
            Ok(or_kleene(&l, &r)?)
        }
        Node::Not(a) => Ok(not(&eval(a, batch, partition_values, columns, view)?)?),
        Node::Rows(expr) => {
            if view.is_none() {
                *view = Some(columns.view(batch, partition_values)?);
            }
            let v = view
                .as_ref()
                .ok_or_else(|| DataFusionError::Internal("no view".into()))?;
            boolean(expr.evaluate(v)?.into_array(rows)?)
        }
        Node::Values(leaf) => eval_values(leaf, batch),
    }
}

fn eval_values(leaf: &mut ValuesLeaf, batch: &RecordBatch) -> Result<BooleanArray> {
    let rows = batch.num_rows();
    let field = leaf.schema.field(0);
    let one = |array: ArrayRef| -> Result<BooleanArray> {
        let n = array.len();
        let b = RecordBatch::try_new(Arc::clone(&leaf.schema), vec![array])?;
        boolean(leaf.expr.evaluate(&b)?.into_array(n)?)
    };
    let Some(column) = batch.column_by_name(&leaf.column) else {
        // The file lacks the column: every row is NULL there.
        return one(new_null_array(field.data_type(), rows));
    };
    let Some(dict) = column.as_any().downcast_ref::<DictionaryArray<Int32Type>>() else {
        // Not read as a dictionary: evaluate on the rows.
        let typed = if column.data_type() == field.data_type() {
            Arc::clone(column)
        } else {
            cast(column, field.data_type())?
        };
        return one(typed);
    };
    let values = dict.values();
    let fresh = match &leaf.cache {
        Some(a) => !crate::dict_agg::same_values(&a.dictionary, values),
        None => true,
    };
    if fresh {
        let typed = cast(values, field.data_type())?;
        let with_null = concat(&[
            typed.as_ref(),
            new_null_array(field.data_type(), 1).as_ref(),
        ])?;
        let answers = one(with_null)?;
        if answers.len() != values.len() + 1 {
            return Err(DataFusionError::Internal(format!(
                "{} answers for {} dictionary values and NULL",
                answers.len(),
                values.len()
            )));
        }
        let truth: Vec<bool> = (0..answers.len())
            .map(|i| answers.is_valid(i) && answers.value(i))
            .collect();
        let valid: Vec<bool> = (0..answers.len()).map(|i| answers.is_valid(i)).collect();
        let of_values = &truth[..values.len()];
        let trues = of_values.iter().filter(|&&t| t).count();
        leaf.cache = Some(Answers {
            dictionary: Arc::clone(values),
            only_true: if trues == 1 {
                of_values.iter().position(|&t| t)
            } else {
                None
            },
            trues,
            values_valid: valid[..values.len()].iter().all(|&v| v),
            truth,
            valid,
        });
    }
    let answers = leaf
        .cache
        .as_ref()
        .ok_or_else(|| DataFusionError::Internal("no cached answers".into()))?;
    // Spread the answers to the rows: slot `values.len()` is the NULL key's answer.
    let null = values.len();
    let keys = dict.keys();
    let raw = keys.values();
    if keys.null_count() == 0 {
        // The common case, an address column: no NULL key, so the NULL slot never counts. A
        // lookup matches no value of most files, or one: no table lookup per row then (the
        // per-row lookups were a fifth of an IP lookup's CPU).
        let truth = match (answers.trues, answers.only_true) {
            (0, _) => BooleanBuffer::new_unset(rows),
            (t, _) if t == null => BooleanBuffer::new_set(rows),
            (_, Some(k)) => {
                let k = k as i32;
                BooleanBuffer::collect_bool(rows, |i| raw[i] == k)
            }
            _ => BooleanBuffer::collect_bool(rows, |i| {
                answers.truth.get(raw[i] as usize).copied().unwrap_or(false)
            }),
        };
        let nulls = (!answers.values_valid).then(|| {
            NullBuffer::new(BooleanBuffer::collect_bool(rows, |i| {
                answers.valid.get(raw[i] as usize).copied().unwrap_or(false)
            }))
        });
        return Ok(BooleanArray::new(truth, nulls));
    }
    let slot = |i: usize| match keys.nulls() {
        Some(n) if n.is_null(i) => null,
        _ => raw[i] as usize,
    };
    let truth = BooleanBuffer::collect_bool(rows, |i| {
        answers.truth.get(slot(i)).copied().unwrap_or(false)
    });
    let nulls = if answers.valid.iter().all(|&v| v) {
        None
    } else {
        Some(NullBuffer::new(BooleanBuffer::collect_bool(rows, |i| {
            answers.valid.get(slot(i)).copied().unwrap_or(false)
        })))
    };
    Ok(BooleanArray::new(truth, nulls))
}
