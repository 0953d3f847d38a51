//! Fuzzes the lake's Parquet encoder (`flowtrail_store::encode`): arbitrary bytes become flow
//! rows (addresses, ports, counters, times, text, with nulls wherever a byte says so), pushed
//! through the ingest batch builder, written by the encoder and read back by arrow-rs's reader;
//! every column must come back exactly as written. The builder's dictionaries, the key pages'
//! RLE/bit-packed runs, the integer dictionaries and the delta-encoded line numbers all see
//! shapes no fixture has.
#![no_main]

use std::net::IpAddr;

use arrow::array::{Array, ArrayRef};
use arrow::compute::cast;
use arrow::datatypes::DataType;
use flowtrail_schema::{Action, Direction, FlowRecord};
use flowtrail_store::{encode, lake, FlowBatchBuilder};
use libfuzzer_sys::fuzz_target;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

fn plain(a: &ArrayRef) -> ArrayRef {
    match a.data_type() {
        DataType::Dictionary(_, v) => cast(a, v).expect("cast"),
        _ => a.clone(),
    }
}

fuzz_target!(|data: &[u8]| {
    let mut b = FlowBatchBuilder::new();
    for (i, c) in data.chunks(12).take(20_000).enumerate() {
        let byte = |k: usize| c.get(k).copied().unwrap_or(0);
        let word = |k: usize| u32::from_le_bytes([byte(k), byte(k + 1), byte(k + 2), byte(k + 3)]);
        let flags = byte(0);
        let ip = |w: u32, v6: bool| -> IpAddr {
            if v6 {
                IpAddr::from((u128::from(w) << 64 | u128::from(w)).to_be_bytes())
            } else {
                IpAddr::from(w.to_be_bytes())
            }
        };
        let r = FlowRecord {
            time: i64::from(word(1) % 7200) * 1_000_000 + 1_700_000_000_000_000,
            end_time: (flags & 1 == 0).then(|| i64::from(word(5))),
            origin_line: u64::from(word(1) % 1000) + i as u64,
            src_ip: (flags & 2 == 0).then(|| ip(word(1) % 64, flags & 4 != 0)),
            dst_ip: (flags & 8 == 0).then(|| ip(word(5), flags & 16 != 0)),
            src_port: (flags & 32 == 0).then(|| (word(2) % 65536) as u16),
            dst_port: Some(u16::from(byte(9))),
            protocol: (flags & 64 == 0).then(|| byte(10)),
            bytes_out: Some(u64::from(word(6)) << (byte(11) % 40)),
            packets_out: (flags & 128 == 0).then(|| u64::from(byte(7))),
            action: match byte(8) % 3 {
                0 => Some(Action::Allowed),
                1 => Some(Action::Denied),
                _ => None,
            },
            device: (byte(3) % 4 != 0).then(|| format!("eni-{}", byte(3) % 9).into()),
            extra: (byte(4) % 5 == 0).then(|| format!("{{\"k\":{}}}", word(4)).into()),
            ..Default::default()
        };
        let dir = (byte(2) % 2 == 0).then_some(Direction::Inbound);
        b.push(&r, "aws_vpc", "fuzz.log", dir);
    }
    let batch = b.finish();
    if batch.num_rows() == 0 {
        return;
    }
    let props = lake::writer_properties_for(batch.num_rows());
    let bytes =
        encode::write_batch(Vec::new(), &batch, props).expect("the encoder writes any batch");
    let reader = ParquetRecordBatchReaderBuilder::try_new(bytes::Bytes::from(bytes))
        .expect("footer")
        .with_batch_size(1 << 20)
        .build()
        .expect("reader");
    let back: Vec<_> = reader.map(|b| b.expect("batch")).collect();
    assert_eq!(back.len(), 1);
    for (i, f) in batch.schema().fields().iter().enumerate() {
        assert_eq!(
            back[0].column(i).as_ref(),
            plain(batch.column(i)).as_ref(),
            "column {}",
            f.name()
        );
    }
});
