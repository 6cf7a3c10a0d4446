//! The page: one self-contained HTML file (inline style, inline SVG plots, no script) that
//! refers only to the PNG files beside it. Every text that comes from the data (keys, file
//! names, messages) is escaped.

use std::fmt::Write as _;

use super::draw::{CLASSES, LANDMARK, UNKNOWN_LABEL};
use super::{CodeSection, Drawn, Page};
use crate::ui::{format_bytes, thousands};
use crate::validate::statistics::SizeCounts;

/// `<`, `>`, `&`, quotes: safe in text and in attribute values.
pub(crate) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c if c.is_control() && c != '\n' && c != '\t' => {
                let _ = write!(out, "\\u{{{:x}}}", c as u32);
            }
            c => out.push(c),
        }
    }
    out
}

fn hex(colour: [u8; 3]) -> String {
    format!("#{:02x}{:02x}{:02x}", colour[0], colour[1], colour[2])
}

const STYLE: &str = "
body { font-family: system-ui, sans-serif; margin: 1.5em; color: #222; background: #fafafa; }
h1, h2, h3 { font-weight: 600; }
table { border-collapse: collapse; margin: 0.5em 0 1em; }
td, th { border: 1px solid #ccc; padding: 0.2em 0.6em; text-align: left; }
td.n { text-align: right; font-variant-numeric: tabular-nums; }
.cards { display: flex; flex-wrap: wrap; gap: 1em; }
.card { background: #fff; border: 1px solid #ccc; padding: 0.6em; max-width: 1080px; }
.card.excluded { border-left: 6px solid #c0392b; }
.card.warned { border-left: 6px solid #e6a700; }
.panels { display: flex; flex-wrap: wrap; gap: 4px; }
figure { margin: 0; }
figcaption { font-size: 0.8em; color: #555; }
.key { font-family: monospace; font-weight: 600; }
.files, .issues, .notes { font-family: monospace; font-size: 0.85em; margin: 0.3em 0; padding-left: 1.2em; }
.notes { color: #7a4b00; }
.legend { display: flex; flex-wrap: wrap; gap: 0.3em 1em; font-size: 0.9em; }
.swatch { display: inline-block; width: 1em; height: 1em; border: 1px solid #888; vertical-align: middle; margin-right: 0.3em; }
.plots { display: flex; flex-wrap: wrap; gap: 2em; align-items: flex-start; }
.muted { color: #666; font-size: 0.9em; }
.card.pair { border-left: 6px solid #4a78b0; }
.nopicture { width: 256px; height: 256px; background: #303030; color: #ddd; font-size: 0.8em; display: flex; align-items: center; justify-content: center; }
";

/// The whole page.
pub(crate) fn render(page: &Page, generator: &str) -> String {
    let version = env!("SFHQ_PACK_VERSION");
    let mut h = String::new();
    let _ = write!(
        h,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"generator\" content=\"{generator} {}\">\n\
         <title>SFHQ report: {}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n",
        escape(version),
        escape(&page.input)
    );
    let _ = writeln!(
        h,
        "<h1>SFHQ report</h1>\n<p class=\"muted\">{}: <span class=\"key\">{}</span>; written by sfhq-pack {}; sample seed {}</p>",
        if page.converted {
            "Converted folder (manifest and Parquet shards)"
        } else {
            "Sources (validated for this report)"
        },
        escape(&page.input),
        escape(version),
        page.seed
    );
    overview(&mut h, page);
    legend(&mut h);
    plots(&mut h, page);
    near_duplicates(&mut h, page);
    let excluded_total = page.overview.excluded.len();
    let _ = writeln!(
        h,
        "<h2 id=\"excluded\">Excluded samples ({})</h2>",
        thousands(excluded_total as u64)
    );
    if excluded_total == 0 {
        h.push_str("<p>None: every sample passed every rule.</p>\n");
    }
    sections(&mut h, page, &page.excluded_sections, "excluded");
    let _ = writeln!(
        h,
        "<h2 id=\"warned\">Samples kept with warnings ({})</h2>",
        thousands(page.overview.warned.len() as u64)
    );
    if page.overview.warned.is_empty() {
        h.push_str("<p>None.</p>\n");
    }
    sections(&mut h, page, &page.warned_sections, "warned");
    let _ = writeln!(
        h,
        "<h2 id=\"gallery\">Gallery: {} valid samples chosen with seed {}</h2>\n<div class=\"cards\">",
        page.gallery.len(),
        page.seed
    );
    for key in &page.gallery {
        if let Some(drawn) = page.drawn.get(key) {
            card(&mut h, page, drawn, "valid");
        }
    }
    h.push_str("</div>\n</body>\n</html>\n");
    h
}

fn overview(h: &mut String, page: &Page) {
    let o = &page.overview;
    h.push_str("<h2 id=\"overview\">Overview</h2>\n<table>\n");
    let row = |h: &mut String, name: &str, value: String| {
        let _ = writeln!(h, "<tr><th>{name}</th><td class=\"n\">{value}</td></tr>");
    };
    row(h, "samples", thousands(o.samples));
    row(h, "valid", thousands(o.valid));
    row(h, "excluded", thousands(o.excluded.len() as u64));
    row(h, "kept with warnings", thousands(o.warned.len() as u64));
    row(
        h,
        if page.converted {
            "shard bytes"
        } else {
            "source bytes read"
        },
        format_bytes(o.bytes),
    );
    for (format, (count, bytes)) in &o.shards {
        row(
            h,
            &format!("{} shards", escape(format)),
            format!("{} ({})", thousands(*count), format_bytes(*bytes)),
        );
    }
    h.push_str("</table>\n");
    if !o.parts.is_empty() {
        h.push_str("<table><tr><th>part</th><th>samples</th></tr>\n");
        for (part, n) in &o.parts {
            let _ = writeln!(
                h,
                "<tr><td>{}</td><td class=\"n\">{}</td></tr>",
                escape(part),
                thousands(*n)
            );
        }
        h.push_str("</table>\n");
    }
    if !o.splits.is_empty() {
        h.push_str("<table><tr><th>split</th><th>rows</th></tr>\n");
        for (split, n) in &o.splits {
            let _ = writeln!(
                h,
                "<tr><td>{}</td><td class=\"n\">{}</td></tr>",
                escape(split),
                thousands(*n)
            );
        }
        h.push_str("</table>\n");
    }
    if !o.errors.is_empty() || !o.warnings.is_empty() {
        h.push_str("<table><tr><th>code</th><th>severity</th><th>count</th></tr>\n");
        for (severity, counts) in [("error", &o.errors), ("warning", &o.warnings)] {
            for (code, n) in counts {
                // Codes about samples link to their cards; source-level ones have none.
                let has_cards = page
                    .excluded_sections
                    .iter()
                    .chain(&page.warned_sections)
                    .any(|section| section.code == *code);
                let name = if has_cards {
                    format!("<a href=\"#code-{code}\">{code}</a>")
                } else {
                    code.to_string()
                };
                let _ = writeln!(
                    h,
                    "<tr><td>{name}</td><td>{severity}</td><td class=\"n\">{}</td></tr>",
                    thousands(*n)
                );
            }
        }
        h.push_str("</table>\n");
    }
}

fn legend(h: &mut String) {
    h.push_str("<h2 id=\"legend\">Segmentation classes</h2>\n<div class=\"legend\">\n");
    for (label, (name, colour)) in CLASSES.iter().enumerate() {
        let _ = writeln!(
            h,
            "<span><span class=\"swatch\" style=\"background:{}\"></span>{label} {name}</span>",
            hex(*colour)
        );
    }
    let _ = writeln!(
        h,
        "<span><span class=\"swatch\" style=\"background:{}\"></span>label above 18</span>\n\
         <span><span class=\"swatch\" style=\"background:{}\"></span>landmark</span>\n</div>",
        hex(UNKNOWN_LABEL),
        hex(LANDMARK)
    );
}

fn plots(h: &mut String, page: &Page) {
    let o = &page.overview;
    h.push_str("<h2 id=\"plots\">Distributions</h2>\n<div class=\"plots\">\n");
    // Pixel share per class.
    let total: u64 = page.class_pixels.iter().sum();
    h.push_str("<div><h3>Pixel share per class</h3>\n");
    if total == 0 {
        h.push_str("<p>No segmentation map was decoded.</p>\n");
    } else {
        let mut bars = Vec::new();
        for (label, (name, colour)) in CLASSES.iter().enumerate() {
            bars.push((
                format!("{label} {name}"),
                page.class_pixels[label] as f64 / total as f64,
                *colour,
            ));
        }
        let unknown: u64 = page.class_pixels[CLASSES.len()..].iter().sum();
        if unknown > 0 {
            bars.push((
                "above 18".to_string(),
                unknown as f64 / total as f64,
                UNKNOWN_LABEL,
            ));
        }
        h.push_str(&bar_chart(&bars));
        let _ = writeln!(
            h,
            "<p class=\"muted\" id=\"class-shares-basis\">{}</p>",
            statistics_basis(page, page.class_maps, "segmentation maps")
        );
    }
    h.push_str("</div>\n<div><h3>Landmark density</h3>\n");
    match &page.density_picture {
        Some(picture) => {
            let _ = writeln!(
                h,
                "<img src=\"{}\" width=\"256\" height=\"256\" alt=\"landmark density\">\n\
                 <p class=\"muted\">{} landmark positions (log scale). {}</p>",
                escape(picture),
                thousands(page.density_points),
                statistics_basis(page, page.density_samples, "samples' landmarks")
            );
        }
        None => h.push_str("<p>No landmarks were decoded.</p>\n"),
    }
    h.push_str("</div>\n<div><h3>4x4 block purity of the maps</h3>\n");
    if o.purity.maps == 0 {
        h.push_str("<p>No map measured.</p>\n");
    } else {
        h.push_str(&bars(&o.purity.bins, "0%", "100%"));
        let _ = writeln!(
            h,
            "<p class=\"muted\">Share of pure blocks per map. {} of {} {} fully pure (a nearest-neighbour x4 upscale).</p>",
            thousands(o.purity.pure),
            thousands(o.purity.maps),
            if o.purity_of_every_map {
                "maps"
            } else {
                "sampled maps"
            }
        );
    }
    h.push_str("</div>\n<div><h3>Image file sizes</h3>\n");
    let sizes = &o.image_sizes;
    if sizes.images == 0 {
        h.push_str("<p>No image.</p>\n");
    } else {
        // One bar per eighth of an octave from the smallest size to the largest.
        let (first, last) = (SizeCounts::bin(sizes.min), SizeCounts::bin(sizes.max));
        let mut counts = vec![0u64; (last - first + 1) as usize];
        // (A hand-edited manifest may list bins outside its own min and max: left out.)
        for [bin, count] in &sizes.bins {
            if let Some(slot) = bin
                .checked_sub(first)
                .and_then(|i| counts.get_mut(i as usize))
            {
                *slot += count;
            }
        }
        h.push_str(&bars(
            &counts,
            &format_bytes(sizes.min),
            &format_bytes(sizes.max),
        ));
        let _ = writeln!(
            h,
            "<p class=\"muted\">{} {} (bars 9% wide: eight per doubling).</p>",
            thousands(sizes.images),
            if o.sizes_of_every_image {
                "source image files (every valid sample, before any --resolution)"
            } else {
                "sampled rows (the stored images)"
            }
        );
    }
    h.push_str("</div>\n</div>\n");
}

/// Which samples the class shares or the landmark density come from: every valid sample
/// (counted by the validation pass, or by `convert` into the manifest), or, for a manifest
/// of an older version, the sampled rows.
fn statistics_basis(page: &Page, counted: u64, what: &str) -> String {
    let n = thousands(counted);
    match (page.every_sample, page.converted) {
        (true, false) => {
            format!("Over all {n} {what} of the valid samples, counted while validating.")
        }
        (true, true) => format!(
            "Over all {n} {what} of the rows, counted by convert (manifest.json statistics)."
        ),
        (false, _) => match &page.statistics_rejected {
            Some(why) => format!(
                "Estimated from the {n} {what} of {} rows chosen with seed {}: this manifest.json's statistics do not hold together ({}), so they were set aside; run `sfhq-pack verify` on the folder, and convert again to have them.",
                page.statistics_samples,
                page.seed,
                escape(why)
            ),
            None => format!(
                "Estimated from the {n} {what} of {} rows chosen with seed {}: this manifest.json has no statistics over every row (written by an older sfhq-pack; convert again to have them).",
                page.statistics_samples, page.seed
            ),
        },
    }
}

/// Near-duplicate pairs side by side: both thumbnails, both keys, the similarity.
fn near_duplicates(h: &mut String, page: &Page) {
    let Some(near) = &page.near_duplicates else {
        return;
    };
    let _ = writeln!(
        h,
        "<h2 id=\"near-duplicates\">Near-duplicate pairs ({})</h2>",
        thousands(near.pairs.len() as u64)
    );
    let _ = writeln!(
        h,
        "<p>{} cosine similarity at or above {}, and identical images: {} pair(s) in {} group(s), {}.</p>",
        escape(&near.model),
        near.threshold,
        thousands(near.pairs.len() as u64),
        thousands(near.groups),
        if near.recorded {
            "as convert --dedup-threshold recorded them in manifest.json"
        } else {
            "found by this run"
        }
    );
    if let Some(note) = &near.note {
        let _ = writeln!(h, "<p class=\"muted\">{}</p>", escape(note));
    }
    let shown = near.pairs.len().min(page.pairs_shown);
    h.push_str("<div class=\"cards\">\n");
    for pair in &near.pairs[..shown] {
        let similarity = if pair.identical {
            "1.0 (identical images)".to_string()
        } else {
            format!("{:.6}", pair.similarity)
        };
        let _ = writeln!(
            h,
            "<div class=\"card pair\">\n<div>similarity <b class=\"similarity\">{similarity}</b></div>\n<div class=\"panels\">"
        );
        for key in [&pair.a, &pair.b] {
            let picture = match page.thumbnail(key) {
                Some(file) => format!(
                    "<img src=\"{}\" alt=\"image of {}\" loading=\"lazy\">",
                    escape(&file),
                    escape(key)
                ),
                None => "<div class=\"nopicture\">no picture: not in the input</div>".to_string(),
            };
            let _ = writeln!(
                h,
                "<figure>{picture}<figcaption class=\"key\">{}</figcaption></figure>",
                escape(key)
            );
        }
        h.push_str("</div>\n</div>\n");
    }
    h.push_str("</div>\n");
    if near.pairs.len() > shown {
        let _ = writeln!(
            h,
            "<p class=\"muted\">{} shown, {} more not shown (raise --pairs to see them).</p>",
            shown,
            thousands((near.pairs.len() - shown) as u64)
        );
    }
}

/// Horizontal bars: label, share in [0, 1], colour.
fn bar_chart(bars: &[(String, f64, [u8; 3])]) -> String {
    let (label_w, bar_w, row_h) = (130.0, 260.0, 16.0);
    let height = row_h * bars.len() as f64 + 4.0;
    let mut s = String::new();
    let _ = writeln!(
        s,
        "<svg width=\"{}\" height=\"{height}\" role=\"img\" aria-label=\"pixel share per class\" font-size=\"11\">",
        label_w + bar_w + 60.0
    );
    for (i, (label, share, colour)) in bars.iter().enumerate() {
        let y = i as f64 * row_h + 2.0;
        let w = (share * bar_w).max(if *share > 0.0 { 1.0 } else { 0.0 });
        let _ = writeln!(
            s,
            "<text x=\"0\" y=\"{}\">{}</text><rect x=\"{label_w}\" y=\"{y}\" width=\"{w:.1}\" height=\"{}\" fill=\"{}\" stroke=\"#888\" stroke-width=\"0.5\"/><text x=\"{:.1}\" y=\"{}\">{:.2}%</text>",
            y + 11.0,
            escape(label),
            row_h - 3.0,
            hex(*colour),
            label_w + w + 4.0,
            y + 11.0,
            share * 100.0
        );
    }
    s.push_str("</svg>\n");
    s
}

/// `counts` as vertical bars, `low` and `high` written under the first and the last.
fn bars(counts: &[u64], low: &str, high: &str) -> String {
    let bins = counts.len().max(1);
    let top = counts.iter().copied().max().unwrap_or(0).max(1);
    let (w, plot_h, bar_w) = (360.0, 140.0, 360.0 / bins as f64);
    let mut s = String::new();
    let _ = writeln!(
        s,
        "<svg width=\"{}\" height=\"{}\" role=\"img\" aria-label=\"histogram\" font-size=\"11\">",
        w + 10.0,
        plot_h + 34.0
    );
    for (i, &count) in counts.iter().enumerate() {
        let bar_h = count as f64 / top as f64 * plot_h;
        let _ = writeln!(
            s,
            "<rect x=\"{:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{bar_h:.1}\" fill=\"#4a78b0\"><title>{count}</title></rect>",
            i as f64 * bar_w + 1.0,
            14.0 + plot_h - bar_h,
            bar_w - 1.0
        );
    }
    let _ = writeln!(
        s,
        "<text x=\"0\" y=\"10\">max {}</text><line x1=\"0\" y1=\"{y}\" x2=\"{w}\" y2=\"{y}\" stroke=\"#888\"/>\
         <text x=\"0\" y=\"{t}\">{}</text><text x=\"{w}\" y=\"{t}\" text-anchor=\"end\">{}</text>",
        thousands(top),
        escape(low),
        escape(high),
        y = 14.0 + plot_h,
        t = 14.0 + plot_h + 16.0
    );
    s.push_str("</svg>\n");
    s
}

fn sections(h: &mut String, page: &Page, sections: &[CodeSection], kind: &str) {
    for section in sections {
        let shown = section.keys.len() as u64;
        let _ = writeln!(
            h,
            "<h3 id=\"code-{}\">{} ({} {})</h3>",
            section.code,
            section.code,
            thousands(section.total),
            if section.total == 1 {
                "sample"
            } else {
                "samples"
            }
        );
        if section.total > shown {
            let _ = writeln!(
                h,
                "<p class=\"muted\">{} shown, {} more not shown (raise --per-code to see them).</p>",
                shown,
                thousands(section.total - shown)
            );
        }
        h.push_str("<div class=\"cards\">\n");
        for key in &section.keys {
            if let Some(drawn) = page.drawn.get(key) {
                card(h, page, drawn, kind);
            }
        }
        h.push_str("</div>\n");
    }
}

fn card(h: &mut String, page: &Page, drawn: &Drawn, kind: &str) {
    let _ = writeln!(
        h,
        "<div class=\"card {kind}\">\n<div class=\"key\">{}</div>\n<div class=\"panels\">",
        escape(&drawn.key)
    );
    for (panel, file) in &drawn.pictures {
        let caption = match *panel {
            "image" => "image",
            "segmentation" => "segmentation map",
            "blend" => "map over image",
            "landmarks" => "landmarks",
            other => other,
        };
        let _ = writeln!(
            h,
            "<figure><img src=\"{}\" alt=\"{} of {}\" loading=\"lazy\"><figcaption>{caption}</figcaption></figure>",
            escape(file),
            caption,
            escape(&drawn.key)
        );
    }
    h.push_str("</div>\n");
    if !drawn.names.is_empty() {
        h.push_str("<ul class=\"files\">");
        for name in &drawn.names {
            let _ = write!(h, "<li>{}</li>", escape(name));
        }
        h.push_str("</ul>\n");
    }
    if let Some(issues) = page.issues.get(&drawn.key) {
        h.push_str("<ul class=\"issues\">");
        for issue in issues {
            let _ = write!(
                h,
                "<li><b>{}</b> [{}] {}: {}</li>",
                issue.code,
                issue.severity.as_str(),
                escape(&issue.file),
                escape(&issue.message)
            );
        }
        h.push_str("</ul>\n");
    }
    if !drawn.notes.is_empty() {
        h.push_str("<ul class=\"notes\">");
        for note in &drawn.notes {
            let _ = write!(h, "<li>{}</li>", escape(note));
        }
        h.push_str("</ul>\n");
    }
    h.push_str("</div>\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_covers_markup_and_controls() {
        assert_eq!(
            escape("<img src=x onerror=\"a\">&'"),
            "&lt;img src=x onerror=&quot;a&quot;&gt;&amp;&#39;"
        );
        assert_eq!(escape("a\x1bb"), "a\\u{1b}b");
    }

    #[test]
    fn bars_draw_one_bar_per_count_scaled_to_the_largest() {
        let svg = bars(&[1, 3, 0], "0%", "100%");
        assert_eq!(svg.matches("<rect").count(), 3);
        assert!(svg.contains("<title>3</title>"), "{svg}");
        assert!(svg.contains("<title>1</title>"), "{svg}");
        assert!(svg.contains("max 3") && svg.contains(">100%<"), "{svg}");
        // The largest bar is the plot's full height (140), a third of it for 1.
        assert!(
            svg.contains("height=\"140.0\"") && svg.contains("height=\"46.7\""),
            "{svg}"
        );
        assert!(!svg.contains("http"), "inline SVG needs no namespace URL");
    }
}
