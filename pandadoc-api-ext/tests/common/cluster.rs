//! A PostgreSQL server of a test's own, for what the shared test server cannot do: TLS with a
//! test CA, restarts. Debian's binaries (`/usr/lib/postgresql/*/bin`), `initdb` in a temporary
//! directory (as the `postgres` user when we are root: PostgreSQL refuses root), trust
//! authentication, loopback only, a free port; stopped and removed when dropped.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

/// A running server.
pub struct Cluster {
    bin: PathBuf,
    dir: tempfile::TempDir,
    pub port: u16,
    as_postgres: bool,
}

/// The newest installed PostgreSQL's `bin`. Without one: under `CI=true` a failure (`.ci/run`
/// installs it), else `None` and one line saying what was skipped.
pub fn binaries(what: &str) -> Option<PathBuf> {
    let found = std::fs::read_dir("/usr/lib/postgresql")
        .ok()
        .and_then(|dirs| {
            let mut bins: Vec<PathBuf> = dirs
                .filter_map(|d| Some(d.ok()?.path().join("bin")))
                .filter(|b| b.join("initdb").is_file())
                .collect();
            bins.sort_by_key(|b| {
                b.parent()
                    .and_then(|v| v.file_name()?.to_str()?.parse::<u32>().ok())
            });
            bins.pop()
        });
    if found.is_none() {
        if std::env::var("CI").is_ok_and(|v| v == "true") {
            panic!(
                "CI=true but no PostgreSQL binaries in /usr/lib/postgresql: .ci/run installs them"
            );
        }
        eprintln!(
            "skipped: {what} (needs Debian's postgresql package: apt-get install postgresql)"
        );
    }
    found
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.starts_with(b"0\n"))
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl Cluster {
    /// `initdb`, then files written into the data directory (e.g. a certificate and its key,
    /// readable by the server only), then a start with `settings` (`-c name=value`).
    pub fn start(bin: &Path, files: &[(&str, &[u8])], settings: &[(&str, &str)]) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let as_postgres = is_root();
        let mut cluster = Self {
            bin: bin.to_path_buf(),
            dir,
            port: 0,
            as_postgres,
        };
        std::fs::set_permissions(
            cluster.dir.path(),
            std::os::unix::fs::PermissionsExt::from_mode(0o755),
        )
        .unwrap();
        if as_postgres {
            let user = Command::new("id").arg("postgres").output().unwrap();
            if !user.status.success() {
                cluster.run(Command::new("useradd").args(["--system", "postgres"]));
            }
            cluster.run(
                Command::new("chown")
                    .arg("postgres")
                    .arg(cluster.dir.path()),
            );
        }
        let data = cluster.data();
        let initdb = cluster.as_owner(&cluster.bin.join("initdb"));
        let mut initdb = initdb;
        initdb.arg("-D").arg(&data).args([
            "-U",
            "postgres",
            "--auth=trust",
            "-E",
            "UTF8",
            "--no-instructions",
        ]);
        cluster.run(&mut initdb);
        for (name, bytes) in files {
            let path = data.join(name);
            std::fs::write(&path, bytes).unwrap();
            std::fs::set_permissions(&path, std::os::unix::fs::PermissionsExt::from_mode(0o600))
                .unwrap();
            if as_postgres {
                cluster.run(Command::new("chown").arg("postgres").arg(&path));
            }
        }
        let mut options = format!(
            "-c listen_addresses=127.0.0.1 -k {}",
            cluster.dir.path().display()
        );
        for (name, value) in settings {
            options.push_str(&format!(" -c {name}={value}"));
        }
        for _ in 0..5 {
            cluster.port = free_port();
            let mut start = cluster.pg_ctl();
            start
                .args(["-l"])
                .arg(cluster.dir.path().join("server.log"))
                .args(["-w", "-t", "60", "-o"])
                .arg(format!("{options} -p {}", cluster.port))
                .arg("start");
            if start.status().unwrap().success() {
                return cluster;
            }
        }
        panic!("the test's PostgreSQL did not start: {}", cluster.log());
    }

    fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    fn as_owner(&self, program: &Path) -> Command {
        if self.as_postgres {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(program);
            c
        } else {
            Command::new(program)
        }
    }

    fn pg_ctl(&self) -> Command {
        let mut c = self.as_owner(&self.bin.join("pg_ctl"));
        c.arg("-D").arg(self.data());
        c
    }

    fn run(&self, command: &mut Command) {
        let out = command.output().unwrap();
        assert!(
            out.status.success(),
            "{command:?}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// The server's log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("server.log")).unwrap_or_default()
    }

    /// `postgres://postgres@HOST:PORT/postgres` plus `query` (e.g. `?sslmode=require`).
    pub fn url(&self, host: &str, query: &str) -> String {
        format!("postgres://postgres@{host}:{}/postgres{query}", self.port)
    }

    /// `pg_ctl restart -m fast`: every session ends, the server comes back on the same port.
    pub fn restart(&self) {
        let mut restart = self.pg_ctl();
        // The log file again: pg_ctl keeps the server's options but not `-l`, and a server
        // writing to our pipe would keep `output()` waiting for ever.
        restart
            .arg("-l")
            .arg(self.dir.path().join("server.log"))
            .args(["-w", "-t", "60", "-m", "fast", "restart"]);
        self.run(&mut restart);
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let _ = self.pg_ctl().args(["-m", "immediate", "stop"]).output();
    }
}
