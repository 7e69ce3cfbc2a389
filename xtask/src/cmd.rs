//! Running cargo from the workspace root, loudly.

use std::fmt;
use std::path::{Path, PathBuf};
use std::process::Command;

/// A command that did not succeed.
#[derive(Debug)]
pub(crate) struct Failed {
    what: String,
}

impl Failed {
    /// A check of ours (not a command) that did not pass.
    pub(crate) fn check(what: impl Into<String>) -> Self {
        Failed { what: what.into() }
    }
}

impl fmt::Display for Failed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "`{}` failed", self.what)
    }
}

/// The workspace root (the parent of this crate's directory).
pub(crate) fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("xtask lives in the workspace").to_path_buf()
}

/// Installs the cargo subcommand `tool` with `install` (a program and its
/// arguments) when `cargo <tool> --version` does not run: a newcomer's
/// `cargo xtask ci` needs nothing set up by hand.
pub(crate) fn ensure_tool(tool: &str, install: &[&str]) -> Result<(), Failed> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let present = Command::new(cargo).args([tool, "--version"]).output().is_ok_and(|out| out.status.success());
    if present {
        return Ok(());
    }
    let what = install.join(" ");
    eprintln!("\n==> {what}");
    match Command::new(install[0]).args(&install[1..]).status() {
        Ok(status) if status.success() => Ok(()),
        _ => Err(Failed { what }),
    }
}

/// `cargo <args>` at the workspace root, with extra environment variables.
pub(crate) fn cargo(args: &[&str], env: &[(&str, &str)]) -> Result<(), Failed> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let what = format!("cargo {}", args.join(" "));
    eprintln!("\n==> {what}");
    let mut command = Command::new(cargo);
    command.args(args).current_dir(root());
    for (key, value) in env {
        command.env(key, value);
    }
    match command.status() {
        Ok(status) if status.success() => Ok(()),
        _ => Err(Failed { what }),
    }
}
