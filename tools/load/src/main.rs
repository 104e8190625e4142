//! `replyline-load`: how fast the dev server on SQLite answers providers and agents, as a
//! ratio to a trivial handler on the same HTTP stack, measured in the same run.
//!
//! ```sh
//! cargo build --release -p replyline-devserver -p replyline-load
//! target/release/replyline-load            # 100k contacts, 1M messages (seeded once, cached)
//! target/release/replyline-load --contacts 10000 --messages 100000 --seconds 5
//! ```
//!
//! Phases (each bounded by `--seconds` and `--requests`, 127.0.0.1 only):
//! 1. `trivial`: `GET /_ping`, the ceiling of the stack (axum + hyper + tokio, one process);
//! 2. `webhooks`: signed website-chat webhooks from many visitors (new and known contacts);
//! 3. `inbox list`: every view and status, newest first;
//! 4. `inbox search`: first name, last name, partial last name, partial phone, exact email.
//!
//! `replyline-load coldstart [--runs N] [--bin-dir DIR]` instead starts each Lambda
//! function binary under a local Runtime API and reports its init time and peak memory
//! (see `coldstart.rs`).
//!
//! The dev server runs as its own process with its default two worker threads; this tool
//! drives it from one thread, so both share the machine as they would on a small host.

mod coldstart;
mod drive;
mod seed;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use drive::{Bounds, Report};

struct Options {
    contacts: usize,
    messages: usize,
    concurrency: usize,
    inbox_concurrency: usize,
    seconds: u64,
    requests: usize,
    devserver: PathBuf,
    cache: PathBuf,
}

const USAGE: &str = "usage: replyline-load [--contacts N] [--messages N] [--concurrency N] \
[--inbox-concurrency N] [--seconds S] [--requests N] [--devserver PATH] [--cache DIR]";

fn options() -> Result<Options, String> {
    let root = workspace_root();
    let mut o = Options {
        contacts: 100_000,
        messages: 1_000_000,
        concurrency: 16,
        inbox_concurrency: 4,
        seconds: 10,
        requests: 100_000,
        devserver: root.join("target/release/replyline-devserver"),
        cache: root.join("target/load"),
    };
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut it = args.iter();
    while let Some(flag) = it.next() {
        let mut value = || {
            it.next()
                .cloned()
                .ok_or_else(|| format!("{flag} needs a value\n{USAGE}"))
        };
        let number = |v: String| {
            v.parse::<usize>()
                .map_err(|_| format!("{flag}: not a number: {v}"))
        };
        match flag.as_str() {
            "--contacts" => o.contacts = number(value()?)?.max(1),
            "--messages" => o.messages = number(value()?)?,
            "--concurrency" => o.concurrency = number(value()?)?.max(1),
            "--inbox-concurrency" => o.inbox_concurrency = number(value()?)?.max(1),
            "--seconds" => o.seconds = number(value()?)?.clamp(1, 600) as u64,
            "--requests" => o.requests = number(value()?)?.max(1),
            "--devserver" => o.devserver = PathBuf::from(value()?),
            "--cache" => o.cache = PathBuf::from(value()?),
            "--help" | "-h" => return Err(USAGE.to_owned()),
            other => return Err(format!("unknown option {other}\n{USAGE}")),
        }
    }
    Ok(o)
}

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap_or_else(|_| PathBuf::from("."))
}

const WEB_SECRET: &str = "load-webchat-secret";
const TOKEN: &str = "load-token-alice";

/// The dev server's configuration: the seeded store, one website-chat channel whose
/// replies go nowhere (the load sends no replies).
fn write_config(dir: &Path, db: &Path) -> Result<PathBuf, String> {
    let path = dir.join("load.toml");
    let text = format!(
        r#"[server]
listen = "127.0.0.1:0"
public_url = "http://127.0.0.1"

[store]
kind = "sqlite"
path = "{}"

[[agents]]
id = "alice"
token = "{TOKEN}"

[[channels]]
id = "web"
kind = "webchat"
secret = "{WEB_SECRET}"
callback_url = "http://127.0.0.1:9/unused"
"#,
        db.display()
    );
    std::fs::write(&path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    Ok(path)
}

/// The dev server, stopped on drop.
struct Server {
    child: Child,
    base: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_server(binary: &Path, config: &Path) -> Result<Server, String> {
    use std::io::{BufRead, BufReader};
    if !binary.exists() {
        return Err(format!(
            "{} not found: run `cargo build --release -p replyline-devserver` (or pass --devserver)",
            binary.display()
        ));
    }
    let mut child = Command::new(binary)
        .arg("--config")
        .arg(config)
        .env("RUST_LOG", "info")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("cannot start {}: {e}", binary.display()))?;
    let stdout = child.stdout.take().ok_or("no stdout")?;
    let mut line = String::new();
    BufReader::new(stdout)
        .read_line(&mut line)
        .map_err(|e| e.to_string())?;
    let base = line
        .trim()
        .rsplit(' ')
        .next()
        .filter(|u| u.starts_with("http://127.0.0.1:"))
        .ok_or_else(|| format!("the dev server did not say where it listens: {line:?}"))?
        .to_owned();
    Ok(Server { child, base })
}

async fn expect_ok(resp: Result<reqwest::Response, reqwest::Error>) -> Result<(), String> {
    let resp = resp.map_err(|e| e.to_string())?;
    let status = resp.status();
    let body = resp.bytes().await.map_err(|e| e.to_string())?;
    if status.is_success() {
        Ok(())
    } else {
        Err(format!("{status}: {}", String::from_utf8_lossy(&body)))
    }
}

fn print_table(reports: &[Report], ceiling: f64) {
    println!(
        "| phase | requests | errors | req/s | ratio to trivial | p50 ms | p90 ms | p99 ms | max ms |"
    );
    println!("|---|---|---|---|---|---|---|---|---|");
    for r in reports {
        println!(
            "| {} | {} | {} | {:.0} | {:.1}% | {:.2} | {:.2} | {:.2} | {:.2} |",
            r.name,
            r.requests,
            r.errors,
            r.throughput(),
            100.0 * r.throughput() / ceiling,
            r.percentile_ms(50.0),
            r.percentile_ms(90.0),
            r.percentile_ms(99.0),
            r.max_ms()
        );
    }
}

fn coldstart_options() -> Result<(PathBuf, usize), String> {
    let mut bin_dir = workspace_root().join("target/release");
    let mut runs = 20;
    let args: Vec<String> = std::env::args().skip(2).collect();
    let mut it = args.iter();
    while let Some(flag) = it.next() {
        let value = it.next().ok_or_else(|| format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--runs" => {
                runs = value
                    .parse::<usize>()
                    .map_err(|_| format!("--runs: not a number: {value}"))?
                    .clamp(1, 1000)
            }
            "--bin-dir" => bin_dir = PathBuf::from(value),
            other => {
                return Err(format!(
                    "unknown option {other}\nusage: replyline-load coldstart [--runs N] [--bin-dir DIR]"
                ))
            }
        }
    }
    Ok((bin_dir, runs))
}

fn main() -> std::process::ExitCode {
    if std::env::args().nth(1).as_deref() == Some("coldstart") {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a tokio runtime");
        let result = coldstart_options()
            .and_then(|(dir, runs)| rt.block_on(coldstart::coldstart(&dir, runs)));
        return match result {
            Ok(()) => std::process::ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("replyline-load coldstart: {e}");
                std::process::ExitCode::FAILURE
            }
        };
    }
    let o = match options() {
        Ok(o) => o,
        Err(e) => {
            eprintln!("{e}");
            return std::process::ExitCode::from(2);
        }
    };
    // One thread drives the load; the server has its own process and threads.
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime");
    match rt.block_on(run(o)) {
        Ok(true) => std::process::ExitCode::SUCCESS,
        Ok(false) => std::process::ExitCode::FAILURE,
        Err(e) => {
            eprintln!("replyline-load: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run(o: Options) -> Result<bool, String> {
    std::fs::create_dir_all(&o.cache).map_err(|e| e.to_string())?;
    let seeded = o
        .cache
        .join(format!("seed-{}-{}.db", o.contacts, o.messages));
    if !seeded.exists() {
        eprintln!(
            "seeding {} contacts and {} messages into {} (once; cached)",
            o.contacts,
            o.messages,
            seeded.display()
        );
        let partial = seeded.with_extension("partial");
        let _ = std::fs::remove_file(&partial);
        seed::seed(&partial, o.contacts, o.messages).await?;
        // Fold the WAL into the file so one copy is the whole store.
        checkpoint(&partial)?;
        std::fs::rename(&partial, &seeded).map_err(|e| e.to_string())?;
    }
    // Each run works on a copy: webhooks write, and the next run starts from the seed.
    let work = o.cache.join("run");
    let _ = std::fs::remove_dir_all(&work);
    std::fs::create_dir_all(&work).map_err(|e| e.to_string())?;
    let db = work.join("store.db");
    std::fs::copy(&seeded, &db).map_err(|e| e.to_string())?;
    let config = write_config(&work, &db)?;
    let server = start_server(&o.devserver, &config)?;
    eprintln!("dev server at {}", server.base);

    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(o.concurrency.max(o.inbox_concurrency))
        .timeout(Duration::from_secs(30))
        .build()
        .map_err(|e| e.to_string())?;
    let bounds = Bounds {
        concurrency: o.concurrency,
        max_requests: o.requests,
        max_time: Duration::from_secs(o.seconds),
    };
    let inbox_bounds = Bounds {
        concurrency: o.inbox_concurrency,
        ..bounds
    };
    let base = server.base.clone();

    // Warm the connection pool and the server's caches before measuring.
    for _ in 0..20 {
        expect_ok(client.get(format!("{base}/_ping")).send().await).await?;
    }

    let mut reports = Vec::new();
    let (c, b) = (client.clone(), base.clone());
    reports.push(
        drive::run("trivial `GET /_ping`", bounds, move |_| {
            let req = c.get(format!("{b}/_ping")).send();
            async move { expect_ok(req.await).await }
        })
        .await,
    );

    // Visitors: one in ten requests comes from a new visitor, the rest from known ones.
    let (c, b) = (client.clone(), base.clone());
    let run_id = std::process::id();
    reports.push(
        drive::run("webhooks (signed, 10% new contacts)", bounds, move |n| {
            let visitor = if n % 10 == 0 {
                format!("load-{run_id}-new-{n}")
            } else {
                format!("load-{run_id}-known-{}", n % 500)
            };
            let body = serde_json::json!({
                "visitor_id": visitor,
                "message_id": format!("load-{run_id}-{n}"),
                "text": "Hello, I have a question about my order",
                "name": "Load Tester",
            })
            .to_string();
            let signature = replyline_channels::webchat::sign(WEB_SECRET, body.as_bytes());
            let req = c
                .post(format!("{b}/webhooks/web"))
                .header("content-type", "application/json")
                .header("x-replyline-signature", signature)
                .body(body)
                .send();
            async move { expect_ok(req.await).await }
        })
        .await,
    );

    let lists = [
        "view=all&status=open",
        "view=all&status=closed",
        "view=all&status=all",
        "view=mine&status=open",
        "view=mine&status=closed",
        "view=unassigned&status=open",
        "view=unassigned&status=snoozed",
        "view=all&status=open&sort=oldest",
    ];
    let (c, b) = (client.clone(), base.clone());
    reports.push(
        drive::run("inbox list (8 view/status mixes)", inbox_bounds, move |n| {
            let req = c
                .get(format!("{b}/v1/inbox?{}", lists[n % lists.len()]))
                .bearer_auth(TOKEN)
                .send();
            async move { expect_ok(req.await).await }
        })
        .await,
    );

    let contacts = o.contacts;
    let searches = move |n: usize| -> String {
        let i = (n * 7919) % contacts;
        match n % 5 {
            0 => format!("q={}&view=all&status=all", seed::first_name(i)),
            1 => format!("q={}&view=all&status=all", seed::last_name(i)),
            2 => format!(
                "q={}&view=all&status=all",
                &seed::last_name(i)[..4].to_lowercase()
            ),
            3 => format!("q={}&view=all&status=all", &seed::phone(i)[5..12]),
            _ => format!("q={}&view=all&status=all", seed::email(i)),
        }
    };
    let (c, b) = (client.clone(), base.clone());
    reports.push(
        drive::run(
            "inbox search (name, surname, partial, phone, email)",
            inbox_bounds,
            move |n| {
                let req = c
                    .get(format!("{b}/v1/inbox?{}", searches(n)))
                    .bearer_auth(TOKEN)
                    .send();
                async move { expect_ok(req.await).await }
            },
        )
        .await,
    );

    drop(server);
    let ceiling = reports[0].throughput();
    println!(
        "\n{} contacts, {} messages; concurrency {} (inbox {}); up to {} s or {} requests per phase\n",
        o.contacts, o.messages, o.concurrency, o.inbox_concurrency, o.seconds, o.requests
    );
    print_table(&reports, ceiling);
    let mut ok = true;
    for r in &reports {
        if let Some(e) = &r.first_error {
            eprintln!("{}: {} errors, first: {e}", r.name, r.errors);
            ok = false;
        }
    }
    Ok(ok)
}

/// Folds the write-ahead log into the database file, so the file alone is the store.
fn checkpoint(path: &Path) -> Result<(), String> {
    let conn = rusqlite::Connection::open(path).map_err(|e| e.to_string())?;
    conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))
        .map_err(|e| format!("checkpoint of {}: {e}", path.display()))?;
    conn.close().map_err(|(_, e)| e.to_string())?;
    let wal = PathBuf::from(format!("{}-wal", path.display()));
    if std::fs::metadata(&wal).map(|m| m.len()).unwrap_or(0) > 0 {
        return Err(format!("{} still has a write-ahead log", path.display()));
    }
    Ok(())
}
