//! AWS's own emulator of the durable execution service, `dex-local-runner` (PyPI
//! aws-durable-execution-sdk-python-testing, pinned in tests/requirements.txt), started on a
//! free loopback port and stopped by pid.

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::local::http;
use crate::venv_tool;

#[derive(Debug)]
pub struct DexRunner {
    child: Child,
    /// Base URL of its durable execution API.
    pub url: String,
}

impl DexRunner {
    pub fn start() -> Self {
        let bin = venv_tool("dex-local-runner", "DEX_LOCAL_RUNNER");
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port()
            .to_string();
        let mut child = Command::new(&bin)
            .args(["start-server", "--host", "127.0.0.1", "--port", &port])
            .args([
                "--local-runner-region",
                "us-east-1",
                "--log-level",
                "WARNING",
            ])
            // Its Lambda client signs its Invokes; the local cloud accepts any key.
            .env("AWS_ACCESS_KEY_ID", "local")
            .env("AWS_SECRET_ACCESS_KEY", "local")
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", bin.display()));
        let url = format!("http://127.0.0.1:{port}");
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if std::net::TcpStream::connect(("127.0.0.1", port.parse().unwrap())).is_ok()
                && http("GET", &format!("{url}/health"), &[], "").0 == 200
            {
                break;
            }
            if Instant::now() > deadline || !matches!(child.try_wait(), Ok(None)) {
                let _ = child.kill();
                let _ = child.wait();
                panic!("dex-local-runner did not become ready on {url} within 30 s");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        DexRunner { child, url }
    }
}

impl Drop for DexRunner {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
