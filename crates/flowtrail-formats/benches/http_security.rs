//! Benchmarks the security-product HTTP decoders on generated in-memory inputs of 100k records:
//! Zscaler NSS (tab key=value and JSON feeds), PAN-OS URL logs (CSV syslog), Zeek http.log (TSV
//! and JSON) and SentinelOne Deep Visibility URL events.

#[path = "harness.rs"]
mod harness;

use std::fmt::Write;

use flowtrail_formats::http::panos_url::PanosUrl;
use flowtrail_formats::http::sentinelone::SentinelOne;
use flowtrail_formats::http::zeek_http::ZeekHttp;
use flowtrail_formats::http::zscaler::Zscaler;
use flowtrail_formats::{decode_all, DecodeContext, Format, VecSink};

const RECORDS: usize = 100_000;

fn addr(n: usize) -> (usize, usize, usize) {
    ((n >> 8) & 0xff, n & 0xff, (n * 7) & 0xff)
}

const HOSTS: [&str; 4] = [
    "www.example.com",
    "cdn.example.net",
    "api.example.org",
    "static.example.co.uk",
];

fn zscaler_kv() -> Vec<u8> {
    let mut out = String::new();
    for n in 0..RECORDS {
        let (a, b, c) = addr(n);
        let host = HOSTS[n % 4];
        let _ = writeln!(
            out,
            "2024-02-01 10:{:02}:{:02}\treason=Allowed\tevent_id={}\tprotocol=HTTPS\taction={}\ttransactionsize={}\tresponsesize={}\trequestsize={}\t\
             urlcategory=Corporate Marketing\tserverip=198.51.{c}.{b}\tclienttranstime={}\trequestmethod=GET\trefererURL=https://{host}/\t\
             useragent=Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/121.0\tproduct=NSS\tlocation=HQ->GRE\tClientIP=10.{a}.{b}.5\tstatus={}\t\
             user=user{}@example.com\turl={host}/path/{n}?id={}\tvendor=Zscaler\thostname={host}\tclientpublicIP=203.0.113.50\tthreatcategory=None\t\
             threatname=None\tfiletype=None\tappname=General Browsing\tpagerisk=0\tdepartment=Research\turlsupercategory=Business and Economy\t\
             appclass=General Browsing\tdlpengine=None\turlclass=Business Use\tthreatclass=None\tdlpdictionaries=None\tfileclass=None\tbwthrottle=NO\t\
             servertranstime=30\tcontenttype=text/html\tunscannabletype=None\tdeviceowner=user{}\tdevicehostname=LT-{n:06}",
            (n / 60) % 60,
            n % 60,
            7_300_000_000_000_000_000u64 + n as u64,
            if n % 10 == 0 { "Blocked" } else { "Allowed" },
            n % 90_000 + 700,
            n % 90_000 + 100,
            600,
            n % 500,
            if n % 10 == 0 { 403 } else { 200 },
            n % 500,
            n % 97,
            n % 500,
        );
    }
    out.into_bytes()
}

fn zscaler_json() -> Vec<u8> {
    let mut out = String::new();
    for n in 0..RECORDS {
        let (a, b, c) = addr(n);
        let host = HOSTS[n % 4];
        let _ = writeln!(
            out,
            "{{\"sourcetype\":\"zscalernss-web\",\"event\":{{\"datetime\":\"2024-02-01 10:{:02}:{:02}\",\"reason\":\"Allowed\",\"event_id\":\"{}\",\
             \"protocol\":\"HTTPS\",\"action\":\"Allowed\",\"transactionsize\":\"{}\",\"responsesize\":\"{}\",\"requestsize\":\"600\",\
             \"urlcategory\":\"Corporate Marketing\",\"serverip\":\"198.51.{c}.{b}\",\"clienttranstime\":\"{}\",\"requestmethod\":\"GET\",\
             \"refererURL\":\"None\",\"useragent\":\"Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/121.0\",\"product\":\"NSS\",\
             \"location\":\"HQ\",\"ClientIP\":\"10.{a}.{b}.5\",\"status\":\"200\",\"user\":\"user{}@example.com\",\"url\":\"{host}/path/{n}\",\
             \"vendor\":\"Zscaler\",\"hostname\":\"{host}\",\"clientpublicIP\":\"203.0.113.50\",\"threatname\":\"None\",\"appname\":\"General Browsing\",\
             \"pagerisk\":\"0\",\"department\":\"Research\",\"urlsupercategory\":\"Business and Economy\",\"contenttype\":\"text/html\",\
             \"deviceowner\":\"user{}\",\"devicehostname\":\"LT-{n:06}\"}}}}",
            (n / 60) % 60,
            n % 60,
            7_300_000_000_000_000_000u64 + n as u64,
            n % 90_000 + 700,
            n % 90_000 + 100,
            n % 500,
            n % 500,
            n % 500,
        );
    }
    out.into_bytes()
}

fn panos() -> Vec<u8> {
    let mut out = String::new();
    let mut cols: Vec<String> = vec![String::new(); 123];
    for n in 0..RECORDS {
        let (a, b, c) = addr(n);
        let host = HOSTS[n % 4];
        let (app, port) = if n % 3 == 0 {
            ("ssl", "443")
        } else {
            ("web-browsing", "80")
        };
        let time = format!("2024/02/01 10:{:02}:{:02}", (n / 60) % 60, n % 60);
        for col in cols.iter_mut() {
            col.clear();
        }
        let mut set = |i: usize, v: &str| cols[i - 1] = v.to_string();
        set(1, "1");
        set(2, &time);
        set(3, "012801000001");
        set(4, "THREAT");
        set(5, "url");
        set(6, "2816");
        set(7, &time);
        set(8, &format!("10.{a}.{b}.5"));
        set(9, &format!("198.51.{c}.{b}"));
        set(10, "203.0.113.9");
        set(11, &format!("198.51.{c}.{b}"));
        set(12, "allow-web");
        set(13, &format!("example\\user{}", n % 500));
        set(15, app);
        set(16, "vsys1");
        set(17, "trust");
        set(18, "untrust");
        set(23, &(n + 1000).to_string());
        set(24, "1");
        set(25, &(40_000 + n % 20_000).to_string());
        set(26, port);
        set(27, &(30_000 + n % 20_000).to_string());
        set(28, port);
        set(29, "0x400000");
        set(30, "tcp");
        set(31, "alert");
        set(32, &format!("\"{host}/path/{n}?id={}\"", n % 97));
        set(33, "(9999)");
        set(34, "computer-and-internet-info");
        set(35, "informational");
        set(36, "client-to-server");
        set(37, &(7_000_000 + n).to_string());
        set(42, "text/html");
        set(47, "Mozilla/5.0 (X11; Linux x86_64) Firefox/122.0");
        set(50, &format!("https://{host}/"));
        set(60, "PA-FW-01");
        set(64, "get");
        set(76, "\"computer-and-internet-info,low-risk\"");
        set(77, "5a1b2c3d-0000-4000-8000-000000000001");
        set(
            108,
            &format!(
                "2024-02-01T10:{:02}:{:02}.{:03}+01:00",
                (n / 60) % 60,
                n % 60,
                n % 1000
            ),
        );
        let _ = writeln!(
            out,
            "<14>Feb  1 10:{:02}:{:02} PA-FW-01 {}",
            (n / 60) % 60,
            n % 60,
            cols.join(",")
        );
    }
    out.into_bytes()
}

fn zeek_tsv() -> Vec<u8> {
    let mut out = String::from(
        "#separator \\x09\n#set_separator\t,\n#empty_field\t(empty)\n#unset_field\t-\n#path\thttp\n#open\t2024-02-01-10-00-00\n\
         #fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\ttrans_depth\tmethod\thost\turi\treferrer\tversion\tuser_agent\torigin\t\
         request_body_len\tresponse_body_len\tstatus_code\tstatus_msg\tinfo_code\tinfo_msg\ttags\tusername\tpassword\tproxied\torig_fuids\t\
         orig_filenames\torig_mime_types\tresp_fuids\tresp_filenames\tresp_mime_types\n\
         #types\ttime\tstring\taddr\tport\taddr\tport\tcount\tstring\tstring\tstring\tstring\tstring\tstring\tstring\tcount\tcount\tcount\tstring\t\
         count\tstring\tset[enum]\tstring\tstring\tset[string]\tvector[string]\tvector[string]\tvector[string]\tvector[string]\tvector[string]\tvector[string]\n",
    );
    for n in 0..RECORDS {
        let (a, b, c) = addr(n);
        let host = HOSTS[n % 4];
        let _ = writeln!(
            out,
            "{}.{:06}\tC{n:017}\t10.{a}.{b}.5\t{}\t198.51.{c}.{b}\t80\t1\tGET\t{host}\t/path/{n}?id={}\thttp://{host}/\t1.1\t\
             Mozilla/5.0 (X11; Linux x86_64) Firefox/122.0\t-\t0\t{}\t200\tOK\t-\t-\t(empty)\t-\t-\t-\t-\t-\t-\tF{n:016}\t-\ttext/html",
            1_706_781_600 + n / 10,
            n % 1_000_000,
            40_000 + n % 20_000,
            n % 97,
            n % 90_000 + 100,
        );
    }
    out.push_str("#close\t2024-02-01-11-00-00\n");
    out.into_bytes()
}

fn zeek_json() -> Vec<u8> {
    let mut out = String::new();
    for n in 0..RECORDS {
        let (a, b, c) = addr(n);
        let host = HOSTS[n % 4];
        let _ = writeln!(
            out,
            "{{\"ts\":{}.{:06},\"uid\":\"C{n:017}\",\"id.orig_h\":\"10.{a}.{b}.5\",\"id.orig_p\":{},\"id.resp_h\":\"198.51.{c}.{b}\",\"id.resp_p\":80,\
             \"trans_depth\":1,\"method\":\"GET\",\"host\":\"{host}\",\"uri\":\"/path/{n}?id={}\",\"referrer\":\"http://{host}/\",\"version\":\"1.1\",\
             \"user_agent\":\"Mozilla/5.0 (X11; Linux x86_64) Firefox/122.0\",\"request_body_len\":0,\"response_body_len\":{},\"status_code\":200,\
             \"status_msg\":\"OK\",\"tags\":[],\"resp_fuids\":[\"F{n:016}\"],\"resp_mime_types\":[\"text/html\"]}}",
            1_706_781_600 + n / 10,
            n % 1_000_000,
            40_000 + n % 20_000,
            n % 97,
            n % 90_000 + 100,
        );
    }
    out.into_bytes()
}

fn sentinelone() -> Vec<u8> {
    let mut out = String::new();
    for n in 0..RECORDS {
        let host = HOSTS[n % 4];
        let _ = writeln!(
            out,
            "{{\"event.category\":\"url\",\"event.type\":\"GET\",\"meta.event.name\":\"HTTP\",\"event.time\":{},\"timestamp\":\"2024-02-01T10:00:00.000Z\",\
             \"endpoint.name\":\"ws-{:05}\",\"endpoint.os\":\"windows\",\"agent.uuid\":\"0f0e0d0c0b0a49988776655443322110\",\"agent.version\":\"23.4.2.14\",\
             \"src.process.name\":\"chrome.exe\",\"src.process.pid\":{},\"src.process.user\":\"EXAMPLE\\\\user{}\",\"src.process.cmdline\":\"\\\"C:\\\\Program Files\\\\Google\\\\Chrome\\\\Application\\\\chrome.exe\\\"\",\
             \"src.process.image.sha1\":\"0123456789abcdef0123456789abcdef01234567\",\"src.process.storyline.id\":\"AB12CD34EF56{:04X}\",\
             \"url.address\":\"https://{host}/path/{n}?id={}\",\"event.url.action\":\"GET\",\"site.name\":\"Default site\",\"account.id\":\"1234567890123456789\",\
             \"event.id\":\"01HNXYZ_{n}\",\"trace.id\":\"01HNXYZ\",\"i.scheme\":\"edr\",\"tgt.file.isSigned\":null}}",
            1_706_781_600_000u64 + n as u64,
            n % 5000,
            1000 + n % 50_000,
            n % 500,
            n % 65_536,
            n % 97,
        );
    }
    out.into_bytes()
}

/// Checks that every generated record decodes to a row.
fn check(name: &str, format: &dyn Format, ctx: &DecodeContext, input: &[u8]) {
    let mut sink = VecSink::default();
    decode_all(format, ctx, input, &mut sink);
    assert!(
        sink.rejected.is_empty() && sink.skipped.is_empty(),
        "{name}: {:?} {:?}",
        sink.rejected.first(),
        sink.skipped.first()
    );
    assert_eq!(sink.http.len(), RECORDS, "{name}");
}

fn main() {
    let ctx = DecodeContext::default();
    let cases: [(&str, &dyn Format, Vec<u8>); 6] = [
        ("zscaler key=value (100k records)", &Zscaler, zscaler_kv()),
        ("zscaler JSON (100k records)", &Zscaler, zscaler_json()),
        ("panos_url CSV 11.x layout (100k logs)", &PanosUrl, panos()),
        ("zeek_http TSV (100k records)", &ZeekHttp, zeek_tsv()),
        ("zeek_http JSON (100k records)", &ZeekHttp, zeek_json()),
        (
            "sentinelone URL events (100k events)",
            &SentinelOne,
            sentinelone(),
        ),
    ];
    for (name, format, input) in &cases {
        check(name, *format, &ctx, input);
        harness::bench(name, *format, &ctx, input);
    }
}
