//! The error of writing outputs, shared by the file writers (`files`) and the folder
//! ownership rules (`ownership`).

use super::plot;
use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    #[error("cannot write {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot render the plot: {0}")]
    Plot(#[from] plot::PlotError),
    #[error("cannot encode: {0}")]
    Encode(String),
    #[error(
        "{} exists and is not a folder poolsim wrote: {why}. Nothing was written. \
         Choose another folder, or pass --force to replace it",
        dir.display()
    )]
    NotOwned { dir: PathBuf, why: String },
    #[error(
        "{0} exists and is not a folder; nothing was written. Move it away or choose another folder"
    )]
    NotAFolder(PathBuf),
    #[error(
        "{0} exists and is not a folder: the output folder (--out) must be a folder, created if \
         missing; nothing was written. Choose another path"
    )]
    RootNotAFolder(PathBuf),
    #[error(
        "another poolsim has been writing into {0} for minutes (it holds the folder's lock); \
         nothing was written. Try again when it is done, or choose another folder"
    )]
    Busy(PathBuf),
}
