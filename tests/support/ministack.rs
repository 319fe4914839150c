//! ministack (PyPI `ministack`, pinned in tests/requirements-ministack.txt, installed by
//! `make test` into .venv-ministack): CloudFormation, S3, API Gateway, Lambda (our
//! provided.al2023 binaries as processes), DynamoDB and Secrets Manager on one loopback port.
//! Started once per test binary in its own process group (its Lambda workers included),
//! which the supervisor stops when the binary exits.

use std::path::PathBuf;
use std::process::{Command, Output};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use crate::local::http;
use crate::peer::{Supervised, free_port, supervise};
use crate::{deployer_bin, workspace_root};

#[derive(Debug)]
pub struct Ministack {
    pub endpoint: String,
    pub dir: PathBuf,
    _peer: Supervised,
}

fn binary() -> PathBuf {
    if let Some(p) = std::env::var_os("MINISTACK") {
        return PathBuf::from(p);
    }
    let path = workspace_root().join(".venv-ministack/bin/ministack");
    assert!(
        path.exists(),
        "ministack is not installed at {}: run `make test`, which installs the pinned \
         tests/requirements-ministack.txt into .venv-ministack (or set MINISTACK)",
        path.display()
    );
    path
}

fn start() -> Ministack {
    let bin = binary();
    let port = free_port().to_string();
    let dir = std::env::temp_dir().join(format!("ministack-{}-{port}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("a working directory for ministack");
    let endpoint = format!("http://127.0.0.1:{port}");
    let script = r#"cd "$1" || exit 1
setsid "$2" >"$1/ministack.log" 2>&1 &
ms=$!
echo "pid $ms"
read _
kill -TERM -"$ms" 2>/dev/null
sleep 1
kill -KILL -"$ms" 2>/dev/null"#;
    let peer = supervise(
        "ministack",
        script,
        &[&dir.to_string_lossy(), &bin.to_string_lossy()],
        &[
            ("BIND_HOST", "127.0.0.1"),
            ("GATEWAY_PORT", &port),
            // Lambda binaries it runs reach the other services through this.
            ("AWS_ENDPOINT_URL", &endpoint),
        ],
    );
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if std::net::TcpStream::connect(("127.0.0.1", port.parse::<u16>().unwrap())).is_ok()
            && http("GET", &format!("{endpoint}/_ministack/health"), &[], "").0 == 200
        {
            break;
        }
        if let Ok(Some(status)) = peer.child.lock().unwrap().try_wait() {
            panic!(
                "ministack exited early ({status}); see {}/ministack.log",
                dir.display()
            );
        }
        assert!(
            Instant::now() < deadline,
            "ministack did not answer on {endpoint} within 60 s; see {}/ministack.log",
            dir.display()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    Ministack {
        endpoint,
        dir,
        _peer: peer,
    }
}

/// The shared ministack of this test binary, started on first use.
pub fn ministack() -> &'static Ministack {
    static PEER: OnceLock<Ministack> = OnceLock::new();
    PEER.get_or_init(start)
}

impl Ministack {
    /// The deployer, run against this ministack as AWS account `account` (ministack takes
    /// a 12-digit access key id as the account id), with nothing from the user's AWS setup.
    pub fn deployer(&self, account: &str, args: &[&str], env: &[(&str, &str)]) -> crate::Run {
        self.deployer_in(&workspace_root(), account, args, env)
    }

    /// [`Ministack::deployer`] in directory `cwd`.
    pub fn deployer_in(
        &self,
        cwd: &std::path::Path,
        account: &str,
        args: &[&str],
        env: &[(&str, &str)],
    ) -> crate::Run {
        let output: Output = self
            .command(cwd, account, args, env)
            .output()
            .expect("deployer starts");
        crate::Run::from_output(output)
    }

    /// The deployer command of [`Ministack::deployer_in`], to spawn.
    pub fn command(
        &self,
        cwd: &std::path::Path,
        account: &str,
        args: &[&str],
        env: &[(&str, &str)],
    ) -> Command {
        let mut cmd = Command::new(deployer_bin());
        cmd.args(args)
            .current_dir(cwd)
            .env_remove("AWS_PROFILE")
            .env_remove("AWS_SESSION_TOKEN")
            .env("AWS_ENDPOINT_URL", &self.endpoint)
            .env("AWS_REGION", "us-east-1")
            .env("AWS_ACCESS_KEY_ID", account)
            .env("AWS_SECRET_ACCESS_KEY", "test")
            .env("AWS_CONFIG_FILE", "/dev/null")
            .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .envs(env.iter().copied());
        cmd
    }
}
