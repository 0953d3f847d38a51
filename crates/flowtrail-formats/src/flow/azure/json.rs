//! The shape of Azure flow-log JSON, read with borrowed strings and no `serde_json::Value`.
//!
//! Every string that contains no JSON escape (all tuples and ids in practice) is borrowed from
//! the input, so a `PT1H.json` of 100k tuples costs a handful of `Vec` allocations, not 100k
//! `String`s. The readers are lenient about types: a field of the wrong JSON type reads as absent
//! (and a tuple that is not a string as [`Json::Other`]) instead of failing the whole document,
//! so one odd record costs one rejection, not the hour. Only invalid JSON fails a document.
//!
//! Nesting is bounded by `serde_json`'s recursion limit (128), which also bounds the recursion
//! over nested `records` in the decoder.

use std::borrow::Cow;
use std::fmt;

use serde::de::{self, Deserialize, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

/// A JSON value that is either a string (borrowed when unescaped) or something else.
#[derive(Debug)]
pub(super) enum Json<'a> {
    Str(Cow<'a, str>),
    /// Not a string: the JSON type's name, for the rejection reason.
    Other(&'static str),
}

impl<'a> Json<'a> {
    /// Returns the string, if the value was one.
    pub(super) fn as_str(&self) -> Option<&str> {
        match self {
            Json::Str(s) => Some(s),
            Json::Other(_) => None,
        }
    }
}

/// An optional string field: `None` when absent or not a string.
pub(super) fn text<'b>(v: &'b Option<Json<'_>>) -> Option<&'b str> {
    v.as_ref().and_then(Json::as_str)
}

impl<'de> Deserialize<'de> for Json<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(JsonVisitor)
    }
}

struct JsonVisitor;

impl<'de> Visitor<'de> for JsonVisitor {
    type Value = Json<'de>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Json::Str(Cow::Borrowed(v)))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Json::Str(Cow::Owned(v.to_owned())))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
        Ok(Json::Str(Cow::Owned(v)))
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
        Ok(Json::Other("boolean"))
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
        Ok(Json::Other("number"))
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
        Ok(Json::Other("number"))
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
        Ok(Json::Other("number"))
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(Json::Other("null"))
    }
    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(Json::Other("null"))
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        drain_map(map)?;
        Ok(Json::Other("object"))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
        drain_seq(seq)?;
        Ok(Json::Other("array"))
    }
}

fn drain_map<'de, A: MapAccess<'de>>(mut map: A) -> Result<(), A::Error> {
    while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
    Ok(())
}

fn drain_seq<'de, A: SeqAccess<'de>>(mut seq: A) -> Result<(), A::Error> {
    while seq.next_element::<IgnoredAny>()?.is_some() {}
    Ok(())
}

use crate::util::non_objects_are_default;

/// A JSON array of `T`; `None` when the value is not an array.
pub(super) struct List<T>(pub Option<Vec<T>>);

impl<T> Default for List<T> {
    fn default() -> Self {
        List(None)
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for List<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(ListVisitor(std::marker::PhantomData))
    }
}

struct ListVisitor<T>(std::marker::PhantomData<T>);

impl<'de, T: Deserialize<'de>> Visitor<'de> for ListVisitor<T> {
    type Value = List<T>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an array")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        // The hint comes from the input; cap it so a lying hint cannot reserve much.
        let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(1024));
        while let Some(v) = seq.next_element::<T>()? {
            out.push(v);
        }
        Ok(List(Some(out)))
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
        Ok(List(None))
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
        Ok(List(None))
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
        Ok(List(None))
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
        Ok(List(None))
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<Self::Value, E> {
        Ok(List(None))
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(List(None))
    }
    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(List(None))
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        drain_map(map)?;
        Ok(List(None))
    }
}

use crate::util::Key;

/// Declares an object type read field by field; unknown keys and non-objects are ignored.
macro_rules! object {
    ($name:ident, $visitor:ident, |$rec:ident, $key:ident, $map:ident| $body:block) => {
        impl<'de> Deserialize<'de> for $name<'de> {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                d.deserialize_any($visitor)
            }
        }

        struct $visitor;

        impl<'de> Visitor<'de> for $visitor {
            type Value = $name<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut $map: A) -> Result<Self::Value, A::Error> {
                let mut $rec = $name::default();
                $rec.is_object = true;
                while let Some(Key($key)) = $map.next_key::<Key<'de>>()? {
                    $body
                }
                Ok($rec)
            }
            non_objects_are_default!();
        }
    };
}

/// One flow-log record (NSG or VNet), or a `{"records": [...]}` document.
#[derive(Default)]
pub(super) struct Record<'a> {
    /// False when the JSON value was not an object.
    pub is_object: bool,
    /// Nested records: set for a `{"records": [...]}` document.
    pub records: Option<Vec<Record<'a>>>,
    pub category: Option<Json<'a>>,
    pub operation_name: Option<Json<'a>>,
    /// NSG: the NSG resource id.
    pub resource_id: Option<Json<'a>>,
    pub mac_address: Option<Json<'a>>,
    /// NSG: `properties` was present as an object (whether or not it held `flows`).
    pub has_properties: bool,
    /// NSG: `properties.flows[]` (one per rule).
    pub nsg_rules: Option<Vec<NsgRule<'a>>>,
    /// VNet: `flowRecords` was present as an object.
    pub has_flow_records: bool,
    /// VNet: `flowRecords.flows[]` (one per ACL).
    pub vnet_acls: Option<Vec<VnetAcl<'a>>>,
    pub has_flow_log_version: bool,
    pub flow_log_resource_id: Option<Json<'a>>,
    pub target_resource_id: Option<Json<'a>>,
    /// Collector-flattened records (one tuple per object, as Sekoia's collector writes them):
    /// `rule`, `aclID` and the `flow.<n>` keys at record level.
    pub rule: Option<Json<'a>>,
    pub acl_id: Option<Json<'a>>,
    pub flat_tuples: Vec<Json<'a>>,
}

object!(Record, RecordVisitor, |rec, key, map| {
    match key.as_ref() {
        "records" => rec.records = map.next_value::<List<Record<'de>>>()?.0,
        "category" => rec.category = Some(map.next_value()?),
        "operationName" => rec.operation_name = Some(map.next_value()?),
        "resourceId" => rec.resource_id = Some(map.next_value()?),
        "macAddress" => rec.mac_address = Some(map.next_value()?),
        "properties" => {
            let properties = map.next_value::<Properties<'de>>()?;
            rec.has_properties = properties.is_object;
            rec.nsg_rules = properties.flows;
        }
        "flowRecords" => {
            let flow_records = map.next_value::<FlowRecords<'de>>()?;
            rec.has_flow_records = flow_records.is_object;
            rec.vnet_acls = flow_records.flows;
        }
        "flowLogVersion" => {
            rec.has_flow_log_version = true;
            map.next_value::<IgnoredAny>()?;
        }
        "flowLogResourceID" => rec.flow_log_resource_id = Some(map.next_value()?),
        "targetResourceID" => rec.target_resource_id = Some(map.next_value()?),
        "rule" => rec.rule = Some(map.next_value()?),
        "aclID" => rec.acl_id = Some(map.next_value()?),
        k if k.starts_with("flow.") => rec.flat_tuples.push(map.next_value()?),
        _ => {
            map.next_value::<IgnoredAny>()?;
        }
    }
});

/// NSG `properties`.
#[derive(Default)]
struct Properties<'a> {
    is_object: bool,
    flows: Option<Vec<NsgRule<'a>>>,
}

object!(Properties, PropertiesVisitor, |rec, key, map| {
    match key.as_ref() {
        "flows" => rec.flows = map.next_value::<List<NsgRule<'de>>>()?.0,
        _ => {
            map.next_value::<IgnoredAny>()?;
        }
    }
});

/// NSG `properties.flows[]`: one rule and the NICs it matched on.
#[derive(Default)]
pub(super) struct NsgRule<'a> {
    pub is_object: bool,
    pub rule: Option<Json<'a>>,
    pub nics: Option<Vec<NsgNic<'a>>>,
}

object!(NsgRule, NsgRuleVisitor, |rec, key, map| {
    match key.as_ref() {
        "rule" => rec.rule = Some(map.next_value()?),
        "flows" => rec.nics = map.next_value::<List<NsgNic<'de>>>()?.0,
        _ => {
            map.next_value::<IgnoredAny>()?;
        }
    }
});

/// NSG `properties.flows[].flows[]`: one NIC and its tuples.
#[derive(Default)]
pub(super) struct NsgNic<'a> {
    pub is_object: bool,
    pub mac: Option<Json<'a>>,
    pub tuples: Option<Vec<Json<'a>>>,
}

object!(NsgNic, NsgNicVisitor, |rec, key, map| {
    match key.as_ref() {
        "mac" => rec.mac = Some(map.next_value()?),
        "flowTuples" => rec.tuples = map.next_value::<List<Json<'de>>>()?.0,
        _ => {
            map.next_value::<IgnoredAny>()?;
        }
    }
});

/// VNet `flowRecords`.
#[derive(Default)]
struct FlowRecords<'a> {
    is_object: bool,
    flows: Option<Vec<VnetAcl<'a>>>,
}

object!(FlowRecords, FlowRecordsVisitor, |rec, key, map| {
    match key.as_ref() {
        "flows" => rec.flows = map.next_value::<List<VnetAcl<'de>>>()?.0,
        _ => {
            map.next_value::<IgnoredAny>()?;
        }
    }
});

/// VNet `flowRecords.flows[]`: one ACL and its rule groups.
#[derive(Default)]
pub(super) struct VnetAcl<'a> {
    pub is_object: bool,
    pub acl_id: Option<Json<'a>>,
    pub groups: Option<Vec<VnetGroup<'a>>>,
}

object!(VnetAcl, VnetAclVisitor, |rec, key, map| {
    match key.as_ref() {
        "aclID" => rec.acl_id = Some(map.next_value()?),
        "flowGroups" => rec.groups = map.next_value::<List<VnetGroup<'de>>>()?.0,
        _ => {
            map.next_value::<IgnoredAny>()?;
        }
    }
});

/// VNet `flowRecords.flows[].flowGroups[]`: one rule and its tuples.
#[derive(Default)]
pub(super) struct VnetGroup<'a> {
    pub is_object: bool,
    pub rule: Option<Json<'a>>,
    pub tuples: Option<Vec<Json<'a>>>,
}

object!(VnetGroup, VnetGroupVisitor, |rec, key, map| {
    match key.as_ref() {
        "rule" => rec.rule = Some(map.next_value()?),
        "flowTuples" => rec.tuples = map.next_value::<List<Json<'de>>>()?.0,
        _ => {
            map.next_value::<IgnoredAny>()?;
        }
    }
});

/// A top-level JSON value: a document or record object, an array of records, or neither.
pub(super) enum Top<'a> {
    /// Boxed: a record is large, and there is one `Top` per document or NDJSON line.
    Object(Box<Record<'a>>),
    Array(Vec<Record<'a>>),
    /// A scalar: the JSON type's name.
    Other(&'static str),
}

impl<'de> Deserialize<'de> for Top<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(TopVisitor)
    }
}

struct TopVisitor;

impl<'de> Visitor<'de> for TopVisitor {
    type Value = Top<'de>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON object or array")
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        RecordVisitor
            .visit_map(map)
            .map(|r| Top::Object(Box::new(r)))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
        let list = ListVisitor::<Record<'de>>(std::marker::PhantomData).visit_seq(seq)?;
        Ok(Top::Array(list.0.unwrap_or_default()))
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
        Ok(Top::Other("boolean"))
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
        Ok(Top::Other("number"))
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
        Ok(Top::Other("number"))
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
        Ok(Top::Other("number"))
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<Self::Value, E> {
        Ok(Top::Other("string"))
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(Top::Other("null"))
    }
}
