//! Finding the scenarios under the paths `poolsim check` is given: folders are walked
//! recursively in name order, so the same tree always gives the same list, and YAML
//! files that are not scenarios (the manifests a scenario loads with `manifestFiles`,
//! such as `scenarios/lab05/*.yaml`) are left out after a cheap look at their `kind`.

use crate::input::FileKind;
use crate::scenario::diag::{Diagnostic, Severity};
use crate::scenario::yaml::{self, Limits, NodeKind};
use crate::validate::FolderWalk;
use std::path::{Path, PathBuf};

/// What the first document of a YAML file says it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Peeked {
    /// `kind: Scenario`, or an `apiVersion` of poolsim's group, or text that does not
    /// parse: the scenario loader reports what is wrong with it (exit code 2), which is
    /// better than skipping a scenario because of a typo.
    Scenario,
    /// Any other kind (a manifest), or a document without `kind` and `apiVersion`.
    Other(Option<String>),
}

/// Look at the top-level `kind` and `apiVersion` of the first document of `path`,
/// using the scenario reader's own YAML parser and limits.
pub fn peek_kind(path: &Path) -> Result<Peeked, Diagnostic> {
    let bytes = crate::input::read_bytes(path, FileKind::Yaml).map_err(|error| Diagnostic {
        severity: Severity::Error,
        file: path.to_path_buf(),
        line: 0,
        col: 0,
        field: String::new(),
        message: format!("cannot read the file: {}", error.problem),
    })?;
    let limits = Limits::default();
    let Ok(text) = yaml::check_text(&bytes, &limits) else {
        return Ok(Peeked::Scenario);
    };
    let Ok(documents) = yaml::parse_documents(text, &limits) else {
        return Ok(Peeked::Scenario);
    };
    let Some(first) = documents.first() else {
        return Ok(Peeked::Other(None));
    };
    if !matches!(first.kind, NodeKind::Map(_)) {
        return Ok(Peeked::Other(None));
    }
    let kind = first.get("kind").and_then(|k| k.as_scalar());
    let api_version = first.get("apiVersion").and_then(|v| v.as_scalar());
    let ours = api_version.is_some_and(|v| v.starts_with("poolsim.io/"));
    if kind == Some(crate::scenario::KIND) || ours {
        Ok(Peeked::Scenario)
    } else {
        Ok(Peeked::Other(kind.map(str::to_string)))
    }
}

fn is_yaml(path: &Path) -> bool {
    path.extension()
        .is_some_and(|extension| extension == "yaml" || extension == "yml")
}

fn problem(path: &Path, message: String) -> Diagnostic {
    Diagnostic {
        severity: Severity::Error,
        file: path.to_path_buf(),
        line: 0,
        col: 0,
        field: String::new(),
        message,
    }
}

/// Walk one folder: entries in name order, folders whose name starts with `.`
/// (staging folders, editor files) skipped. Symbolic links to folders are followed,
/// but each real folder is walked once (`FolderWalk`), so a link loop ends.
fn walk(
    dir: &Path,
    visited: &mut FolderWalk,
    found: &mut Vec<PathBuf>,
    problems: &mut Vec<Diagnostic>,
) {
    match visited.enter(dir) {
        Ok(true) => {}
        Ok(false) => return,
        Err(error) => {
            problems.push(problem(dir, format!("cannot read the folder: {error}")));
            return;
        }
    }
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(error) => {
            problems.push(problem(dir, format!("cannot read the folder: {error}")));
            return;
        }
    };
    let mut paths: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    paths.sort();
    for path in paths {
        let hidden = path
            .file_name()
            .is_some_and(|n| n.to_string_lossy().starts_with('.'));
        if hidden {
            continue;
        }
        if path.is_dir() {
            walk(&path, visited, found, problems);
        } else if is_yaml(&path) {
            match peek_kind(&path) {
                Ok(Peeked::Scenario) => found.push(path),
                Ok(Peeked::Other(_)) => {}
                Err(diagnostic) => problems.push(diagnostic),
            }
        }
    }
}

/// The scenario files under `paths`, in a deterministic order: each path in the order
/// given, a folder's files sorted by name. A file named directly is always taken as a
/// scenario (the loader then says if it is not one). A path that does not exist is an
/// error.
pub fn discover(paths: &[PathBuf]) -> Result<Vec<PathBuf>, Vec<Diagnostic>> {
    let mut found = Vec::new();
    let mut problems = Vec::new();
    let mut visited = FolderWalk::default();
    for path in paths {
        match std::fs::metadata(path) {
            Ok(metadata) if metadata.is_dir() => {
                walk(path, &mut visited, &mut found, &mut problems);
            }
            // The loader reads it, and says what is wrong if it is a FIFO or device.
            Ok(_) => found.push(path.clone()),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
                problems.push(problem(
                    path,
                    "no such file or folder; give scenario files or folders that hold them".into(),
                ));
            }
            Err(error) => problems.push(problem(path, format!("cannot read it: {error}"))),
        }
    }
    if problems.is_empty() {
        Ok(once_each(found))
    } else {
        Err(problems)
    }
}

/// `found` without the files reached a second time (`check DIR DIR/a.yaml`,
/// `check a.yaml ./a.yaml`): a file is one scenario however often it is named, and
/// would otherwise be refused as a second scenario of its own name. The first path
/// that reaches a file is kept, so the order stays the one documented above.
fn once_each(found: Vec<PathBuf>) -> Vec<PathBuf> {
    let mut seen = std::collections::BTreeSet::new();
    found
        .into_iter()
        .filter(|path| seen.insert(std::fs::canonicalize(path).unwrap_or_else(|_| path.clone())))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
        let path = dir.join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, text).unwrap();
        path
    }

    #[test]
    fn peek_tells_scenarios_from_manifests() {
        let dir = tempfile::tempdir().unwrap();
        let scenario = write(
            dir.path(),
            "a.yaml",
            "apiVersion: poolsim.io/v1alpha1\nkind: Scenario\n",
        );
        let manifest = write(
            dir.path(),
            "b.yaml",
            "apiVersion: v1\nkind: Secret\n---\nkind: Scenario\n",
        );
        let typo = write(
            dir.path(),
            "c.yaml",
            "apiVersion: poolsim.io/v1alpha1\nkind: Scenaro\n",
        );
        let broken = write(dir.path(), "d.yaml", "kind: [unclosed\n");
        assert_eq!(peek_kind(&scenario).unwrap(), Peeked::Scenario);
        assert_eq!(
            peek_kind(&manifest).unwrap(),
            Peeked::Other(Some("Secret".into()))
        );
        assert_eq!(peek_kind(&typo).unwrap(), Peeked::Scenario);
        assert_eq!(peek_kind(&broken).unwrap(), Peeked::Scenario);
    }

    #[test]
    fn discover_walks_folders_in_name_order_and_skips_manifests() {
        let dir = tempfile::tempdir().unwrap();
        let scenario = "kind: Scenario\n";
        write(dir.path(), "z.yaml", scenario);
        write(dir.path(), "a/m.yaml", "kind: VirtualMachinePool\n");
        write(dir.path(), "a/s.yml", scenario);
        write(dir.path(), "b.txt", scenario);
        write(dir.path(), ".hidden/s.yaml", scenario);
        let found = discover(&[dir.path().to_path_buf()]).unwrap();
        let names: Vec<String> = found
            .iter()
            .map(|p| {
                p.strip_prefix(dir.path())
                    .unwrap()
                    .to_string_lossy()
                    .into_owned()
            })
            .collect();
        assert_eq!(names, ["a/s.yml", "z.yaml"]);
    }

    #[test]
    fn discover_takes_a_file_named_twice_once() {
        let dir = tempfile::tempdir().unwrap();
        let file = write(dir.path(), "s.yaml", "kind: Scenario\n");
        let other = write(dir.path(), "t.yaml", "kind: Scenario\n");
        let again = dir.path().join(".").join("s.yaml");
        let found = discover(&[file.clone(), dir.path().to_path_buf(), again]).unwrap();
        assert_eq!(found, [file, other]);
    }

    #[test]
    fn discover_reports_missing_paths() {
        let problems = discover(&[PathBuf::from("/no/such/scenarios")]).unwrap_err();
        assert_eq!(problems.len(), 1);
        assert!(problems[0].to_string().contains("no such file or folder"));
    }
}
