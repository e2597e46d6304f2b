//! What a bench run prints and draws: its figures for people, and a PNG of throughput
//! and latency over time (`plotters`, with an embedded font when one is found).

use super::RunResult;
use std::path::Path;

/// Prints one run's figures for people.
pub(super) fn print_run(r: &RunResult) {
    println!();
    println!(
        "== safeledger bench: {} tx/s offered for {} s ==",
        r.rate_offered, r.seconds
    );
    println!("submitted                {}", r.submitted);
    for (why, n) in &r.not_admitted {
        println!("not admitted             {n}: {why}");
    }
    println!(
        "committed                {} in the window, {} in all",
        r.committed_in_window, r.committed_total
    );
    println!(
        "final tx/s               {:.0} ({:.1} % of the ceiling)",
        r.final_tps,
        r.fraction_of_ceiling * 100.0
    );
    println!(
        "latency ms               p50 {:.0}  p90 {:.0}  p99 {:.0}",
        r.latency_ms.get("p50").copied().unwrap_or(0.0),
        r.latency_ms.get("p90").copied().unwrap_or(0.0),
        r.latency_ms.get("p99").copied().unwrap_or(0.0)
    );
    println!("blocks/s                 {:.2}", r.blocks_per_s);
    for n in &r.nodes {
        println!(
            "node {:<14}      cpu {:.1} s ({:.0} µs/tx), whole run {:.1} s ({:.0} µs/tx), peak RSS {:.0} MiB, disk {:.1} MiB ({:.2} KiB/tx)",
            n.agency,
            n.cpu_seconds,
            n.cpu_us_per_tx,
            n.cpu_seconds_run,
            n.cpu_us_per_tx_run,
            n.peak_rss_mib,
            n.disk_bytes as f64 / 1048576.0,
            n.disk_kib_per_tx
        );
    }
}

/// Finds a TrueType font for the plot's text (DejaVu Sans where installed); without one the
/// plot is drawn without labels.
fn font() -> Option<&'static [u8]> {
    static FONT: std::sync::OnceLock<Option<&'static [u8]>> = std::sync::OnceLock::new();
    *FONT.get_or_init(|| {
        [
            "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
            "/usr/share/fonts/TTF/DejaVuSans.ttf",
            "/usr/share/fonts/dejavu/DejaVuSans.ttf",
        ]
        .iter()
        .find_map(|p| std::fs::read(p).ok())
        .map(|b| &*Box::leak(b.into_boxed_slice()))
    })
}

/// Draws committed tx/s and latency (p50, p99) per second of the run.
/// Draws one run's throughput and latency over time as a PNG at `path`.
pub(super) fn plot(path: &Path, r: &RunResult) -> anyhow::Result<()> {
    use plotters::prelude::*;
    let labels = match font() {
        Some(f) => plotters::style::register_font("sans-serif", FontStyle::Normal, f).is_ok(),
        None => false,
    };
    let root = BitMapBackend::new(path, (900, 600)).into_drawing_area();
    root.fill(&WHITE)
        .map_err(|e| anyhow::anyhow!("plot: {e}"))?;
    let (top, bottom) = root.split_vertically(300);
    let t_max = r.timeline.iter().map(|s| s.t).max().unwrap_or(1).max(1) as f64;
    let tps_max = r
        .timeline
        .iter()
        .map(|s| s.committed)
        .max()
        .unwrap_or(1)
        .max(r.rate_offered) as f64
        * 1.1;
    let lat_max = r.timeline.iter().map(|s| s.p99_ms).fold(1.0f64, f64::max) * 1.1;
    let err = |e: DrawingAreaErrorKind<_>| anyhow::anyhow!("plot: {e:?}");
    {
        let mut b = ChartBuilder::on(&top);
        b.margin(10).x_label_area_size(30).y_label_area_size(60);
        if labels {
            b.caption(
                format!("committed tx/s ({} offered)", r.rate_offered),
                ("sans-serif", 18),
            );
        }
        let mut c = b
            .build_cartesian_2d(0f64..t_max, 0f64..tps_max)
            .map_err(err)?;
        if labels {
            c.configure_mesh().x_desc("s").draw().map_err(err)?;
        }
        c.draw_series(LineSeries::new(
            r.timeline.iter().map(|s| (s.t as f64, s.committed as f64)),
            &BLUE,
        ))
        .map_err(err)?;
        c.draw_series(LineSeries::new(
            [(0.0, r.rate_offered as f64), (t_max, r.rate_offered as f64)],
            &BLACK.mix(0.3),
        ))
        .map_err(err)?;
    }
    {
        let mut b = ChartBuilder::on(&bottom);
        b.margin(10).x_label_area_size(30).y_label_area_size(60);
        if labels {
            b.caption("latency ms (p50 green, p99 red)", ("sans-serif", 18));
        }
        let mut c = b
            .build_cartesian_2d(0f64..t_max, 0f64..lat_max)
            .map_err(err)?;
        if labels {
            c.configure_mesh().x_desc("s").draw().map_err(err)?;
        }
        c.draw_series(LineSeries::new(
            r.timeline.iter().map(|s| (s.t as f64, s.p50_ms)),
            &GREEN,
        ))
        .map_err(err)?;
        c.draw_series(LineSeries::new(
            r.timeline.iter().map(|s| (s.t as f64, s.p99_ms)),
            &RED,
        ))
        .map_err(err)?;
    }
    root.present().map_err(|e| anyhow::anyhow!("plot: {e}"))?;
    Ok(())
}
