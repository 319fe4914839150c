//! Peers that outlive no test binary: each runs under a small `sh` supervisor whose standard
//! input is a pipe held by the test binary. When the binary exits, for whatever reason, the
//! pipe closes and the supervisor stops the peer by its pid (or its process group's).
//! Nothing is ever stopped by name.

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::Mutex;

/// A supervised peer process; dropping it (or exiting) stops the peer.
#[derive(Debug)]
pub struct Supervised {
    _stdin: Mutex<ChildStdin>,
    pub child: Mutex<Child>,
}

/// A free loopback port.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

/// Runs `script` under `sh -c` with positional `args`. The script starts the peer in the
/// background, prints `pid <pid>`, then waits with `read _` and stops the peer after it.
pub fn supervise(name: &str, script: &str, args: &[&str], env: &[(&str, &str)]) -> Supervised {
    let mut child = Command::new("sh")
        .args(["-c", script, "sh"])
        .args(args)
        .envs(env.iter().copied())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start sh for {name}: {e}"));
    let stdin = child.stdin.take().expect("piped stdin");
    let mut first = String::new();
    if let Some(out) = child.stdout.take() {
        let _ = BufReader::new(out).read_line(&mut first);
    }
    assert!(first.starts_with("pid "), "{name} did not start");
    Supervised {
        _stdin: Mutex::new(stdin),
        child: Mutex::new(child),
    }
}
