//! Azure NSG flow logs, version 2, as written by Network Watcher to Blob Storage.
//!
//! Layout: `resourceId=/SUBSCRIPTIONS/<SUB>/RESOURCEGROUPS/<RG>/PROVIDERS/MICROSOFT.NETWORK/
//! NETWORKSECURITYGROUPS/<NSG>/y=YYYY/m=MM/d=DD/h=HH/m=00/macAddress=<MAC>/PT1H.json`: one
//! blob per NSG, NIC and hour. A blob is `{"records":[...]}` with one record per minute; a
//! record groups its flow tuples by rule, then by NIC MAC.
//!
//! Tuples follow flows through their life: an allowed flow first appears as `B` (begin, empty
//! counters), later as `C` (continuing) and/or `E` (end) with delta counters in both
//! directions. Denied flows appear once, as `B` with empty counters.

use std::path::{Path, PathBuf};

use anyhow::Result;

use crate::rng::{Rng, Zipf};
use crate::{
    civil, effective_files, ephemeral_port, push_padded, push_random_public_ipv4, push_u64,
    run_parallel, share, write_file, GenStats, BASE_EPOCH, SPAN_HOURS,
};

/// (subscription, resource group, NSG name, number of NICs behind it).
const NSGS: &[(&str, &str, &str, usize)] = &[
    (
        "5F1D2C3B-4A59-4E6F-8D7C-0B1A2C3D4E5F",
        "PROD-WEB-RG",
        "WEB-NSG",
        12,
    ),
    (
        "5F1D2C3B-4A59-4E6F-8D7C-0B1A2C3D4E5F",
        "PROD-WEB-RG",
        "APPGW-NSG",
        4,
    ),
    (
        "5F1D2C3B-4A59-4E6F-8D7C-0B1A2C3D4E5F",
        "PROD-DATA-RG",
        "SQL-NSG",
        6,
    ),
    (
        "9A8B7C6D-5E4F-4321-ABCD-EF0123456789",
        "CORP-RG",
        "JUMPBOX-NSG",
        3,
    ),
    (
        "9A8B7C6D-5E4F-4321-ABCD-EF0123456789",
        "CORP-RG",
        "AD-NSG",
        5,
    ),
    (
        "9A8B7C6D-5E4F-4321-ABCD-EF0123456789",
        "DEV-RG",
        "DEV-VM-NSG",
        10,
    ),
];

const RULES: &[&str] = &[
    "DefaultRule_AllowInternetOutBound",
    "DefaultRule_AllowVnetOutBound",
    "DefaultRule_AllowVnetInBound",
    "UserRule_Allow-HTTPS-Inbound",
    "DefaultRule_DenyAllInBound",
];
const R_INTERNET_OUT: usize = 0;
const R_VNET_OUT: usize = 1;
const R_VNET_IN: usize = 2;
const R_HTTPS_IN: usize = 3;
const R_DENY_IN: usize = 4;

/// Flows a file keeps open (waiting for their C/E tuples) at most.
const MAX_OPEN: usize = 512;
const EXTERNALS: usize = 2000;

struct Nic {
    nsg: usize,
    mac: String,
    ip: Vec<u8>,
}

struct Nsg {
    resource_id: String,
    system_id: String,
}

struct World {
    nsgs: Vec<Nsg>,
    nics: Vec<Nic>,
    ext: Vec<Vec<u8>>,
    ext_pick: Zipf,
    peer_pick: Zipf,
}

impl World {
    fn new(seed: u64) -> World {
        let mut rng = Rng::new(seed, u64::MAX - 1);
        let mut nsgs = Vec::new();
        let mut nics = Vec::new();
        for (n, &(sub, rg, name, count)) in NSGS.iter().enumerate() {
            nsgs.push(Nsg {
                resource_id: format!(
                    "/SUBSCRIPTIONS/{sub}/RESOURCEGROUPS/{rg}/PROVIDERS/MICROSOFT.NETWORK/NETWORKSECURITYGROUPS/{name}"
                ),
                system_id: format!(
                    "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
                    rng.next_u64() as u32,
                    rng.below(0x10000),
                    rng.below(0x1000),
                    0x8000 | rng.below(0x4000),
                    rng.next_u64() & 0xffff_ffff_ffff
                ),
            });
            for k in 0..count {
                // Azure NIC MACs use Microsoft OUIs such as 00-0D-3A and 00-22-48.
                let oui = if rng.chance(500_000) {
                    "000D3A"
                } else {
                    "002248"
                };
                nics.push(Nic {
                    nsg: n,
                    mac: format!("{oui}{:06X}", rng.below(1 << 24)),
                    ip: format!("10.5.{}.{}", n * 16 + k / 200, 4 + k % 200).into_bytes(),
                });
            }
        }
        let mut ext = Vec::with_capacity(EXTERNALS);
        for _ in 0..EXTERNALS {
            let mut ip = Vec::with_capacity(15);
            push_random_public_ipv4(&mut ip, &mut rng);
            ext.push(ip);
        }
        World {
            peer_pick: Zipf::new(nics.len(), 1.0),
            nsgs,
            nics,
            ext,
            ext_pick: Zipf::new(EXTERNALS, 1.1),
        }
    }
}

/// Writes `tuples` NSG version-2 flow tuples into `files` `PT1H.json` blobs under `out`.
pub fn gen_azure_nsg(out: &Path, tuples: u64, files: u32, seed: u64) -> Result<GenStats> {
    let files = effective_files(tuples, files)?;
    if files == 0 {
        return Ok(GenStats::default());
    }
    let world = World::new(seed);
    let pairs = world.nics.len() as u32;
    let rounds = files.div_ceil(pairs);
    run_parallel(files, Vec::new, |buf, i| {
        let nic = (i % pairs) as usize;
        let round = u64::from(i / pairs);
        // Distinct (NIC, hour) per file, spread over two days when there are few rounds.
        let hour = if u64::from(rounds) <= SPAN_HOURS {
            round * SPAN_HOURS / u64::from(rounds)
        } else {
            round
        };
        let n = share(tuples, u64::from(files), u64::from(i));
        let window = BASE_EPOCH + hour * 3600;
        buf.clear();
        write_blob(
            buf,
            &world,
            nic,
            window,
            n,
            &mut Rng::new(seed, u64::from(i)),
        );
        write_file(&blob_path(&world, out, nic, window), buf)?;
        Ok((n, buf.len() as u64))
    })
}

fn blob_path(world: &World, out: &Path, nic: usize, window: u64) -> PathBuf {
    let c = civil(window);
    let nic = &world.nics[nic];
    let mut p = out.join("resourceId=");
    for part in world.nsgs[nic.nsg]
        .resource_id
        .split('/')
        .filter(|s| !s.is_empty())
    {
        p.push(part);
    }
    p.join(format!("y={:04}", c.year))
        .join(format!("m={:02}", c.month))
        .join(format!("d={:02}", c.day))
        .join(format!("h={:02}", c.hour))
        .join("m=00")
        .join(format!("macAddress={}", nic.mac))
        .join("PT1H.json")
}

/// An allowed flow that has had its `B` tuple and still owes `C`/`E` tuples.
#[derive(Clone, Copy)]
struct Open<'w> {
    rule: usize,
    src: &'w [u8],
    dst: &'w [u8],
    sp: u64,
    dp: u64,
    tcp: bool,
    inbound: bool,
}

fn write_blob(buf: &mut Vec<u8>, world: &World, nic_i: usize, window: u64, n: u64, rng: &mut Rng) {
    let nic = &world.nics[nic_i];
    let nsg = &world.nsgs[nic.nsg];
    let records = n.min(60);
    let mut open: Vec<Open<'_>> = Vec::with_capacity(MAX_OPEN);
    let mut by_rule: Vec<Vec<u8>> = vec![Vec::new(); RULES.len()];
    buf.extend_from_slice(b"{\"records\":[");
    for r in 0..records {
        let minute = window + r * 60 / records * 60;
        for b in by_rule.iter_mut() {
            b.clear();
        }
        for _ in 0..share(n, records, r) {
            let t = minute + rng.below(60);
            tuple(&mut by_rule, &mut open, world, nic, nic_i, t, rng);
        }
        if r > 0 {
            buf.extend_from_slice(b"\r\n,");
        }
        let c = civil(minute);
        buf.extend_from_slice(b"{\"time\":\"");
        push_padded(buf, c.year as u64, 4);
        buf.push(b'-');
        push_padded(buf, u64::from(c.month), 2);
        buf.push(b'-');
        push_padded(buf, u64::from(c.day), 2);
        buf.push(b'T');
        push_padded(buf, u64::from(c.hour), 2);
        buf.push(b':');
        push_padded(buf, u64::from(c.minute), 2);
        buf.push(b':');
        push_padded(buf, rng.range(30, 59), 2);
        buf.push(b'.');
        push_padded(buf, rng.below(10_000_000), 7);
        buf.extend_from_slice(b"Z\",\"systemId\":\"");
        buf.extend_from_slice(nsg.system_id.as_bytes());
        buf.extend_from_slice(b"\",\"macAddress\":\"");
        buf.extend_from_slice(nic.mac.as_bytes());
        buf.extend_from_slice(
            b"\",\"category\":\"NetworkSecurityGroupFlowEvent\",\"resourceId\":\"",
        );
        buf.extend_from_slice(nsg.resource_id.as_bytes());
        buf.extend_from_slice(
            b"\",\"operationName\":\"NetworkSecurityGroupFlowEvents\",\"properties\":{\"Version\":2,\"flows\":[",
        );
        let mut first = true;
        for (rule, tuples) in RULES.iter().zip(&by_rule) {
            if tuples.is_empty() {
                continue;
            }
            if !first {
                buf.push(b',');
            }
            first = false;
            buf.extend_from_slice(b"{\"rule\":\"");
            buf.extend_from_slice(rule.as_bytes());
            buf.extend_from_slice(b"\",\"flows\":[{\"mac\":\"");
            buf.extend_from_slice(nic.mac.as_bytes());
            buf.extend_from_slice(b"\",\"flowTuples\":[");
            buf.extend_from_slice(tuples);
            buf.extend_from_slice(b"]}]}");
        }
        buf.extend_from_slice(b"]}}");
    }
    buf.extend_from_slice(b"]}");
}

/// Appends one tuple (quoted, comma-separated from the previous one) to its rule's list.
fn tuple<'w>(
    by_rule: &mut [Vec<u8>],
    open: &mut Vec<Open<'w>>,
    world: &'w World,
    nic: &'w Nic,
    nic_i: usize,
    t: u64,
    rng: &mut Rng,
) {
    if !open.is_empty() && (open.len() >= MAX_OPEN || rng.chance(450_000)) {
        let j = rng.below(open.len() as u64) as usize;
        let end = rng.chance(800_000);
        let f = if end { open.swap_remove(j) } else { open[j] };
        let pk_out = rng.log_uniform(2_000);
        let pk_in = rng.log_uniform(2_000);
        let counters = [
            pk_out,
            pk_out * rng.range(40, 400),
            pk_in,
            pk_in * rng.range(100, 1460),
        ];
        let state = if end { b'E' } else { b'C' };
        let line = &mut by_rule[f.rule];
        begin_tuple(
            line, t, f.src, f.dst, f.sp, f.dp, f.tcp, f.inbound, b'A', state,
        );
        for c in counters {
            line.push(b',');
            push_u64(line, c);
        }
        line.push(b'"');
        return;
    }
    let kind = rng.weighted(&[45, 10, 10, 15, 20]);
    let peer_nic = &world.nics[world.peer_pick.sample(rng)];
    let peer_nic = if std::ptr::eq(peer_nic, nic) {
        &world.nics[(nic_i + 1) % world.nics.len()]
    } else {
        peer_nic
    };
    let ext: &'w [u8] = &world.ext[world.ext_pick.sample(rng)];
    let f = match kind {
        R_INTERNET_OUT => {
            let (dp, tcp) = match rng.weighted(&[70, 15, 10, 5]) {
                0 => (443, true),
                1 => (80, true),
                2 => (53, false),
                _ => (123, false),
            };
            Open {
                rule: R_INTERNET_OUT,
                src: &nic.ip,
                dst: ext,
                sp: ephemeral_port(rng),
                dp,
                tcp,
                inbound: false,
            }
        }
        R_VNET_OUT | R_VNET_IN => {
            let dp = [1433, 445, 389, 443, 5985, 22][rng.below(6) as usize];
            let inbound = kind == R_VNET_IN;
            let (src, dst): (&'w [u8], &'w [u8]) = if inbound {
                (&peer_nic.ip, &nic.ip)
            } else {
                (&nic.ip, &peer_nic.ip)
            };
            Open {
                rule: kind,
                src,
                dst,
                sp: ephemeral_port(rng),
                dp,
                tcp: true,
                inbound,
            }
        }
        R_HTTPS_IN => Open {
            rule: R_HTTPS_IN,
            src: ext,
            dst: &nic.ip,
            sp: ephemeral_port(rng),
            dp: 443,
            tcp: true,
            inbound: true,
        },
        _ => {
            // Denied inbound probe: one B tuple with empty counters, never continued.
            let line = &mut by_rule[R_DENY_IN];
            if !line.is_empty() {
                line.push(b',');
            }
            line.push(b'"');
            push_u64(line, t);
            line.push(b',');
            if rng.chance(600_000) {
                push_random_public_ipv4(line, rng);
            } else {
                line.extend_from_slice(ext);
            }
            line.push(b',');
            line.extend_from_slice(&nic.ip);
            line.push(b',');
            push_u64(line, ephemeral_port(rng));
            line.push(b',');
            let dp = [22, 3389, 23, 445, 1433, 8080, 5900][rng.below(7) as usize];
            push_u64(line, dp);
            line.extend_from_slice(if rng.chance(850_000) { b",T" } else { b",U" });
            line.extend_from_slice(b",I,D,B,,,,\"");
            return;
        }
    };
    let line = &mut by_rule[f.rule];
    begin_tuple(
        line, t, f.src, f.dst, f.sp, f.dp, f.tcp, f.inbound, b'A', b'B',
    );
    line.extend_from_slice(b",,,,\"");
    if open.len() < MAX_OPEN {
        open.push(f);
    }
}

/// Appends `"t,src,dst,sp,dp,P,D,decision,state` (no counters, no closing quote).
#[allow(clippy::too_many_arguments)]
fn begin_tuple(
    line: &mut Vec<u8>,
    t: u64,
    src: &[u8],
    dst: &[u8],
    sp: u64,
    dp: u64,
    tcp: bool,
    inbound: bool,
    decision: u8,
    state: u8,
) {
    if !line.is_empty() {
        line.push(b',');
    }
    line.push(b'"');
    push_u64(line, t);
    line.push(b',');
    line.extend_from_slice(src);
    line.push(b',');
    line.extend_from_slice(dst);
    line.push(b',');
    push_u64(line, sp);
    line.push(b',');
    push_u64(line, dp);
    line.extend_from_slice(if tcp { b",T," } else { b",U," });
    line.push(if inbound { b'I' } else { b'O' });
    line.push(b',');
    line.push(decision);
    line.push(b',');
    line.push(state);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tests_support::{temp_dir, walk};

    #[test]
    fn layout_json_and_tuples() -> Result<()> {
        let dir = temp_dir("nsg");
        let stats = gen_azure_nsg(&dir, 20_000, 50, 3)?;
        assert_eq!((stats.files, stats.records), (50, 20_000));
        let files = walk(&dir)?;
        assert_eq!(files.len(), 50);
        let (mut tuples, mut states, mut bytes) = (0u64, [0u64; 3], 0u64);
        for f in &files {
            let rel = f.strip_prefix(&dir)?.to_string_lossy().into_owned();
            let parts: Vec<&str> = rel.split('/').collect();
            assert_eq!(parts.len(), 16, "{rel}");
            assert_eq!(&parts[..2], &["resourceId=", "SUBSCRIPTIONS"]);
            assert_eq!(parts[3], "RESOURCEGROUPS");
            assert_eq!(
                &parts[5..8],
                &["PROVIDERS", "MICROSOFT.NETWORK", "NETWORKSECURITYGROUPS"]
            );
            assert_eq!(parts[9], "y=2025");
            assert!(parts[12].starts_with("h=") && parts[13] == "m=00", "{rel}");
            let mac = parts[14].strip_prefix("macAddress=").unwrap_or_default();
            assert_eq!(mac.len(), 12);
            assert_eq!(parts[15], "PT1H.json");
            let text = std::fs::read(f)?;
            bytes += text.len() as u64;
            let v: serde_json::Value = serde_json::from_slice(&text)?;
            let records = v["records"].as_array().cloned().unwrap_or_default();
            assert!(!records.is_empty() && records.len() <= 60);
            for r in &records {
                assert_eq!(r["category"], "NetworkSecurityGroupFlowEvent");
                assert_eq!(r["properties"]["Version"], 2);
                let rid = r["resourceId"].as_str().unwrap_or_default();
                assert!(
                    rel.starts_with(&format!("resourceId={rid}/")),
                    "{rid} {rel}"
                );
                assert_eq!(r["time"].as_str().map(str::len), Some(28));
                for rule in r["properties"]["flows"]
                    .as_array()
                    .cloned()
                    .unwrap_or_default()
                {
                    assert!(RULES.contains(&rule["rule"].as_str().unwrap_or_default()));
                    for nicflows in rule["flows"].as_array().cloned().unwrap_or_default() {
                        assert_eq!(nicflows["mac"], mac);
                        for t in nicflows["flowTuples"]
                            .as_array()
                            .cloned()
                            .unwrap_or_default()
                        {
                            let t = t.as_str().unwrap_or_default().to_owned();
                            let f: Vec<&str> = t.split(',').collect();
                            assert_eq!(f.len(), 13, "{t}");
                            let _: u64 = f[0].parse()?;
                            assert!(["T", "U"].contains(&f[5]) && ["I", "O"].contains(&f[6]));
                            match f[8] {
                                "B" => {
                                    states[0] += 1;
                                    assert_eq!(&f[9..], &["", "", "", ""], "{t}");
                                }
                                "C" | "E" => {
                                    states[if f[8] == "C" { 1 } else { 2 }] += 1;
                                    assert_eq!(f[7], "A");
                                    for c in &f[9..] {
                                        let _: u64 = c.parse()?;
                                    }
                                }
                                other => panic!("state {other}"),
                            }
                            tuples += 1;
                        }
                    }
                }
            }
        }
        assert_eq!(tuples, 20_000);
        assert_eq!(bytes, stats.bytes_written);
        assert!(states.iter().all(|&s| s > 500), "{states:?}");
        std::fs::remove_dir_all(&dir)?;
        Ok(())
    }

    #[test]
    fn many_files_get_distinct_paths() -> Result<()> {
        let dir = temp_dir("nsg-many");
        // More files than NICs x 48 hours: hours go past two days, paths stay unique.
        let stats = gen_azure_nsg(&dir, 2_000, 2_000, 1)?;
        assert_eq!(stats.files, 2_000);
        assert_eq!(walk(&dir)?.len(), 2_000);
        std::fs::remove_dir_all(&dir)?;
        Ok(())
    }
}
