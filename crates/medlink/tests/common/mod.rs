//! Helpers for the hub's end-to-end tests: spawn the real `medlink` binary and mosquitto on
//! free loopback ports, speak minimal HTTP/1.1, and find the Python venv.

#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Runs `medlink` with `args` to completion and checks that it succeeded (its stderr otherwise).
pub fn medlink_succeeds(args: &[&std::ffi::OsStr]) -> std::process::Output {
    let output = Command::new(env!("CARGO_BIN_EXE_medlink"))
        .args(args)
        .output()
        .expect("medlink runs");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A fresh temporary directory for one test.
pub fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("medlink-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A child process killed (SIGKILL) when dropped.
pub struct Proc(pub Child);

impl Proc {
    /// SIGKILL, as a crash would.
    pub fn kill9(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        self.kill9();
    }
}

/// The name of the token `start_hub` issues (alert actions made with it are made as this name).
pub const TEST_TOKEN_NAME: &str = "nurse.jo";

/// The token of the hub on each HTTP port, sent by [`http`] (issued by [`start_hub`]).
static TOKENS: std::sync::Mutex<Vec<(u16, String)>> = std::sync::Mutex::new(Vec::new());

/// Issues a token with `scope` for the hub whose database is `db` (as `medlink hub token issue`).
pub fn issue_token(db: &Path, name: &str, scope: &str) -> String {
    let output = medlink_succeeds(&[
        "hub".as_ref(),
        "token".as_ref(),
        "issue".as_ref(),
        "--db".as_ref(),
        db.as_os_str(),
        "--name".as_ref(),
        name.as_ref(),
        "--scope".as_ref(),
        scope.as_ref(),
        "--quiet".as_ref(),
    ]);
    String::from_utf8_lossy(&output.stdout).trim().to_string()
}

/// Starts `medlink hub` with `extra` args and waits for its HTTP port; [`http`] calls it with
/// a token that may do everything.
pub fn start_hub(db: &Path, http_port: u16, extra: &[String]) -> Proc {
    start_hub_logging_to(db, http_port, extra, &db.with_extension("log"))
}

/// [`start_hub`] with its log in `log` (several hubs on one database each keep their own).
pub fn start_hub_logging_to(db: &Path, http_port: u16, extra: &[String], log: &Path) -> Proc {
    let token = issue_token(db, TEST_TOKEN_NAME, "system/*.*");
    if let Ok(mut tokens) = TOKENS.lock() {
        tokens.retain(|(port, _)| *port != http_port);
        tokens.push((http_port, token));
    }
    let log = std::fs::File::create(log).unwrap();
    let child = Command::new(env!("CARGO_BIN_EXE_medlink"))
        .arg("hub")
        .arg("--db")
        .arg(db)
        .arg("--http")
        .arg(format!("127.0.0.1:{http_port}"))
        .args(extra)
        .env(
            "RUST_LOG",
            std::env::var("MEDLINK_TEST_LOG").unwrap_or_else(|_| "warn".into()),
        )
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .unwrap();
    let proc = Proc(child);
    wait_for_port(http_port);
    let subscribed = eventually(20, || {
        http(http_port, "GET", "/metrics", None)
            .1
            .contains("medlink_hub_mqtt_subscribed 1")
    });
    assert!(subscribed, "the hub never subscribed to its MQTT topics");
    proc
}

pub fn wait_for_port(port: u16) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "nothing listens on port {port}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

pub fn mosquitto_binary() -> Option<PathBuf> {
    [
        "/usr/sbin/mosquitto",
        "/usr/bin/mosquitto",
        "/usr/local/sbin/mosquitto",
    ]
    .iter()
    .map(PathBuf::from)
    .find(|p| p.exists())
}

/// Registers a device in the hub's database (as `medlink hub device add`); its password.
pub fn register(db: &Path, device: &str, patient: &str) -> String {
    let mut store = store::Store::open(db, store::Durability::Normal).unwrap();
    hub::registrations::register(&mut store, device, patient, hub::now_ms()).unwrap()
}

/// Starts a private mosquitto on a free port (unlimited queues for persistent sessions), secured
/// as docs/hub.md says: no anonymous clients, the password and ACL files `medlink hub device
/// mosquitto` writes from `db`'s registrations (register the devices first). Returns the broker,
/// its port and the arguments that point the hub at it with the hub's own account.
pub fn start_mosquitto(dir: &Path, db: &Path) -> (Proc, u16, Vec<String>) {
    let binary =
        mosquitto_binary().expect("mosquitto is missing: run bash scripts/setup-mosquitto.sh");
    let files = dir.join("mosquitto");
    let written = Command::new(env!("CARGO_BIN_EXE_medlink"))
        .args(["hub", "device", "mosquitto", "--db"])
        .arg(db)
        .arg("--dir")
        .arg(&files)
        .stdout(Stdio::null())
        .status()
        .unwrap();
    assert!(written.success(), "medlink hub device mosquitto failed");
    let port = free_port();
    let conf = dir.join("mosquitto.conf");
    std::fs::write(
        &conf,
        format!(
            "user root\nlistener {port} 127.0.0.1\nallow_anonymous false\npassword_file {0}/passwd\nacl_file {0}/acl\nmax_queued_messages 0\nmax_inflight_messages 0\n",
            files.display()
        ),
    )
    .unwrap();
    let log = std::fs::File::create(dir.join("mosquitto.log")).unwrap();
    let child = Command::new(binary)
        .arg("-v")
        .arg("-c")
        .arg(&conf)
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .unwrap();
    let proc = Proc(child);
    wait_for_port(port);
    let hub_args = vec![
        "--mqtt".to_string(),
        format!("mqtt://127.0.0.1:{port}"),
        "--mqtt-username".to_string(),
        "medlink-hub".to_string(),
        "--mqtt-password-file".to_string(),
        files.join("hub.password").display().to_string(),
    ];
    (proc, port, hub_args)
}

/// The `Authorization` header line for the hub on `port`, if `start_hub` started it.
pub fn authorization(port: u16) -> String {
    let tokens = TOKENS.lock().map(|t| t.clone()).unwrap_or_default();
    tokens
        .iter()
        .find(|(p, _)| *p == port)
        .map(|(_, token)| format!("Authorization: Bearer {token}\r\n"))
        .unwrap_or_default()
}

/// One HTTP/1.1 request (with the hub's test token); returns (status, body).
pub fn http(port: u16, method: &str, path: &str, body: Option<&str>) -> (u16, String) {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let body = body.unwrap_or("");
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n{}Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        authorization(port),
        body.len()
    );
    stream.write_all(request.as_bytes()).unwrap();
    let mut response = Vec::new();
    stream.read_to_end(&mut response).unwrap();
    let text = String::from_utf8_lossy(&response).into_owned();
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let (head, rest) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let body = if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        dechunk(rest)
    } else {
        rest.to_string()
    };
    (status, body)
}

fn dechunk(mut rest: &str) -> String {
    let mut out = String::new();
    while let Some((size, after)) = rest.split_once("\r\n") {
        let Ok(n) = usize::from_str_radix(size.trim(), 16) else {
            break;
        };
        if n == 0 || after.len() < n {
            break;
        }
        out.push_str(&after[..n]);
        rest = after[n..].trim_start_matches("\r\n");
    }
    out
}

pub fn get_json(port: u16, path: &str) -> serde_json::Value {
    let (status, body) = http(port, "GET", path, None);
    assert_eq!(status, 200, "GET {path}: {body}");
    serde_json::from_str(&body).unwrap_or_else(|e| panic!("GET {path}: {e}: {body}"))
}

/// Polls `check` every 50 ms until it holds or `seconds` pass.
pub fn eventually(seconds: u64, mut check: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + Duration::from_secs(seconds);
    while Instant::now() < deadline {
        if check() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    check()
}

/// The Python of the project venv (MEDLINK_VENV, else <repo>/.venv).
pub fn venv_python() -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let venv = std::env::var_os("MEDLINK_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join(".venv"));
    let python = venv.join("bin/python");
    assert!(
        python.exists(),
        "{} is missing: run bash scripts/setup-python.sh",
        python.display()
    );
    python
}

/// The repository root.
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The address a process prints in its first line ("... listening on ADDR ...").
pub fn first_address(lines: &mut impl Iterator<Item = std::io::Result<String>>) -> String {
    let first = lines.next().unwrap().unwrap();
    first
        .split_whitespace()
        .find(|w| w.contains(':') && w.parse::<std::net::SocketAddr>().is_ok())
        .unwrap_or_else(|| panic!("no address in {first:?}"))
        .to_string()
}

/// Plans the small fibroid of the CLI tests (3 mm grid, 30 mm lesion) into `out`.
pub fn small_hifu_plan(out: &Path) {
    medlink_succeeds(&[
        "hifu".as_ref(),
        "plan".as_ref(),
        "--spacing-mm".as_ref(),
        "3".as_ref(),
        "--fibroid-diameter-mm".as_ref(),
        "30".as_ref(),
        "--out".as_ref(),
        out.as_os_str(),
    ]);
}

/// Debian's chromium on PATH, for the browser tests; `None`, saying the test is skipped, when
/// it is missing (bash scripts/setup-browser.sh installs it).
pub fn chromium_or_skip() -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    let found = std::env::split_paths(&path)
        .flat_map(|dir| ["chromium", "chromium-browser"].map(|name| dir.join(name)))
        .find(|candidate| candidate.is_file());
    if found.is_none() {
        eprintln!("SKIPPED: no chromium on PATH; run bash scripts/setup-browser.sh");
    }
    found
}

/// The sign-in link (starting with `scheme`, e.g. "https://") in a line a page's program printed.
pub fn page_url(line: &str, scheme: &str) -> String {
    let url = line
        .split_whitespace()
        .find(|word| word.starts_with(scheme))
        .unwrap_or_else(|| panic!("no {scheme} page URL in {line:?}"))
        .to_string();
    assert!(url.contains("?token="), "{url}");
    url
}

/// This machine's address on its first non-loopback interface (no packet is sent).
pub fn non_loopback_address() -> Option<std::net::IpAddr> {
    // Any routable destination names the interface; these need no name lookup.
    [
        "10.255.255.1:9",
        "192.0.2.1:9",
        "198.51.100.1:9",
        "203.0.113.1:9",
    ]
    .iter()
    .find_map(|target| {
        let socket = std::net::UdpSocket::bind("0.0.0.0:0").ok()?;
        socket.connect(target).ok()?;
        let ip = socket.local_addr().ok()?.ip();
        (!ip.is_loopback() && !ip.is_unspecified()).then_some(ip)
    })
}

/// Runs tests/browser/`script` with the venv's python and `args`; its stdout. When it fails,
/// panics with its stdout, stderr and `logs()` (the logs of the processes it tested).
pub fn browser_script(
    script: &str,
    args: &[&std::ffi::OsStr],
    logs: impl Fn() -> String,
) -> String {
    let output = Command::new(venv_python())
        .arg(repo_root().join("tests/browser").join(script))
        .args(args)
        .output()
        .expect("the venv's python runs");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "{script} failed:\n{stdout}\n{}\n{}",
        String::from_utf8_lossy(&output.stderr),
        logs()
    );
    stdout
}

/// The station.log and console.log that a browser test's processes wrote in `dir`.
pub fn role_logs(dir: &Path) -> String {
    format!(
        "station log:\n{}\nconsole log:\n{}",
        std::fs::read_to_string(dir.join("station.log")).unwrap_or_default(),
        std::fs::read_to_string(dir.join("console.log")).unwrap_or_default()
    )
}

/// Tells a `medlink station ... --json` (stdin piped) to quit and reads its JSON report from
/// the rest of its stdout.
pub fn station_report(station: &mut Proc, stdout: &mut impl Read, logs: &str) -> serde_json::Value {
    if let Some(stdin) = station.0.stdin.as_mut() {
        stdin.write_all(b"quit\n").unwrap();
    }
    let mut report = String::new();
    stdout.read_to_string(&mut report).unwrap();
    let _ = station.0.wait();
    serde_json::from_str(report.trim())
        .unwrap_or_else(|e| panic!("station report: {e}: {report}\n{logs}"))
}

/// The station and the console of a page test, from [`start_station_and_console`].
pub struct PageRoles {
    pub station: Proc,
    /// The station's stdout after its first two lines (its JSON report comes at the end).
    pub station_out: std::io::BufReader<std::process::ChildStdout>,
    pub console: Proc,
    pub console_out: std::io::BufReader<std::process::ChildStdout>,
    /// The bedside panel's and the console page's one-time links.
    pub panel_url: String,
    pub console_url: String,
}

/// `medlink station` (QUIC on loopback, with `camera` its camera at 640x360 and 15 fps to keep
/// the encoder light on a shared machine, its bedside panel on `page_ip`) and `medlink console
/// --ui` on `page_ip` with `console_args`, both `--no-record --json`, their logs and audit in
/// `dir`, the PKI in `pki`; the pages' links must start with `scheme`.
pub fn start_station_and_console(
    dir: &Path,
    pki: &Path,
    page_ip: std::net::IpAddr,
    console_args: &[&str],
    scheme: &str,
    camera: bool,
) -> PageRoles {
    use std::io::BufRead;
    let station_toml = dir.join("station.toml");
    let camera = if camera {
        "[camera]\nwidth = 640\nheight = 360\nfps = 15.0\n"
    } else {
        ""
    };
    std::fs::write(&station_toml, camera).unwrap();
    let station_port = free_port();
    let spawn = |role: &str, args: Vec<String>, stdin: Stdio| {
        let mut child = Command::new(env!("CARGO_BIN_EXE_medlink"))
            .arg(role)
            .args(args)
            .arg("--pki")
            .arg(pki)
            .arg("--audit-dir")
            .arg(dir.join(format!("{role}-audit")))
            .args(["--no-record", "--json"])
            .stdin(stdin)
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(dir.join(format!("{role}.log"))).unwrap())
            .spawn()
            .unwrap();
        let out = std::io::BufReader::new(child.stdout.take().unwrap());
        (Proc(child), out)
    };
    let read_line = |out: &mut std::io::BufReader<std::process::ChildStdout>| {
        let mut line = String::new();
        out.read_line(&mut line).unwrap();
        line
    };
    let (station, mut station_out) = spawn(
        "station",
        vec![
            "--config".into(),
            station_toml.display().to_string(),
            "--listen".into(),
            format!("127.0.0.1:{station_port}"),
            "--ui".into(),
            format!("{page_ip}:{}", free_port()),
        ],
        Stdio::piped(),
    );
    let line = read_line(&mut station_out);
    assert!(line.contains("station listening"), "{line}");
    let panel_url = page_url(&read_line(&mut station_out), scheme);
    let mut args = vec![
        "--station".to_string(),
        format!("127.0.0.1:{station_port}"),
        "--ui".into(),
        format!("{page_ip}:{}", free_port()),
    ];
    args.extend(console_args.iter().map(|a| a.to_string()));
    let (console, mut console_out) = spawn("console", args, Stdio::null());
    let console_url = page_url(&read_line(&mut console_out), scheme);
    PageRoles {
        station,
        station_out,
        console,
        console_out,
        panel_url,
        console_url,
    }
}

/// Checks that each screenshot `names` in `shots` was taken (over 10 kB) and, with
/// MEDLINK_UPDATE_SCREENSHOTS set, copies it into docs/img for the docs.
pub fn keep_screenshots(shots: &Path, names: &[&str]) {
    for name in names {
        let shot = shots.join(name);
        let size = std::fs::metadata(&shot).map(|m| m.len()).unwrap_or(0);
        assert!(size > 10_000, "{name} is missing or empty ({size} bytes)");
        if std::env::var_os("MEDLINK_UPDATE_SCREENSHOTS").is_some() {
            let docs = repo_root().join("docs/img");
            std::fs::create_dir_all(&docs).unwrap();
            std::fs::copy(&shot, docs.join(name)).unwrap();
        }
    }
}

/// The station's report (`station_report`) shows the page's commands applied and none unsafe.
pub fn assert_applied_safely(report: &serde_json::Value) {
    assert!(
        report["commands_applied"].as_u64().unwrap_or(0) > 0,
        "{report}"
    );
    assert_eq!(report["unsafe_applied"], 0, "{report}");
}
