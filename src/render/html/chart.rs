//! Geometry of the inline SVG chart: one horizontal bar per category, split
//! by severity. Computed here so the template only places shapes, and the
//! page needs no charting script.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::report::Counts;
use crate::text::truncate;

/// Left column holding category names.
const LABEL_WIDTH: u32 = 130;
/// Longest bar.
const BAR_WIDTH: u32 = 340;
/// Right column holding the total.
const TOTAL_WIDTH: u32 = 50;
const ROW_HEIGHT: u32 = 24;
/// Longest category name that fits the label column; longer ones are cut (the tooltip has it whole).
const LABEL_CHARS: usize = 18;
const BAR_HEIGHT: u32 = 16;

/// The chart as the template draws it.
#[derive(Debug, Serialize)]
pub(super) struct Chart {
    /// SVG width.
    pub width: u32,
    /// SVG height.
    pub height: u32,
    /// One bar per category, most findings first.
    pub rows: Vec<Row>,
    /// A short text alternative for screen readers.
    pub description: String,
}

/// One category's bar.
#[derive(Debug, Serialize)]
pub(super) struct Row {
    /// Category name, shortened to fit the label column.
    pub category: String,
    /// Top of the row.
    pub y: u32,
    /// Top of the bar.
    pub bar_y: u32,
    /// Baseline of the row's text.
    pub text_y: u32,
    /// Where the total is written.
    pub total_x: u32,
    /// Findings in the category, formatted.
    pub total: String,
    /// Tooltip: the counts in words.
    pub title: String,
    /// The non-empty severity parts of the bar, most severe first.
    pub segments: Vec<Segment>,
}

/// One severity's part of a bar.
#[derive(Debug, Serialize)]
pub(super) struct Segment {
    /// `danger`, `warning` or `info` (the CSS class colours it).
    pub severity: &'static str,
    /// Left edge.
    pub x: u32,
    /// Width, at least 2 px so a single finding stays visible.
    pub width: u32,
    /// Findings of this severity.
    pub count: usize,
}

/// Lays out the chart; `None` when there is nothing to draw.
pub(super) fn layout(by_category: &BTreeMap<String, Counts>) -> Option<Chart> {
    let mut categories: Vec<(&String, &Counts)> =
        by_category.iter().filter(|(_, c)| c.danger + c.warning + c.info > 0).collect();
    if categories.is_empty() {
        return None;
    }
    // Most findings first, then by severity, then by name: the worst category on top.
    categories.sort_by(|a, b| {
        let key = |c: &Counts| (c.danger + c.warning + c.info, c.danger, c.warning);
        key(b.1).cmp(&key(a.1)).then_with(|| a.0.cmp(b.0))
    });
    let max = categories.iter().map(|(_, c)| c.danger + c.warning + c.info).max().unwrap_or(1).max(1);
    let rows: Vec<Row> = categories
        .iter()
        .enumerate()
        .map(|(i, (name, c))| {
            let y = u32::try_from(i).unwrap_or(u32::MAX).saturating_mul(ROW_HEIGHT);
            let mut x = LABEL_WIDTH;
            let mut segments = Vec::new();
            for (severity, count) in [("danger", c.danger), ("warning", c.warning), ("info", c.info)] {
                if count == 0 {
                    continue;
                }
                let width = scale(count, max).max(2);
                segments.push(Segment { severity, x, width, count });
                x += width;
            }
            let total = c.danger + c.warning + c.info;
            Row {
                category: truncate(name, LABEL_CHARS),
                y,
                bar_y: y + (ROW_HEIGHT - BAR_HEIGHT) / 2,
                text_y: y + ROW_HEIGHT / 2 + 4,
                total_x: x + 6,
                total: super::view::thousands(total),
                title: format!("{name}: {} danger, {} warning, {} info", c.danger, c.warning, c.info),
                segments,
            }
        })
        .collect();
    let description = rows.iter().map(|r| r.title.clone()).collect::<Vec<_>>().join("; ");
    Some(Chart {
        width: LABEL_WIDTH + BAR_WIDTH + TOTAL_WIDTH,
        height: u32::try_from(rows.len()).unwrap_or(u32::MAX).saturating_mul(ROW_HEIGHT),
        rows,
        description,
    })
}

/// `count` of `max` as pixels of the longest bar.
fn scale(count: usize, max: usize) -> u32 {
    let px = (count as f64 / max as f64 * f64::from(BAR_WIDTH)).round();
    // In range by construction: count ≤ max.
    px.clamp(0.0, f64::from(BAR_WIDTH)) as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    fn counts(danger: usize, warning: usize, info: usize) -> Counts {
        Counts { danger, warning, info }
    }

    #[test]
    fn bars_are_proportional_and_sorted() {
        let mut by = BTreeMap::new();
        by.insert("Efficiency".to_string(), counts(0, 2, 0));
        by.insert("Security".to_string(), counts(2, 2, 0));
        by.insert("Empty".to_string(), counts(0, 0, 0));
        let chart = layout(&by).expect("has rows");
        assert_eq!(chart.rows.iter().map(|r| r.category.as_str()).collect::<Vec<_>>(), ["Security", "Efficiency"]);
        let security = &chart.rows[0];
        assert_eq!(security.segments.iter().map(|s| s.width).sum::<u32>(), BAR_WIDTH);
        assert_eq!(security.segments[0].severity, "danger");
        assert_eq!(security.segments[1].x, LABEL_WIDTH + BAR_WIDTH / 2);
        assert_eq!(chart.rows[1].segments[0].width, BAR_WIDTH / 2);
        assert_eq!(chart.height, 2 * ROW_HEIGHT);
    }

    #[test]
    fn nothing_to_draw() {
        assert!(layout(&BTreeMap::new()).is_none());
    }

    #[test]
    fn one_finding_among_thousands_stays_visible() {
        let mut by = BTreeMap::new();
        by.insert("A".to_string(), counts(0, 10_000, 0));
        by.insert("B".to_string(), counts(1, 0, 0));
        let chart = layout(&by).expect("has rows");
        assert_eq!(chart.rows[1].segments[0].width, 2);
    }
}
