//! The propagation-latency chart: the last hour, a bar per minute (the
//! maximum pale, the median dark), as inline SVG: no script, no asset.

use std::fmt::Write as _;

use crate::observe::latency::LatencyMinute;

const WIDTH: f64 = 600.0;
const HEIGHT: f64 = 160.0;
/// Room for the axis labels.
const LEFT: f64 = 44.0;
const BOTTOM: f64 = 18.0;
const TOP: f64 = 8.0;

/// The smallest of 1, 2, 5 × 10ⁿ seconds at or above `max` (the y axis).
fn scale(max: f64) -> f64 {
    let mut step = 0.1;
    loop {
        for m in [1.0, 2.0, 5.0] {
            if step * m >= max {
                return step * m;
            }
        }
        step *= 10.0;
    }
}

fn seconds(s: f64) -> String {
    if s < 1.0 {
        format!("{:.0} ms", s * 1000.0)
    } else if s < 10.0 {
        format!("{s:.1} s")
    } else {
        format!("{s:.0} s")
    }
}

/// The chart of `minutes` (oldest first), with a caption of the totals.
pub fn render(out: &mut String, minutes: &[LatencyMinute]) {
    let writes: u64 = minutes.iter().map(|m| m.count).sum();
    let max = minutes.iter().map(|m| m.max).fold(0.0, f64::max);
    let top = scale(max);
    let plot_w = WIDTH - LEFT;
    let plot_h = HEIGHT - BOTTOM - TOP;
    let bar = plot_w / minutes.len().max(1) as f64;
    let y = |v: f64| TOP + plot_h - (v / top).min(1.0) * plot_h;
    let _ = write!(
        out,
        "<svg class=\"chart\" viewBox=\"0 0 {WIDTH} {HEIGHT}\" role=\"img\" data-writes=\"{writes}\" \
         aria-label=\"Propagation latency per minute over the last hour\">"
    );
    let _ = write!(
        out,
        "<line x1=\"{LEFT}\" y1=\"{b}\" x2=\"{WIDTH}\" y2=\"{b}\" class=\"axis\"/>\
         <line x1=\"{LEFT}\" y1=\"{TOP}\" x2=\"{WIDTH}\" y2=\"{TOP}\" class=\"grid\"/>\
         <text x=\"{lx}\" y=\"{ty}\" class=\"label\" text-anchor=\"end\">{top_label}</text>\
         <text x=\"{lx}\" y=\"{b}\" class=\"label\" text-anchor=\"end\">0</text>\
         <text x=\"{LEFT}\" y=\"{HEIGHT}\" class=\"label\">60 min ago</text>\
         <text x=\"{WIDTH}\" y=\"{HEIGHT}\" class=\"label\" text-anchor=\"end\">now</text>",
        b = TOP + plot_h,
        lx = LEFT - 4.0,
        ty = TOP + 10.0,
        top_label = seconds(top),
    );
    for (i, m) in minutes.iter().enumerate().filter(|(_, m)| m.count > 0) {
        let x = LEFT + i as f64 * bar;
        let (y_max, y_p50) = (y(m.max), y(m.p50));
        let ago = minutes.len() - 1 - i;
        let _ = write!(
            out,
            "<g><title>{ago} min ago: {} writes, median {}, max {}</title>\
             <rect class=\"max\" x=\"{x:.1}\" y=\"{y_max:.1}\" width=\"{w:.1}\" height=\"{hm:.1}\"/>\
             <rect class=\"p50\" x=\"{x:.1}\" y=\"{y_p50:.1}\" width=\"{w:.1}\" height=\"{hp:.1}\"/></g>",
            m.count,
            seconds(m.p50),
            seconds(m.max),
            w = (bar - 1.0).max(1.0),
            hm = TOP + plot_h - y_max,
            hp = TOP + plot_h - y_p50,
        );
    }
    out.push_str("</svg>\n");
    if writes == 0 {
        out.push_str("<p class=\"muted\">No writes in the last hour.</p>\n");
    } else {
        let _ = writeln!(
            out,
            "<p class=\"muted\">{writes} writes in the last hour; the slowest took {}. \
             <span class=\"key p50\"></span> median per minute <span class=\"key max\"></span> maximum.</p>",
            seconds(max)
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_axis_rounds_up_to_a_readable_figure() {
        assert_eq!(scale(0.0), 0.1);
        assert_eq!(scale(0.3), 0.5);
        assert_eq!(scale(1.2), 2.0);
        assert_eq!(scale(7.0), 10.0);
        assert_eq!(scale(250.0), 500.0);
    }

    #[test]
    fn a_bar_per_minute_with_writes() {
        let mut minutes = vec![LatencyMinute { start_ms: 0, count: 0, p50: 0.0, max: 0.0 }; 60];
        minutes[59] = LatencyMinute { start_ms: 0, count: 4, p50: 0.5, max: 1.5 };
        minutes[10] = LatencyMinute { start_ms: 0, count: 1, p50: 2.0, max: 2.0 };
        let mut out = String::new();
        render(&mut out, &minutes);
        assert!(out.starts_with("<svg") && out.contains("</svg>"), "{out}");
        assert_eq!(out.matches("class=\"p50\" x=").count(), 2, "{out}");
        assert!(out.contains("data-writes=\"5\""));
        assert!(out.contains("<title>0 min ago: 4 writes, median 500 ms, max 1.5 s</title>"), "{out}");
        assert!(out.contains("5 writes in the last hour; the slowest took 2.0 s"));
        // The 2 s bar reaches the top of a 2 s axis.
        assert!(
            out.contains(&format!("class=\"max\" x=\"{:.1}\" y=\"{TOP:.1}\"", LEFT + 10.0 * (WIDTH - LEFT) / 60.0))
        );

        let mut empty = String::new();
        render(&mut empty, &vec![LatencyMinute { start_ms: 0, count: 0, p50: 0.0, max: 0.0 }; 60]);
        assert!(empty.contains("No writes in the last hour.") && !empty.contains("<rect"));
    }
}
