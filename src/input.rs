//! Reading the files a user names (scenarios, manifest files, the files of `apply` and
//! `delete` events, Secret sources of `spec.secrets`, `validate` and `check` inputs, `plot`'s CSV and its sibling files, `merge`'s shard files, golden traces):
//! the one place that opens them, so that every command refuses the same things.
//!
//! - Only regular files are read. The file is opened without blocking (`O_NONBLOCK`,
//!   so a FIFO with no writer does not hang the open) and its type is taken from the
//!   opened handle (`fstat`), so nothing can be swapped in between a check and the read.
//!   FIFOs, devices (`/dev/zero`), sockets and folders are refused by name.
//! - Each kind of file has a size limit (docs/LIMITS.md, "Input files"), checked
//!   against the size the handle reports before reading, and again while reading (at
//!   most `limit + 1` bytes are ever read), for a file that grows meanwhile.
//! - Errors name the file and the rule, never the file's content.
//!
//! [`inside_folder`] is the check for paths that come from inside a file (a scenario's
//! `manifestFiles`, event files and Secret sources): relative, without `..` out of the folder, and still inside it once
//! symbolic links are resolved.

use std::fmt;
use std::fs::File;
use std::io::{self, Read};
use std::path::{Component, Path, PathBuf};

/// Most bytes of one YAML file (scenario, manifest file, `validate`/`check` input): the
/// YAML reader's own limit (`scenario::yaml::Limits`), checked here before reading.
pub const MAX_YAML_FILE_BYTES: u64 = 4 * 1024 * 1024;

/// Most bytes of one CSV file read back (`plot`'s `timeseries.csv` and `events.csv`,
/// `merge`'s shard CSVs, golden traces). The largest `timeseries.csv` poolsim writes is
/// `MAX_SAMPLES` (1,000,000) rows of 11 numbers, about 40 MB, and a golden trace is far
/// smaller; 256 MiB leaves room for extra columns and still refuses a runaway file.
pub const MAX_CSV_FILE_BYTES: u64 = 256 * 1024 * 1024;

/// Most bytes of one JSON file read back (`plot.json`, a shard's `shard.json`): both
/// hold a handful of fields and lists of scenario events (at most `MAX_EVENTS`).
pub const MAX_JSON_FILE_BYTES: u64 = 16 * 1024 * 1024;

/// Most bytes of a Secret's data, all keys together, and so of one file read into it
/// (a scenario's `spec.secrets[].fromFile`): the API server's `MaxSecretSize`, 1 MiB
/// (kubernetes/kubernetes `pkg/apis/core/types.go`; checked in
/// `pkg/apis/core/validation/validation.go`, `ValidateSecret`).
pub const MAX_SECRET_BYTES: u64 = 1024 * 1024;

/// What kind of file is being read, for the size limit and the error message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileKind {
    Yaml,
    Csv,
    Json,
    /// Any bytes, read into a Secret (`spec.secrets[].fromFile`, `fromEnvFile`).
    SecretData,
}

impl FileKind {
    /// The size limit, and its name in docs/LIMITS.md.
    pub fn limit(self) -> (u64, &'static str) {
        match self {
            FileKind::Yaml => (MAX_YAML_FILE_BYTES, "MAX_YAML_FILE_BYTES"),
            FileKind::Csv => (MAX_CSV_FILE_BYTES, "MAX_CSV_FILE_BYTES"),
            FileKind::Json => (MAX_JSON_FILE_BYTES, "MAX_JSON_FILE_BYTES"),
            FileKind::SecretData => (MAX_SECRET_BYTES, "MAX_SECRET_BYTES"),
        }
    }

    fn describe(self) -> &'static str {
        match self {
            FileKind::Yaml => "one YAML file",
            FileKind::Csv => "one CSV file",
            FileKind::Json => "one JSON file",
            FileKind::SecretData => "a Secret's data (the API server's MaxSecretSize)",
        }
    }
}

/// Why a file was not read. Its `Display` does not name the file: callers put the
/// path where their messages put it (a diagnostic's `file:`, `cannot read PATH: ...`).
#[derive(Debug)]
pub enum InputProblem {
    /// Opening or reading failed (missing file, no permission, ...).
    Io(io::Error),
    /// Not a regular file: what it is instead.
    NotRegular(&'static str),
    /// More bytes than the kind's limit; `size` is known when the handle reported it.
    TooLarge { size: Option<u64>, kind: FileKind },
}

impl fmt::Display for InputProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            InputProblem::Io(error) => write!(f, "{error}"),
            InputProblem::NotRegular(what) => write!(
                f,
                "this is {what}, not a regular file; poolsim reads only regular files"
            ),
            InputProblem::TooLarge { size, kind } => {
                let (limit, name) = kind.limit();
                let size = match size {
                    Some(size) => format!("{size} bytes"),
                    None => "still growing".to_string(),
                };
                write!(
                    f,
                    "the file is {size}, more than the limit of {limit} bytes ({}) for {} ({name}, docs/LIMITS.md)",
                    human_bytes(limit),
                    kind.describe()
                )
            }
        }
    }
}

fn human_bytes(bytes: u64) -> String {
    format!("{} MiB", bytes / (1024 * 1024))
}

/// A file that was not read, with its path.
#[derive(Debug)]
pub struct InputError {
    pub path: PathBuf,
    pub problem: InputProblem,
}

impl fmt::Display for InputError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path.display(), self.problem)
    }
}

impl std::error::Error for InputError {}

impl From<InputError> for io::Error {
    /// For callers whose errors hold an `io::Error` (the message keeps the rule).
    fn from(error: InputError) -> Self {
        match error.problem {
            InputProblem::Io(error) => error,
            problem => io::Error::other(problem.to_string()),
        }
    }
}

/// Opens `path` for reading if it is a regular file, without blocking on a FIFO.
/// Returns the file and its size.
pub fn open_regular(path: &Path) -> Result<(File, u64), InputError> {
    let error = |problem| InputError {
        path: path.to_path_buf(),
        problem,
    };
    let mut options = std::fs::OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        // Opening a FIFO for reading waits for a writer unless non-blocking; on a
        // regular file the flag changes nothing.
        options.custom_flags(libc::O_NONBLOCK);
    }
    let file = options
        .open(path)
        .map_err(|e| error(open_problem(path, e)))?;
    // The type of what was opened, not of what the path named a moment earlier.
    let metadata = file.metadata().map_err(|e| error(InputProblem::Io(e)))?;
    if let Some(what) = not_regular(&metadata.file_type()) {
        return Err(error(InputProblem::NotRegular(what)));
    }
    Ok((file, metadata.len()))
}

/// Why `open` failed. A Unix socket cannot be opened at all (`ENXIO`, "No such device
/// or address", which reads as if the file were missing): name it from the path's type
/// instead, as the other special files are named.
fn open_problem(path: &Path, error: io::Error) -> InputProblem {
    let special = std::fs::metadata(path)
        .ok()
        .and_then(|metadata| not_regular(&metadata.file_type()));
    match special {
        Some(what) => InputProblem::NotRegular(what),
        None => InputProblem::Io(error),
    }
}

fn not_regular(file_type: &std::fs::FileType) -> Option<&'static str> {
    if file_type.is_file() {
        return None;
    }
    if file_type.is_dir() {
        return Some("a folder");
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if file_type.is_fifo() {
            return Some("a FIFO (named pipe)");
        }
        if file_type.is_char_device() {
            return Some("a character device");
        }
        if file_type.is_block_device() {
            return Some("a block device");
        }
        if file_type.is_socket() {
            return Some("a socket");
        }
    }
    Some("a special file")
}

/// Reads a whole regular file of `kind`, refusing it when it is over the kind's limit
/// (before reading when its size says so; otherwise after `limit + 1` bytes).
pub fn read_bytes(path: &Path, kind: FileKind) -> Result<Vec<u8>, InputError> {
    let (file, size) = open_regular(path)?;
    let (limit, _) = kind.limit();
    let too_large = |size| InputError {
        path: path.to_path_buf(),
        problem: InputProblem::TooLarge { size, kind },
    };
    if size > limit {
        return Err(too_large(Some(size)));
    }
    let mut bytes = Vec::with_capacity(size as usize);
    file.take(limit + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| InputError {
            path: path.to_path_buf(),
            problem: InputProblem::Io(e),
        })?;
    if bytes.len() as u64 > limit {
        return Err(too_large(None));
    }
    Ok(bytes)
}

/// [`read_bytes`], as UTF-8 text (CSV and JSON files; YAML files go through
/// `scenario::yaml::check_text`, which says where the text stops being UTF-8).
pub fn read_string(path: &Path, kind: FileKind) -> Result<String, InputError> {
    let bytes = read_bytes(path, kind)?;
    String::from_utf8(bytes).map_err(|_| InputError {
        path: path.to_path_buf(),
        problem: InputProblem::Io(io::Error::new(
            io::ErrorKind::InvalidData,
            "the file is not valid UTF-8 text",
        )),
    })
}

/// A regular file of `kind` opened for streaming (CSV readers): reading fails with an
/// error naming the limit once more than the limit has been read.
pub fn open_bounded(path: &Path, kind: FileKind) -> Result<BoundedReader, InputError> {
    let (file, size) = open_regular(path)?;
    if size > kind.limit().0 {
        return Err(InputError {
            path: path.to_path_buf(),
            problem: InputProblem::TooLarge {
                size: Some(size),
                kind,
            },
        });
    }
    Ok(BoundedReader {
        inner: file.take(kind.limit().0 + 1),
        read: 0,
        kind,
    })
}

/// See [`open_bounded`].
pub struct BoundedReader {
    inner: io::Take<File>,
    read: u64,
    kind: FileKind,
}

impl Read for BoundedReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let count = self.inner.read(buf)?;
        self.read += count as u64;
        if self.read > self.kind.limit().0 {
            let problem = InputProblem::TooLarge {
                size: None,
                kind: self.kind,
            };
            return Err(io::Error::other(problem.to_string()));
        }
        Ok(count)
    }
}

/// Resolves `relative`, a path written inside a file in `folder`, to a path inside
/// `folder`: it must be relative, must not leave `folder` with `..`, and once symbolic
/// links are resolved must still be inside `folder` (a link to `/etc/passwd` is
/// refused before anything is read from it). `what` names the folder in messages
/// ("the scenario file's folder"). A path that does not exist is returned as is, for
/// the reader to report.
pub fn inside_folder(folder: &Path, relative: &str, what: &str) -> Result<PathBuf, String> {
    let path = Path::new(relative);
    let mut depth = 0usize;
    for component in path.components() {
        match component {
            Component::Prefix(_) | Component::RootDir => {
                return Err(format!(
                    "{relative:?} is an absolute path; give a path relative to {what}"
                ))
            }
            Component::CurDir => {}
            Component::ParentDir => {
                if depth == 0 {
                    return Err(format!(
                        "{relative:?} leaves {what}; the file must be inside it"
                    ));
                }
                depth -= 1;
            }
            Component::Normal(_) => depth += 1,
        }
    }
    if depth == 0 {
        return Err(format!("{relative:?} does not name a file"));
    }
    let joined = folder.join(path);
    let base = if folder.as_os_str().is_empty() {
        Path::new(".")
    } else {
        folder
    };
    // A missing file is left to the reader's "No such file" message.
    let (Ok(real_folder), Ok(real_path)) = (base.canonicalize(), joined.canonicalize()) else {
        return Ok(joined);
    };
    if !real_path.starts_with(&real_folder) {
        return Err(format!(
            "{relative:?} is, or passes through, a symbolic link that leads outside {what}; the file must be inside it"
        ));
    }
    Ok(joined)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_regular_file_within_its_limit() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.yaml");
        std::fs::write(&path, "kind: Scenario\n").unwrap();
        assert_eq!(
            read_bytes(&path, FileKind::Yaml).unwrap(),
            b"kind: Scenario\n"
        );
    }

    #[test]
    fn refuses_a_file_over_its_limit_before_reading() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("big.json");
        let file = File::create(&path).unwrap();
        // A sparse file: its size says "too large" without writing 16 MiB.
        file.set_len(MAX_JSON_FILE_BYTES + 1).unwrap();
        let error = read_bytes(&path, FileKind::Json).unwrap_err();
        let message = error.to_string();
        assert!(message.contains("16777217 bytes"), "{message}");
        assert!(message.contains("MAX_JSON_FILE_BYTES"), "{message}");
    }

    #[cfg(unix)]
    #[test]
    fn refuses_devices_and_folders() {
        let error = read_bytes(Path::new("/dev/zero"), FileKind::Csv).unwrap_err();
        assert!(error.to_string().contains("a character device"), "{error}");
        let dir = tempfile::tempdir().unwrap();
        let error = read_bytes(dir.path(), FileKind::Yaml).unwrap_err();
        assert!(error.to_string().contains("a folder"), "{error}");
    }

    #[cfg(unix)]
    #[test]
    fn refuses_a_symbolic_link_out_of_the_folder() {
        let dir = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        std::fs::write(outside.path().join("secret"), "x").unwrap();
        std::os::unix::fs::symlink(outside.path().join("secret"), dir.path().join("m.yaml"))
            .unwrap();
        std::fs::write(dir.path().join("ok.yaml"), "x").unwrap();
        let error = inside_folder(dir.path(), "m.yaml", "the folder").unwrap_err();
        assert!(error.contains("symbolic link"), "{error}");
        assert!(inside_folder(dir.path(), "ok.yaml", "the folder").is_ok());
        assert!(inside_folder(dir.path(), "../x", "the folder").is_err());
        assert!(inside_folder(dir.path(), "/etc/passwd", "the folder").is_err());
    }
}
