//! The HTML of a report: a fixed template with the chart library, the page's script and
//! style, and the page's data as an embedded JSON document.

use super::Page;
use crate::output::error::WriteError;

/// uPlot 1.6.32 (MIT, `vendor/uPlot.LICENSE`; see `vendor/README.md`).
const UPLOT_JS: &str = include_str!("vendor/uPlot.iife.min.js");
const UPLOT_CSS: &str = include_str!("vendor/uPlot.min.css");
const UPLOT_LICENSE: &str = include_str!("vendor/uPlot.LICENSE");
/// The page's own script: builds the charts and tables from the embedded data.
const REPORT_JS: &str = include_str!("report.js");
const REPORT_CSS: &str = include_str!("report.css");

/// The id of the `<script type="application/json">` element holding the data.
pub const DATA_ELEMENT_ID: &str = "poolsim-data";

/// The whole page for `page`.
pub fn render(page: &Page) -> Result<String, WriteError> {
    let json = serde_json::to_string(page).map_err(|e| WriteError::Encode(e.to_string()))?;
    let mut html = String::with_capacity(json.len() + UPLOT_JS.len() + 16_384);
    html.push_str("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
    html.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n");
    html.push_str("<meta name=\"generator\" content=\"poolsim\">\n<title>");
    html.push_str(&escape_html(&page.title));
    html.push_str(" · poolsim report</title>\n<style>\n");
    html.push_str(UPLOT_CSS);
    html.push_str("\n</style>\n<style>\n");
    html.push_str(REPORT_CSS);
    html.push_str("</style>\n</head>\n<body>\n<main id=\"report\">\n<noscript>");
    html.push_str(
        "This report draws its charts and tables with JavaScript; enable it to see them.",
    );
    html.push_str("</noscript>\n</main>\n<script type=\"application/json\" id=\"");
    html.push_str(DATA_ELEMENT_ID);
    html.push_str("\">");
    html.push_str(&escape_script_json(&json));
    html.push_str("</script>\n<script>\n/*\n");
    html.push_str(&UPLOT_LICENSE.replace("*/", "* /"));
    html.push_str("*/\n");
    html.push_str(UPLOT_JS);
    html.push_str("\n</script>\n<script>\n");
    html.push_str(REPORT_JS);
    html.push_str("</script>\n</body>\n</html>\n");
    Ok(html)
}

/// JSON made safe inside a `<script>` element: `<`, `>` and `&` only ever occur inside
/// JSON strings, where their `\u` escapes mean the same characters, so the document
/// parses to the same value and no `</script>` or `<!--` can appear in it.
pub fn escape_script_json(json: &str) -> String {
    let mut out = String::with_capacity(json.len());
    for c in json.chars() {
        match c {
            '<' => out.push_str("\\u003c"),
            '>' => out.push_str("\\u003e"),
            '&' => out.push_str("\\u0026"),
            other => out.push(other),
        }
    }
    out
}

/// Text for HTML element content or an attribute value.
pub fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            other => out.push(other),
        }
    }
    out
}
