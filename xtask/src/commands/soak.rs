//! `cargo xtask soak-tests N`: runs `cargo test --workspace` N times while a parallel
//! `cargo build --release` (in a target directory of its own, rebuilt from scratch in a loop)
//! keeps the machine busy, and prints `soak: G/N runs green`. A flaky test shows up here long
//! before it blocks a change in CI.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use anyhow::{Context, Result, bail};

fn cargo() -> Command {
    Command::new(crate::paths::cargo_path())
}

/// Rebuilds the workspace in release mode from scratch, again and again, until `stop`.
fn load(root: &Path, stop: &AtomicBool, current: &Mutex<Option<Child>>, builds: &AtomicU32) {
    let target = root.join("target/soak-load");
    while !stop.load(Ordering::SeqCst) {
        let _ = std::fs::remove_dir_all(target.join("release"));
        let mut command = cargo();
        command
            .args([
                "build",
                "--release",
                "--workspace",
                "--all-targets",
                "--quiet",
            ])
            .current_dir(root)
            .env("CARGO_TARGET_DIR", &target)
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        // A process group of its own, so that stopping it stops its rustc processes too.
        std::os::unix::process::CommandExt::process_group(&mut command, 0);
        let Ok(child) = command.spawn() else { return };
        *current.lock().unwrap() = Some(child);
        loop {
            let mut slot = current.lock().unwrap();
            let Some(child) = slot.as_mut() else { return };
            if let Ok(Some(_)) = child.try_wait() {
                *slot = None;
                builds.fetch_add(1, Ordering::SeqCst);
                break;
            }
            drop(slot);
            if stop.load(Ordering::SeqCst) {
                return;
            }
            std::thread::park_timeout(std::time::Duration::from_millis(200));
        }
    }
}

fn stop_group(child: &mut Child) {
    let _ = Command::new("kill")
        .args(["-KILL", "--", &format!("-{}", child.id())])
        .status();
    let _ = child.wait();
}

pub fn soak(root: &Path, runs: u32) -> Result<bool> {
    if runs == 0 {
        bail!("soak-tests needs a number of runs above 0");
    }
    let logs = root.join("target/soak");
    std::fs::create_dir_all(&logs)?;
    let stop = Arc::new(AtomicBool::new(false));
    let current = Arc::new(Mutex::new(None::<Child>));
    let builds = Arc::new(AtomicU32::new(0));
    let loader = {
        let (root, stop, current, builds) = (
            root.to_path_buf(),
            stop.clone(),
            current.clone(),
            builds.clone(),
        );
        std::thread::spawn(move || load(&root, &stop, &current, &builds))
    };
    let mut green = 0;
    for run in 1..=runs {
        let started = Instant::now();
        let output = cargo()
            .args(["test", "--workspace", "--color", "never"])
            .current_dir(root)
            .output()
            .context("cannot run cargo test")?;
        let ok = output.status.success();
        let log = logs.join(format!("run-{run}.log"));
        std::fs::write(
            &log,
            [output.stdout.as_slice(), output.stderr.as_slice()].concat(),
        )?;
        if ok {
            green += 1;
        }
        println!(
            "soak: run {run}/{runs} {} in {:.0?}{}",
            if ok { "green" } else { "RED" },
            started.elapsed(),
            if ok {
                String::new()
            } else {
                format!(" (log: {})", log.display())
            }
        );
    }
    stop.store(true, Ordering::SeqCst);
    if let Some(mut child) = current.lock().unwrap().take() {
        stop_group(&mut child);
    }
    loader.thread().unpark();
    let _ = loader.join();
    println!(
        "soak: {green}/{runs} runs green (under load: {} release builds finished meanwhile)",
        builds.load(Ordering::SeqCst)
    );
    Ok(green == runs)
}
