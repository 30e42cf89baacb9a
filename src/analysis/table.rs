//! Aligned text tables for the terminal, and the same tables as JSON for `--json`.

use std::io::IsTerminal;

/// How a row is highlighted when colours are on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RowStatus {
    Plain,
    Pass,
    Fail,
}

impl RowStatus {
    /// A judged row: its highlight and the word that starts it (`PASS` or `FAIL`).
    pub fn verdict(passed: bool) -> (RowStatus, String) {
        if passed {
            (RowStatus::Pass, "PASS".into())
        } else {
            (RowStatus::Fail, "FAIL".into())
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Table {
    pub columns: Vec<String>,
    pub rows: Vec<(RowStatus, Vec<String>)>,
}

const BOLD: &str = "\x1b[1m";
const GREEN: &str = "\x1b[32m";
const RED: &str = "\x1b[31m";
const RESET: &str = "\x1b[0m";

/// Colours only for a person at a terminal: stdout is a terminal and `NO_COLOR` is not
/// set to a non-empty value (the no-color.org convention).
pub fn colours_wanted() -> bool {
    std::io::stdout().is_terminal()
        && std::env::var_os("NO_COLOR").is_none_or(|value| value.is_empty())
}

/// A number as the tables and CSV files write it: Rust's shortest round-trip form, so
/// reading it back gives the same value (and merged shards the same bytes).
pub fn format_number(value: f64) -> String {
    format!("{value}")
}

/// An optional number; absent is an empty cell.
pub fn format_optional(value: Option<f64>) -> String {
    value.map(format_number).unwrap_or_default()
}

impl Table {
    pub fn new(columns: &[&str]) -> Self {
        Table {
            columns: columns.iter().map(|c| c.to_string()).collect(),
            rows: Vec::new(),
        }
    }

    pub fn push(&mut self, status: RowStatus, cells: Vec<String>) {
        self.rows.push((status, cells));
    }

    /// The table as aligned text: the first column left-aligned, numeric columns
    /// right-aligned, two spaces between columns, absent values shown as `-`.
    pub fn render(&self, colours: bool) -> String {
        let shown = |cell: &str| if cell.is_empty() { "-" } else { cell }.to_string();
        let widths: Vec<usize> = (0..self.columns.len())
            .map(|index| {
                self.rows
                    .iter()
                    .filter_map(|(_, cells)| cells.get(index))
                    .map(|cell| shown(cell).chars().count())
                    .chain([self.columns[index].chars().count()])
                    .max()
                    .unwrap_or(0)
            })
            .collect();
        let numeric: Vec<bool> = (0..self.columns.len())
            .map(|index| {
                index > 0
                    && self.rows.iter().all(|(_, cells)| {
                        cells
                            .get(index)
                            .is_none_or(|c| c.is_empty() || c.parse::<f64>().is_ok())
                    })
            })
            .collect();
        let line = |cells: Vec<String>| -> String {
            let mut text = String::new();
            for (index, cell) in cells.iter().enumerate() {
                let width = widths.get(index).copied().unwrap_or(0);
                if index > 0 {
                    text.push_str("  ");
                }
                if numeric.get(index).copied().unwrap_or(false) {
                    text.push_str(&format!("{cell:>width$}"));
                } else {
                    text.push_str(&format!("{cell:<width$}"));
                }
            }
            text.trim_end().to_string()
        };
        let mut out = String::new();
        let header = line(self.columns.clone());
        if colours {
            out.push_str(&format!("{BOLD}{header}{RESET}\n"));
        } else {
            out.push_str(&header);
            out.push('\n');
        }
        for (status, cells) in &self.rows {
            let text = line(cells.iter().map(|c| shown(c)).collect());
            match (colours, status) {
                (true, RowStatus::Pass) => out.push_str(&format!("{GREEN}{text}{RESET}\n")),
                (true, RowStatus::Fail) => out.push_str(&format!("{RED}{text}{RESET}\n")),
                _ => {
                    out.push_str(&text);
                    out.push('\n');
                }
            }
        }
        out
    }

    /// The table as a JSON array of objects keyed by column; cells that are numbers
    /// become numbers (integral ones integers, `json_number`: a count of seeds is `3`,
    /// not `3.0`), empty cells `null`.
    pub fn to_json(&self) -> serde_json::Value {
        let rows = self
            .rows
            .iter()
            .map(|(_, cells)| {
                let mut object = serde_json::Map::new();
                for (column, cell) in self.columns.iter().zip(cells) {
                    let value = if cell.is_empty() {
                        serde_json::Value::Null
                    } else if let Some(number) =
                        cell.parse::<f64>().ok().filter(|number| number.is_finite())
                    {
                        crate::output::files::json_number(number)
                    } else {
                        serde_json::Value::String(cell.clone())
                    };
                    object.insert(column.clone(), value);
                }
                serde_json::Value::Object(object)
            })
            .collect();
        serde_json::Value::Array(rows)
    }

    /// The table as CSV text (the files beside the plots).
    pub fn to_csv(&self) -> Result<String, csv::Error> {
        let mut writer = csv::Writer::from_writer(Vec::new());
        writer.write_record(&self.columns)?;
        for (_, cells) in &self.rows {
            writer.write_record(cells)?;
        }
        let bytes = writer.into_inner().map_err(|e| e.into_error())?;
        Ok(String::from_utf8_lossy(&bytes).into_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Table {
        let mut table = Table::new(&["metric", "p50", "max"]);
        table.push(
            RowStatus::Plain,
            vec!["max_overshoot".into(), "1".into(), "12".into()],
        );
        table.push(
            RowStatus::Fail,
            vec!["recovery_s".into(), "".into(), "".into()],
        );
        table
    }

    #[test]
    fn aligns_names_left_and_numbers_right() {
        let text = sample().render(false);
        assert_eq!(
            text,
            "metric         p50  max\nmax_overshoot    1   12\nrecovery_s       -    -\n"
        );
        assert!(!text.contains('\x1b'));
    }

    #[test]
    fn colours_mark_failed_rows() {
        let text = sample().render(true);
        assert!(text.contains(&format!("{RED}recovery_s")));
        assert!(text.starts_with(BOLD));
    }

    #[test]
    fn json_keeps_numbers_and_nulls() {
        let json = sample().to_json();
        assert_eq!(json[0]["p50"], serde_json::json!(1));
        assert!(json[0]["p50"].is_u64(), "an integral cell is an integer");
        assert_eq!(json[0]["metric"], "max_overshoot");
        assert!(json[1]["max"].is_null());
    }
}
