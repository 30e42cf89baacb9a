//! Which folders poolsim may write, and writing them so that neither concurrent
//! writers nor a killed one leave a half-written folder or debris behind.
//!
//! - **Ownership.** Every folder poolsim writes holds a marker file, [`MARKER_FILE`].
//!   poolsim replaces an existing folder only when it holds the marker, is empty, or is
//!   recognised as written by a poolsim from before the marker (every entry is a file
//!   that kind of folder is written with, or a subfolder another command writes there,
//!   itself recognised); anything else is refused unless `--force`. Like kubectl or
//!   cargo, poolsim does not clobber what it did not create.
//! - **Each command replaces only its own.** Replacing a folder keeps the subfolders
//!   other commands write inside it: a run keeps the `sweep/`, `sweep-shards/` and
//!   `compare/` of its folder, a shard keeps the other shards.
//! - **Whole or not at all.** The new folder is built in `.NAME.tmp-PID` beside the old
//!   one; the subfolders kept are moved into it, the old folder renamed to
//!   `.NAME.old-PID`, the new one renamed into place and the old one removed.
//! - **One writer at a time.** Writers hold an advisory lock on the root folder (`--out`)
//!   while they write (not while they simulate), so concurrent commands into one `--out`
//!   take turns. The kernel drops the lock of a killed process; the staging folders such
//!   a process leaves are therefore found by the next writer, under the lock, and rolled
//!   back (see [`recover`]).

use super::error::WriteError;
use crate::check::golden::GOLDEN_FILES;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The files of a run folder (`write_run`): what a run replaces in its folder.
pub const RUN_FILES: [&str; 7] = [
    "timeseries.csv",
    "events.csv",
    "summary.json",
    super::plot::PLOT_ANNOTATIONS_FILE_NAME,
    "replicas.svg",
    "replicas.png",
    super::report::REPORT_FILE_NAME,
];

/// The marker file in every folder poolsim writes (except golden traces, see
/// [`FolderKind::GoldenTrace`]).
pub const MARKER_FILE: &str = ".poolsim-output";

/// The marker's contents: the same bytes in every folder, so outputs stay reproducible.
const MARKER_TEXT: &str = "This folder was written by poolsim. poolsim replaces a folder only \
when this file is there (or with --force), keeping what its other commands wrote inside it.\n";

/// How long a writer waits for another one to finish writing into the same root before
/// it gives up (a writer holds the lock for the time of writing files, about a second;
/// only a stopped process holds it for minutes).
const LOCK_PATIENCE: Duration = Duration::from_secs(300);
/// How often a waiting writer tries the lock again.
const LOCK_POLL: Duration = Duration::from_millis(20);

/// What a folder poolsim writes is for: which entries are its own (replaced by each
/// write) and which subfolders other commands write inside it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FolderKind {
    /// `<out>/<name>/`: a run's files (`run`, `check`); holds `sweep/`, `sweep-shards/`
    /// and `compare/`.
    Run,
    /// `<out>/<name>/sweep/` (`sweep`, `merge`).
    Sweep,
    /// `<out>/<name>/sweep-shards/`: one folder per shard.
    ShardSet,
    /// `<out>/<name>/sweep-shards/shard-I-of-N/` (`sweep --shard`).
    Shard,
    /// `<out>/<name>/compare/` (`compare`).
    Compare,
    /// `golden/<name>/<algorithm>/` (`check --bless`): committed with the scenarios, so
    /// it carries no marker and is recognised by its files alone.
    GoldenTrace,
}

const SWEEP_FILES: [&str; 6] = [
    "sweep.csv",
    "percentiles.csv",
    "band.csv",
    "band.svg",
    "band.png",
    super::report::REPORT_FILE_NAME,
];
const COMPARE_FILES: [&str; 6] = [
    "compare.csv",
    "comparison.csv",
    "comparison.json",
    "overlay.svg",
    "overlay.png",
    super::report::REPORT_FILE_NAME,
];

impl FolderKind {
    /// Whether `entry` of the folder `dir_name` is a file this kind of folder is written
    /// with (the marker included): how a folder from before the marker is recognised.
    fn owns(self, dir_name: &str, entry: &str) -> bool {
        entry == MARKER_FILE
            || match self {
                FolderKind::Run => RUN_FILES.contains(&entry),
                FolderKind::Sweep => SWEEP_FILES.contains(&entry),
                FolderKind::ShardSet => false,
                FolderKind::Shard => {
                    entry == "shard.json"
                        || entry == format!("sweep.{dir_name}.csv")
                        || entry == format!("series.{dir_name}.csv")
                }
                FolderKind::Compare => COMPARE_FILES.contains(&entry),
                FolderKind::GoldenTrace => GOLDEN_FILES.contains(&entry),
            }
    }

    /// The kind of the subfolder `entry` that other commands write inside this kind.
    fn child(self, entry: &str) -> Option<FolderKind> {
        match (self, entry) {
            (FolderKind::Run, "sweep") => Some(FolderKind::Sweep),
            (FolderKind::Run, "sweep-shards") => Some(FolderKind::ShardSet),
            (FolderKind::Run, "compare") => Some(FolderKind::Compare),
            (FolderKind::ShardSet, name) if name.starts_with("shard-") => Some(FolderKind::Shard),
            _ => None,
        }
    }

    /// Whether the entry `entry` of this kind of folder is another command's output,
    /// kept when the folder is replaced: a subfolder it writes there, or what a killed
    /// writer of one left (its own next write rolls that back).
    fn keeps(self, entry: &str, is_dir: bool) -> bool {
        is_dir
            && (self.child(entry).is_some()
                || staging_of(entry).is_some_and(|of| self.child(of).is_some()))
    }

    /// Golden traces are committed with the scenarios: no marker (see the variant).
    fn marked(self) -> bool {
        self != FolderKind::GoldenTrace
    }
}

/// What is at a path poolsim is about to write.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Found {
    Absent,
    /// An empty folder, or poolsim's own (marked or recognised).
    Writable,
    /// A folder poolsim did not write: why it thinks so.
    Foreign(String),
    NotAFolder,
}

fn entry_names(dir: &Path) -> std::io::Result<Vec<(String, bool)>> {
    let mut names = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let is_dir = entry.file_type()?.is_dir();
        names.push((entry.file_name().to_string_lossy().into_owned(), is_dir));
    }
    names.sort();
    Ok(names)
}

fn found(dir: &Path, kind: FolderKind) -> std::io::Result<Found> {
    let metadata = match std::fs::symlink_metadata(dir) {
        Ok(metadata) => metadata,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Found::Absent),
        Err(e) => return Err(e),
    };
    if !metadata.is_dir() {
        return Ok(Found::NotAFolder);
    }
    let entries = entry_names(dir)?;
    if entries.is_empty() || entries.iter().any(|(name, _)| name == MARKER_FILE) {
        return Ok(Found::Writable);
    }
    Ok(match unrecognised(dir, kind, &entries)? {
        None => Found::Writable,
        Some(entry) if kind.marked() => Found::Foreign(format!(
            "it has no {MARKER_FILE} marker and holds {entry:?}, which poolsim does not write there"
        )),
        Some(entry) => Found::Foreign(format!(
            "it holds {entry:?}, which poolsim does not write there"
        )),
    })
}

/// For a folder without a marker: the first entry that a poolsim from before the
/// marker would not have written there, if any.
fn unrecognised(
    dir: &Path,
    kind: FolderKind,
    entries: &[(String, bool)],
) -> std::io::Result<Option<String>> {
    let dir_name = file_name(dir);
    for (name, is_dir) in entries {
        let known = if *is_dir {
            match kind.child(name) {
                Some(child) => found(&dir.join(name), child)? == Found::Writable,
                None => kind.keeps(name, true),
            }
        } else {
            kind.owns(&dir_name, name)
        };
        if !known {
            return Ok(Some(name.clone()));
        }
    }
    Ok(None)
}

fn file_name(dir: &Path) -> String {
    dir.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// Whether `entry` is an `.NAME.old-PID` folder (the other kind is `.NAME.tmp-PID`).
fn is_old(entry: &str) -> bool {
    entry
        .rsplit_once('.')
        .is_some_and(|(_, suffix)| suffix.starts_with("old-"))
}

/// `.NAME.tmp-PID` or `.NAME.old-PID` → `NAME`.
fn staging_of(entry: &str) -> Option<&str> {
    let rest = entry.strip_prefix('.')?;
    let (name, suffix) = rest.rsplit_once('.')?;
    let pid = suffix
        .strip_prefix("tmp-")
        .or_else(|| suffix.strip_prefix("old-"))?;
    (!name.is_empty() && !pid.is_empty() && pid.bytes().all(|b| b.is_ascii_digit())).then_some(name)
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> WriteError + '_ {
    move |source| WriteError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Where a command writes: the root it locks and the folders from just below the root
/// down to the one it replaces, each with its kind.
#[derive(Debug, Clone)]
pub struct Destination {
    root: PathBuf,
    folders: Vec<(PathBuf, FolderKind)>,
    force: bool,
}

impl Destination {
    /// `<out>/<name>/` of `run` and `check`.
    pub fn run(out: &Path, name: &str, force: bool) -> Self {
        Self::under(out, &[(name, FolderKind::Run)], force)
    }

    /// `<out>/<name>/sweep/` of `sweep` and `merge`.
    pub fn sweep(out: &Path, name: &str, force: bool) -> Self {
        let folders = [(name, FolderKind::Run), ("sweep", FolderKind::Sweep)];
        Self::under(out, &folders, force)
    }

    /// `<out>/<name>/sweep-shards/<shard>/` of `sweep --shard`.
    pub fn shard(out: &Path, name: &str, shard: &str, force: bool) -> Self {
        let folders = [
            (name, FolderKind::Run),
            ("sweep-shards", FolderKind::ShardSet),
            (shard, FolderKind::Shard),
        ];
        Self::under(out, &folders, force)
    }

    /// `<out>/<name>/compare/` of `compare`.
    pub fn compare(out: &Path, name: &str, force: bool) -> Self {
        let folders = [(name, FolderKind::Run), ("compare", FolderKind::Compare)];
        Self::under(out, &folders, force)
    }

    /// A golden trace folder `dir` (`check --bless`), below the golden root `root`.
    pub fn golden(root: &Path, dir: &Path, force: bool) -> Self {
        Destination {
            root: root.to_path_buf(),
            folders: vec![(dir.to_path_buf(), FolderKind::GoldenTrace)],
            force,
        }
    }

    fn under(root: &Path, names: &[(&str, FolderKind)], force: bool) -> Self {
        let mut path = root.to_path_buf();
        let folders = names
            .iter()
            .map(|(name, kind)| {
                path = path.join(name);
                (path.clone(), *kind)
            })
            .collect();
        Destination {
            root: root.to_path_buf(),
            folders,
            force,
        }
    }

    /// The folder written.
    pub fn dir(&self) -> &Path {
        &self.folders.last().expect("at least one folder").0
    }

    /// `--out` naming a file (or a device) gave only the OS's "Not a directory" or
    /// "File exists" for a path below it (hostile review, issue 17).
    fn check_root(&self) -> Result<(), WriteError> {
        if self.root.exists() && !self.root.is_dir() {
            return Err(WriteError::RootNotAFolder(self.root.clone()));
        }
        Ok(())
    }

    /// Whether every folder on the way may be written: checked before simulating, so a
    /// refusal costs nothing, and again under the lock when writing.
    pub fn check(&self) -> Result<(), WriteError> {
        self.check_root()?;
        for (dir, kind) in &self.folders {
            match found(dir, *kind).map_err(io(dir))? {
                Found::Absent | Found::Writable => {}
                Found::Foreign(_) if self.force => {}
                Found::Foreign(why) => {
                    return Err(WriteError::NotOwned {
                        dir: dir.clone(),
                        why,
                    })
                }
                Found::NotAFolder => return Err(WriteError::NotAFolder(dir.clone())),
            }
        }
        Ok(())
    }

    /// Write the folder whole: `fill` writes the command's files into a staging folder,
    /// which then replaces the folder (keeping the entries that are not its own), all
    /// while holding the root's lock.
    pub fn write(
        &self,
        fill: impl FnOnce(&Path) -> Result<(), WriteError>,
    ) -> Result<(), WriteError> {
        self.check_root()?;
        let _lock = lock(&self.root)?;
        // Under the lock, staging folders are a killed writer's: back to a whole folder
        // first, then judged as any folder.
        for (dir, kind) in &self.folders {
            recover(dir, *kind)?;
        }
        self.check()?;
        let (last, containers) = self.folders.split_last().expect("at least one folder");
        for (dir, kind) in containers {
            let state = found(dir, *kind).map_err(io(dir))?;
            if state == Found::Absent {
                std::fs::create_dir_all(dir).map_err(io(dir))?;
            }
            // A folder written into with --force is not marked: poolsim still did not
            // create it, and a later command must not replace the rest of it unasked.
            let ours = matches!(state, Found::Absent | Found::Writable);
            if ours && kind.marked() && !dir.join(MARKER_FILE).is_file() {
                std::fs::write(dir.join(MARKER_FILE), MARKER_TEXT).map_err(io(dir))?;
            }
        }
        let (dir, kind) = last;
        replace(dir, *kind, fill)
    }
}

/// Lock `root` (created if missing) for writing; the lock goes with the returned file.
/// On Unix the folder itself is locked (`flock`), so nothing is added to it; elsewhere a
/// `.poolsim.lock` file in it. A file system without locks is written unlocked, as
/// before there were locks.
fn lock(root: &Path) -> Result<Option<File>, WriteError> {
    std::fs::create_dir_all(root).map_err(io(root))?;
    #[cfg(unix)]
    let file = File::open(root).map_err(io(root))?;
    #[cfg(not(unix))]
    let file = {
        let path = root.join(".poolsim.lock");
        std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(io(&path))?
    };
    // Polled rather than timed: no clock is read, and the wait is bounded by the
    // number of attempts (LOCK_PATIENCE at one attempt per LOCK_POLL).
    let attempts = LOCK_PATIENCE.as_millis() / LOCK_POLL.as_millis();
    for _ in 0..attempts {
        match file.try_lock() {
            Ok(()) => return Ok(Some(file)),
            Err(std::fs::TryLockError::WouldBlock) => {}
            Err(std::fs::TryLockError::Error(_)) => return Ok(None),
        }
        std::thread::sleep(LOCK_POLL);
    }
    Err(WriteError::Busy(root.to_path_buf()))
}

/// Move every entry of `from` that `kind` keeps (other commands' subfolders) into
/// `into`, unless `into` has one of that name already.
fn salvage(from: &Path, into: &Path, kind: FolderKind) -> Result<(), WriteError> {
    for (name, is_dir) in entry_names(from).map_err(io(from))? {
        let target = into.join(&name);
        if kind.keeps(&name, is_dir) && std::fs::symlink_metadata(&target).is_err() {
            std::fs::rename(from.join(&name), &target).map_err(io(&target))?;
        }
    }
    Ok(())
}

/// Undo what a killed writer of `dir` left (`.NAME.tmp-PID`, `.NAME.old-PID` beside
/// it), called under the lock, so no live writer owns them. Whatever step it died at,
/// this comes back to the last whole folder: the old folder goes back into place if
/// the new one never got there, and the entries kept from it (other commands'
/// subfolders) go back from the staging folder.
pub fn recover(dir: &Path, kind: FolderKind) -> Result<(), WriteError> {
    let parent = dir.parent().unwrap_or(Path::new("."));
    let name = file_name(dir);
    let Ok(entries) = entry_names(parent) else {
        return Ok(());
    };
    let debris: Vec<String> = entries
        .into_iter()
        .filter(|(entry, is_dir)| *is_dir && staging_of(entry) == Some(name.as_str()))
        .map(|(entry, _)| entry)
        .collect();
    // Old folders first (they go back into place), then the staging folders.
    let (old, tmp): (Vec<&String>, Vec<&String>) = debris.iter().partition(|entry| is_old(entry));
    for entry in old.into_iter().chain(tmp) {
        let path = parent.join(entry);
        if std::fs::symlink_metadata(dir).is_err() && is_old(entry) {
            std::fs::rename(&path, dir).map_err(io(dir))?;
        } else {
            if dir.is_dir() {
                salvage(&path, dir, kind)?;
            }
            std::fs::remove_dir_all(&path).map_err(io(&path))?;
        }
        eprintln!(
            "note: {}: cleaned up after a poolsim that was stopped while writing it",
            dir.display()
        );
    }
    Ok(())
}

/// Build `dir` anew in `.NAME.tmp-PID` (see the module comment), keeping the subfolders
/// of the old `dir` that other commands wrote.
fn replace(
    dir: &Path,
    kind: FolderKind,
    fill: impl FnOnce(&Path) -> Result<(), WriteError>,
) -> Result<(), WriteError> {
    let parent = dir.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(parent).map_err(io(parent))?;
    let name = file_name(dir);
    let staging = parent.join(format!(".{name}.tmp-{}", std::process::id()));
    let old = parent.join(format!(".{name}.old-{}", std::process::id()));
    std::fs::create_dir(&staging).map_err(io(&staging))?;
    let filled = fill(&staging).and_then(|()| {
        if kind.marked() {
            std::fs::write(staging.join(MARKER_FILE), MARKER_TEXT).map_err(io(&staging))?;
        }
        Ok(())
    });
    let swapped = filled.and_then(|()| swap(dir, &staging, &old, kind));
    if swapped.is_err() {
        // Put back the subfolders moved out of `dir`; the new files go.
        if dir.is_dir() {
            let _ = salvage(&staging, dir, kind);
        }
        let _ = std::fs::remove_dir_all(&staging);
    }
    swapped
}

/// Move the subfolders kept into `staging`, then `dir` aside to `old` and `staging` into
/// place. On an error `dir` is back where it was (its kept entries may be in `staging`).
fn swap(dir: &Path, staging: &Path, old: &Path, kind: FolderKind) -> Result<(), WriteError> {
    if std::fs::symlink_metadata(dir).is_ok() {
        salvage(dir, staging, kind)?;
        std::fs::rename(dir, old).map_err(io(dir))?;
    }
    if let Err(e) = std::fs::rename(staging, dir) {
        let _ = std::fs::rename(old, dir);
        return Err(io(dir)(e));
    }
    let _ = std::fs::remove_dir_all(old);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::output::plot::PLOT_ANNOTATIONS_FILE_NAME;

    #[test]
    fn staging_names_are_recognised_and_nothing_else() {
        assert_eq!(staging_of(".lab05.tmp-123"), Some("lab05"));
        assert_eq!(staging_of(".a.b.old-7"), Some("a.b"));
        assert_eq!(staging_of(".lab05.tmp-"), None);
        assert_eq!(staging_of(".lab05.tmp-12x"), None);
        assert_eq!(staging_of("lab05.tmp-12"), None);
        assert_eq!(staging_of("..tmp-12"), None);
    }

    #[test]
    fn a_run_folder_from_before_the_marker_is_recognised_by_its_files() {
        let tmp = tempfile::tempdir().unwrap();
        let run = tmp.path().join("lab");
        std::fs::create_dir_all(run.join("sweep")).unwrap();
        for file in ["timeseries.csv", "summary.json", PLOT_ANNOTATIONS_FILE_NAME] {
            std::fs::write(run.join(file), "x").unwrap();
        }
        std::fs::write(run.join("sweep/sweep.csv"), "x").unwrap();
        assert_eq!(found(&run, FolderKind::Run).unwrap(), Found::Writable);
        // A file poolsim does not write inside the sweep makes the whole folder foreign.
        std::fs::write(run.join("sweep/notes.txt"), "x").unwrap();
        assert!(matches!(
            found(&run, FolderKind::Run).unwrap(),
            Found::Foreign(why) if why.contains("\"sweep\"")
        ));
    }

    #[test]
    fn a_shard_owns_the_files_named_after_it() {
        let kind = FolderKind::Shard;
        assert!(kind.owns("shard-0-of-2", "sweep.shard-0-of-2.csv"));
        assert!(!kind.owns("shard-0-of-2", "sweep.shard-1-of-2.csv"));
    }
}
