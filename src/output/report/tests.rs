use super::page::{escape_html, escape_script_json, DATA_ELEMENT_ID};
use super::*;

const TIMESERIES: &str = "time_s,desired_replicas,hpa_desired_replicas,vms_total,vms_ready,\
vmis_running,vmis_unknown,guests_running,overshoot,pvcs_bound,cpu_utilization_pct,load_cores,\
uncontrolled_overshoot\n\
0,2,,0,0,0,0,0,0,0,,0,0\n\
5,2,,2,1,1,0,1,0,2,,0,0\n\
10.5,2,,2,2,2,0,3,1,2,,0,0\n";

/// A hostile event: an object name and a message that would end the data element and
/// run a script if the JSON were pasted into the page unescaped.
const HOSTILE_OBJECT: &str = "vm-\"quoted\"-'single'-</script><script>window.pwned=1</script>";
const HOSTILE_MESSAGE: &str = "<!-- & </SCRIPT > \u{2028} <img src=x onerror=alert(1)>";

fn events_csv() -> String {
    let mut writer = csv::Writer::from_writer(Vec::new());
    writer
        .write_record(["time_s", "kind", "object", "reason", "message"])
        .unwrap();
    writer
        .write_record([
            "5",
            "VirtualMachine",
            "lab-0",
            "SuccessfulCreate",
            "created",
        ])
        .unwrap();
    writer
        .write_record(["10", "Pod", HOSTILE_OBJECT, "Killing", HOSTILE_MESSAGE])
        .unwrap();
    String::from_utf8(writer.into_inner().unwrap()).unwrap()
}

fn summary() -> Summary {
    Summary {
        scenario: "lab</script>".into(),
        algorithm: "kubevirt-pool".into(),
        seed: 7,
        duration_s: 10.5,
        events_processed: 42,
        max_overshoot: 1,
        max_guests_running: 3,
        final_desired_replicas: 2,
        final_vms_ready: 2,
        overshoot_vm_minutes: 0.0,
        minutes_under_ready: 0.1,
        vms_created: 2,
        recovery_s: None,
        controller_crashes: 0,
        max_uncontrolled_overshoot: 0,
        uncontrolled_overshoot_vm_minutes: 0.0,
        warnings: vec!["a warning with <b>markup</b>".into()],
        expectations: vec![ExpectationResult {
            description: "max_overshoot <= 0 \"strict\"".into(),
            passed: false,
            observed: Some(1.0),
        }],
    }
}

fn annotations() -> PlotAnnotations {
    PlotAnnotations {
        title: None,
        hpa_target_pct: None,
        intervals: Vec::new(),
        events: vec![EventMarker {
            time_s: 5.0,
            label: "crash </script> node".into(),
        }],
    }
}

fn report() -> String {
    run_report(&summary(), TIMESERIES, &events_csv(), &annotations()).unwrap()
}

/// The embedded JSON document of a rendered page, parsed back.
fn embedded(html: &str) -> serde_json::Value {
    let open = format!("<script type=\"application/json\" id=\"{DATA_ELEMENT_ID}\">");
    let start = html.find(&open).expect("the data element") + open.len();
    let end = start + html[start..].find("</script>").expect("its end");
    serde_json::from_str(&html[start..end]).expect("valid JSON")
}

#[test]
fn no_text_from_the_run_can_end_the_data_element_or_start_markup() {
    let html = report();
    // The three script elements are the only ones: data, uPlot, the page's script.
    assert_eq!(html.to_ascii_lowercase().matches("</script").count(), 3);
    assert_eq!(html.matches("<script").count(), 3);
    assert!(
        !html.contains("<!-- &"),
        "the hostile comment opener is escaped"
    );
    assert!(!html.contains("<img"));
    // The data still says exactly what the run said.
    let data = embedded(&html);
    assert_eq!(data["title"], "lab</script>");
    assert_eq!(data["events"]["rows"][1][2], HOSTILE_OBJECT);
    assert_eq!(data["events"]["rows"][1][4], HOSTILE_MESSAGE);
    assert_eq!(data["marks"][0]["label"], "crash </script> node");
    assert_eq!(
        data["expectations"][0]["description"],
        "max_overshoot <= 0 \"strict\""
    );
    // The <title> is HTML-escaped text.
    assert!(html.contains("<title>lab&lt;/script&gt; · poolsim report</title>"));
}

#[test]
fn escapes_keep_the_json_value_and_the_text() {
    let json = serde_json::to_string(&serde_json::json!({"a": "</script>&<!--"})).unwrap();
    let escaped = escape_script_json(&json);
    assert!(!escaped.contains('<') && !escaped.contains('>') && !escaped.contains('&'));
    let back: serde_json::Value = serde_json::from_str(&escaped).unwrap();
    assert_eq!(back["a"], "</script>&<!--");
    assert_eq!(
        escape_html("a<b>\"c\"&'d'"),
        "a&lt;b&gt;&quot;c&quot;&amp;&#39;d&#39;"
    );
}

#[test]
fn embedded_code_cannot_end_its_own_element() {
    for (name, text) in [
        (
            "uPlot.iife.min.js",
            include_str!("vendor/uPlot.iife.min.js"),
        ),
        ("uPlot.min.css", include_str!("vendor/uPlot.min.css")),
        ("uPlot.LICENSE", include_str!("vendor/uPlot.LICENSE")),
        ("report.js", include_str!("report.js")),
        ("report.css", include_str!("report.css")),
    ] {
        let lower = text.to_ascii_lowercase();
        for bad in ["</script", "</style", "<!--"] {
            assert!(!lower.contains(bad), "{name} contains {bad}");
        }
    }
}

#[test]
fn the_same_run_gives_the_same_bytes() {
    assert_eq!(report(), report());
}

#[test]
fn run_charts_draw_the_columns_with_values_and_put_unknown_columns_last() {
    let text = TIMESERIES.replace(
        "uncontrolled_overshoot\n",
        "uncontrolled_overshoot,queue_depth\n",
    );
    let text: String = text
        .lines()
        .enumerate()
        .map(|(i, line)| match i {
            0 => format!("{line}\n"),
            _ => format!("{line},{i}\n"),
        })
        .collect();
    let table = Table::from_csv("timeseries", "t", &text).unwrap();
    let charts = run_charts(&table, Some(50.0)).unwrap();
    let ids: Vec<&str> = charts.iter().map(|c| c.id.as_str()).collect();
    // No CPU chart: utilization is empty and the load is zero throughout.
    assert_eq!(ids, ["replicas", "overshoot", "other"]);
    let names: Vec<&str> = charts[0].series.iter().map(|s| s.name.as_str()).collect();
    // hpa_desired_replicas has no value in any row: not drawn.
    assert_eq!(
        names,
        [
            "desired_replicas",
            "vms_total",
            "vms_ready",
            "vmis_running",
            "vmis_unknown",
            "guests_running",
            "pvcs_bound"
        ]
    );
    assert_eq!(charts[0].time_s, [0.0, 5.0, 10.5]);
    assert_eq!(charts[2].series[0].name, "queue_depth");
    assert_eq!(
        charts[2].series[0].values,
        [Some(1.0), Some(2.0), Some(3.0)]
    );
}

#[test]
fn the_cpu_chart_has_the_load_on_the_right_axis_and_the_hpa_target() {
    let text = "time_s,cpu_utilization_pct,load_cores\n0,,0\n15,80,1.5\n";
    let table = Table::from_csv("timeseries", "t", text).unwrap();
    let charts = run_charts(&table, Some(50.0)).unwrap();
    assert_eq!(charts.len(), 1);
    let cpu = &charts[0];
    assert_eq!(cpu.id, "cpu");
    assert_eq!(cpu.series[0].values, [None, Some(80.0)]);
    assert!(!cpu.series[0].right_axis && cpu.series[1].right_axis);
    assert_eq!(cpu.y2_label.as_deref(), Some("load (cores)"));
    assert_eq!(cpu.threshold.as_ref().map(|t| t.value), Some(50.0));
}

#[test]
fn a_cell_that_is_not_a_number_is_an_error_not_a_panic() {
    let table = Table::from_csv("timeseries", "t", "time_s,vms_ready\n0,x\n").unwrap();
    let error = run_charts(&table, None).unwrap_err().to_string();
    assert!(error.contains("`x` in `vms_ready`"), "{error}");
}

#[test]
fn the_events_table_keeps_every_column_of_events_csv() {
    let text = "time_s,kind,object,reason,message,type,namespace,count\n\
                1,Pod,p,\"Failed, twice\",\"say \"\"hi\"\"\",Warning,default,2\n";
    let table = Table::from_csv("events", "Events", text).unwrap();
    assert_eq!(table.columns.len(), 8);
    assert_eq!(table.rows[0][3], "Failed, twice");
    assert_eq!(table.rows[0][4], "say \"hi\"");
    assert_eq!(table.rows[0][5], "Warning");
}

#[test]
fn sweep_and_compare_pages_carry_their_series_and_tables() {
    let band = Band {
        name: "vms_ready".into(),
        p5: vec![0.0, 1.0],
        p50: vec![1.0, 2.0],
        p95: vec![2.0, 2.0],
    };
    let html = sweep_report("s", &[0.0, 5.0], &[band], &[], &[("p", "P", "a,b\n1,2\n")]).unwrap();
    let data = embedded(&html);
    assert_eq!(data["kind"], "sweep");
    assert_eq!(data["charts"][0]["series"][1]["name"], "vms_ready p50");
    assert_eq!(data["charts"][0]["bands"][0], serde_json::json!([0, 2]));
    assert_eq!(data["tables"][0]["rows"][0][1], "2");

    let overlay = |algorithm: &str, value: f64| Overlay {
        algorithm: algorithm.into(),
        series: vec![crate::output::plot::Series {
            name: "vms_ready".into(),
            values: vec![Some(value), Some(value)],
        }],
    };
    let gate = vec![serde_json::json!({"candidate": "b", "passed": false})];
    let overlays = [overlay("a", 1.0), overlay("b", 2.0)];
    let html = compare_report("c", &[0.0, 5.0], &overlays, &[], &[], &gate).unwrap();
    let data = embedded(&html);
    assert_eq!(data["kind"], "compare");
    let names: Vec<&str> = data["charts"][0]["series"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["a", "b"]);
    assert_eq!(
        data["tables"][0]["columns"],
        serde_json::json!(["candidate", "passed"])
    );
    assert_eq!(
        data["tables"][0]["rows"][0],
        serde_json::json!(["b", "false"])
    );
}
