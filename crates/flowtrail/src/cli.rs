//! The command line: every command, flag and example.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Fast, trustworthy access to network flow logs for incident responders.
#[derive(Debug, Parser)]
#[command(name = "flowtrail", version, about, long_about = None, after_help = EXAMPLES)]
pub struct Cli {
    /// The lake folder (created on first ingest).
    #[arg(
        long,
        global = true,
        env = "FLOWTRAIL_LAKE",
        default_value = "flowtrail-lake"
    )]
    pub lake: PathBuf,
    #[command(flatten)]
    pub enrich: EnrichArgs,
    #[command(subcommand)]
    pub command: Command,
}

/// Enrichment data for the SQL functions (`geo_country`, `asn`, `asset`, `user_at`...).
#[derive(Debug, Args)]
pub struct EnrichArgs {
    /// MaxMind-format databases (City/Country and ASN, comma-separated): at ingest they fill
    /// src/dst_country and src/dst_asn; in queries they back `geo_country(ip)`, `geo_city(ip)`,
    /// `asn(ip)` and `as_org(ip)`.
    #[arg(long, global = true, env = "FLOWTRAIL_GEOIP", value_delimiter = ',')]
    pub geoip: Vec<PathBuf>,
    /// Asset inventory CSV (ip or network, hostname, owner, criticality, tags) for `asset(ip)`.
    #[arg(long, global = true)]
    pub assets: Option<PathBuf>,
    /// IP-to-user bindings CSV (ip, user, start, end) for `user_at(ip, time)`.
    #[arg(long, global = true)]
    pub user_bindings: Option<PathBuf>,
}

const EXAMPLES: &str = "Examples:
  flowtrail demo
  flowtrail ingest ./AWSLogs/ 'azure/**/PT1H.json' --lake lake
  zcat flows.log.gz | flowtrail ingest - --format aws_vpc
  flowtrail query 203.0.113.7 --since 7d
  flowtrail query 'denied and dport 22 and src 0.0.0.0/0' -o csv
  flowtrail query --sql \"SELECT src_ip, sum(bytes_out) FROM flows GROUP BY 1 ORDER BY 2 DESC LIMIT 5\"
  flowtrail top dst_port --by flows 'outbound and denied'
  flowtrail query --table http 'domain evil.example and status 2xx' --columns time,user,device,url,user_agent
  flowtrail top user,device --table http 'domain evil.example'
  flowtrail intel add feed.stix.json --name acme-stix
  flowtrail intel retro --since 90d
  flowtrail query --geoip GeoLite2-City.mmdb,GeoLite2-ASN.mmdb --sql \"SELECT geo_country(dst_ip), asn(dst_ip), count(*) FROM flows WHERE ti_match(dst_ip) IS NOT NULL GROUP BY 1, 2\"
Exit codes: 0 success; 1 an input failed or a query was bad; 2 usage; 3 records were rejected (see the dead-letter file).";

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Set up sample data, ingest it and answer typical questions (the 60-second tour).
    Demo(DemoArgs),
    /// Ingest files, folders, globs or stdin (`-`) into the lake.
    Ingest(IngestArgs),
    /// Query flows with a filter (`flowtrail query 10.0.0.0/8 and denied`) or SQL (`--sql`).
    Query(QueryArgs),
    /// Rank the values of one or more columns by bytes, flows or packets.
    Top(TopArgs),
    /// List the formats flowtrail reads.
    Formats,
    /// Print the normalized schema (`--markdown` for the docs).
    Schema {
        #[arg(long)]
        markdown: bool,
    },
    /// Generate realistic synthetic logs for benchmarks and demos.
    Gen(GenArgs),
    /// Manage threat-intelligence feeds (`<lake>/_intel/`) and hunt past data for their indicators.
    Intel(IntelArgs),
    /// Rewrite each hour's small files as fewer, larger files sorted by time (faster queries).
    Compact(CompactArgs),
}

#[derive(Debug, Args)]
pub struct CompactArgs {
    /// The table to compact (both by default).
    #[arg(long, value_enum)]
    pub table: Option<TableArg>,
    /// Most rows per compacted file; also what one step holds in memory.
    #[arg(long, default_value_t = 1 << 20, value_parser = clap::value_parser!(u64).range(1..))]
    pub target_rows: u64,
    /// Partitions compacted at once (default: the number of cores).
    #[arg(long)]
    pub threads: Option<usize>,
    /// Print the summary as JSON.
    #[arg(long)]
    pub json: bool,
}

/// Credentials for a TAXII 2.1 source (HTTP basic auth).
#[derive(Debug, Args)]
pub struct TaxiiArgs {
    /// TAXII user (also taken from the URL's `user@`; stored with the feed's source).
    #[arg(long)]
    pub user: Option<String>,
    /// TAXII password (never stored; defaults to $FLOWTRAIL_TAXII_PASSWORD).
    #[arg(long)]
    pub password: Option<String>,
}

#[derive(Debug, Args)]
pub struct IntelArgs {
    #[command(subcommand)]
    pub command: IntelCommand,
}

#[derive(Debug, Subcommand)]
pub enum IntelCommand {
    /// Add a feed file (plain list, URLhaus/Feodo CSV, STIX 2.1, MISP) or a TAXII 2.1
    /// collection (`taxii+http://HOST:PORT/API_ROOT/collections/ID/`).
    Add {
        /// The feed file, or a TAXII 2.1 collection URL starting with `taxii+http://`.
        file: PathBuf,
        /// The feed's name (shown by `ti_match` and retro-hunting).
        #[arg(long)]
        name: String,
        /// auto, list, csv-urlhaus, csv-feodo, csv-threatfox, stix or misp.
        #[arg(long, default_value = "auto")]
        format: String,
        #[command(flatten)]
        taxii: TaxiiArgs,
    },
    /// List the feeds.
    List,
    /// Remove a feed.
    Remove {
        /// The feed's name.
        name: String,
    },
    /// Re-read a feed from its source (or from FILE, which becomes its source); a TAXII
    /// collection is asked for the objects added since the last fetch (`--full`: all).
    Update {
        /// The feed's name.
        name: String,
        /// A new copy of the feed (or a new TAXII collection URL).
        file: Option<PathBuf>,
        /// For a TAXII collection: fetch every object again instead of only those added since
        /// the last fetch.
        #[arg(long)]
        full: bool,
        #[command(flatten)]
        taxii: TaxiiArgs,
    },
    /// Find past flows and HTTP records matching today's indicators.
    Retro(RetroArgs),
}

#[derive(Debug, Args)]
pub struct RetroArgs {
    #[command(flatten)]
    pub range: RangeArgs,
    /// Most rows to print.
    #[arg(long, default_value_t = 10_000)]
    pub limit: usize,
    /// Output format (default: table on a terminal, CSV otherwise).
    #[arg(short = 'o', long, value_enum)]
    pub output: Option<OutputFormat>,
}

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Where the demo writes its sample logs and lake.
    #[arg(long, default_value = "flowtrail-demo")]
    pub dir: PathBuf,
    /// VPC records to generate.
    #[arg(long, default_value_t = 200_000)]
    pub records: u64,
}

#[derive(Debug, Args)]
pub struct IngestArgs {
    /// Files, folders (read recursively), glob patterns, or `-` for stdin.
    #[arg(required = true)]
    pub sources: Vec<String>,
    /// Force a format instead of detecting it (see `flowtrail formats`).
    #[arg(long)]
    pub format: Option<String>,
    /// AWS VPC field list for files without a header line (CloudWatch exports), e.g.
    /// "version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status".
    #[arg(long)]
    pub aws_fields: Option<String>,
    /// Worker threads (default: the number of cores).
    #[arg(long)]
    pub threads: Option<usize>,
    /// Rows a worker buffers before writing a Parquet file; bounds memory (a worker also writes
    /// early once its buffers hold 512 MiB of text).
    #[arg(long, default_value_t = 1_000_000, value_parser = clap::value_parser!(u64).range(1..=50_000_000))]
    pub flush_rows: u64,
    /// Internal networks for direction (comma-separated CIDRs; default RFC 1918, RFC 6598, ULA, link-local).
    #[arg(long, value_delimiter = ',')]
    pub internal: Vec<String>,
    /// Largest JSON document (Azure PT1H.json) read into memory, in MiB.
    #[arg(long, default_value_t = 1024)]
    pub max_document_mib: u64,
    /// An nginx `log_format` (or Apache `LogFormat`) string the web logs were written with, e.g.
    /// '$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent "$http_user_agent" $request_time'.
    /// Implies --format nginx unless another format is given.
    #[arg(long)]
    pub log_format: Option<String>,
    /// UTC offset of sources that log local time without one (firewalls, web servers): +09:30, -0800, UTC.
    #[arg(long)]
    pub utc_offset: Option<String>,
    /// Print the accounting summary as a table (default) or JSON on stdout.
    #[arg(long, value_enum, default_value_t = SummaryFormat::Table)]
    pub summary: SummaryFormat,
    /// Ingest again inputs the manifest says were already ingested (adds duplicates).
    #[arg(long)]
    pub force: bool,
}

#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum SummaryFormat {
    Table,
    Json,
}

#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum OutputFormat {
    Table,
    Csv,
    Json,
    Ndjson,
}

#[derive(Debug, Args)]
pub struct RangeArgs {
    /// Only rows at or after this time: 24h, 7d, 2024-05-01, 2024-05-01T10:00:00Z.
    #[arg(long)]
    pub since: Option<String>,
    /// Only rows before this time (same forms as --since).
    #[arg(long)]
    pub until: Option<String>,
}

#[derive(Debug, Args)]
pub struct QueryArgs {
    /// The filter, e.g. `203.0.113.7 and dport 443` (words may be given unquoted).
    pub filter: Vec<String>,
    /// The table a filter applies to.
    #[arg(long, value_enum, default_value_t = TableArg::Flows)]
    pub table: TableArg,
    /// Run this SQL instead (tables `flows` and `http`).
    #[arg(long, conflicts_with = "filter")]
    pub sql: Option<String>,
    #[command(flatten)]
    pub range: RangeArgs,
    /// Most rows to print in filter mode.
    #[arg(long, default_value_t = 100)]
    pub limit: usize,
    /// Columns to show in filter mode (comma-separated, `*` for all).
    #[arg(long, value_delimiter = ',')]
    pub columns: Vec<String>,
    /// Output format (default: table on a terminal, CSV otherwise).
    #[arg(short = 'o', long, value_enum)]
    pub output: Option<OutputFormat>,
    #[command(flatten)]
    pub exec: ExecArgs,
}

#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum TableArg {
    Flows,
    Http,
}

impl TableArg {
    pub fn table(self) -> flowtrail_query::Table {
        match self {
            TableArg::Flows => flowtrail_query::Table::Flows,
            TableArg::Http => flowtrail_query::Table::Http,
        }
    }
}

#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum By {
    Bytes,
    Flows,
    Packets,
}

#[derive(Debug, Args)]
pub struct TopArgs {
    /// Column(s) to rank, comma-separated (e.g. `src_ip` or `src_ip,dst_port`).
    pub field: String,
    /// Optional filter, as for `query`.
    pub filter: Vec<String>,
    #[arg(long, value_enum, default_value_t = By::Bytes)]
    pub by: By,
    /// The table to rank.
    #[arg(long, value_enum, default_value_t = TableArg::Flows)]
    pub table: TableArg,
    #[arg(long, default_value_t = 10)]
    pub limit: usize,
    #[command(flatten)]
    pub range: RangeArgs,
    #[arg(short = 'o', long, value_enum)]
    pub output: Option<OutputFormat>,
    #[command(flatten)]
    pub exec: ExecArgs,
}

/// How a query is run and timed.
#[derive(Debug, Args)]
pub struct ExecArgs {
    /// Print the session set-up time and the query's time (planning + execution) to stderr.
    #[arg(long)]
    pub timing: bool,
    /// Run the query this many times in one session and print each run's time (for
    /// benchmarking: later runs show the cost of a lake kept open, as by the web UI).
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub runs: u32,
}

impl Default for ExecArgs {
    fn default() -> Self {
        ExecArgs {
            timing: false,
            runs: 1,
        }
    }
}

#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum GenKind {
    AwsVpc,
    AzureNsg,
}

#[derive(Debug, Args)]
pub struct GenArgs {
    #[arg(value_enum)]
    pub kind: GenKind,
    /// Records (VPC lines or NSG flow tuples) to write.
    #[arg(long, default_value_t = 1_000_000)]
    pub records: u64,
    /// Files to spread them over.
    #[arg(long, default_value_t = 20)]
    pub files: u32,
    #[arg(long)]
    pub out: PathBuf,
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
}
