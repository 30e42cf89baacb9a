//! `poolsim plot`: the plot of an existing run rendered again from its files.

use super::Outcome;
use std::path::Path;

pub(super) fn plot(csv: &Path, out: Option<&Path>, title: Option<String>) -> Outcome {
    let mut input = match crate::output::plot::read_timeseries_csv(csv) {
        Ok(input) => input,
        // Each reading error names its own file (the CSV, events.csv or plot.json).
        Err(e) => {
            eprintln!("error: {e}");
            return Outcome::Invalid;
        }
    };
    if let Some(title) = title {
        input.title = title;
    }
    let dir = out
        .map(Path::to_path_buf)
        .unwrap_or_else(|| csv.parent().unwrap_or(Path::new(".")).to_path_buf());
    if let Err(e) = std::fs::create_dir_all(&dir) {
        eprintln!("error: {}: {e}", dir.display());
        return Outcome::Invalid;
    }
    let (svg_tmp, png_tmp) = (dir.join(".replicas.svg.tmp"), dir.join(".replicas.png.tmp"));
    // Every message names a file: the input for what is wrong with its data, the
    // output for what could not be written.
    let rename = |from: &Path, name: &str| {
        let to = dir.join(name);
        std::fs::rename(from, &to).map_err(|e| format!("{}: {e}", to.display()))
    };
    let result = crate::output::plot::render_replicas(&input, &svg_tmp, &png_tmp)
        .map_err(|e| format!("{}: {e}", csv.display()))
        .and_then(|()| rename(&svg_tmp, "replicas.svg"))
        .and_then(|()| rename(&png_tmp, "replicas.png"));
    match result {
        Ok(()) => {
            println!("wrote {}", dir.join("replicas.png").display());
            Outcome::Success
        }
        Err(e) => {
            let _ = std::fs::remove_file(&svg_tmp);
            let _ = std::fs::remove_file(&png_tmp);
            eprintln!("error: {e}");
            Outcome::Invalid
        }
    }
}
