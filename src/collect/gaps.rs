//! Coverage gaps of a live inspection, with repeated failures of one kind
//! summarised: a cluster of 500 pods whose logs all time out reports the
//! first few and a count, not 500 lines.

use crate::inventory::CoverageGap;

/// Individual gaps recorded per kind of failure before they are summarised.
const GAPS_PER_KIND: usize = 20;

/// Coverage gaps, with repeated failures of one kind (one per log, one per
/// node) summarised after the first few.
#[derive(Default)]
pub(super) struct Gaps {
    list: Vec<CoverageGap>,
    per_kind: std::collections::HashMap<(String, String), usize>,
}

impl Gaps {
    /// Records a gap, or only counts it once its kind has been listed often enough.
    pub(super) fn push(&mut self, gap: CoverageGap) {
        let kind = (gap.section.clone(), gap.resource.split_whitespace().next().unwrap_or_default().to_string());
        let n = self.per_kind.entry(kind).or_default();
        *n += 1;
        if *n <= GAPS_PER_KIND {
            self.list.push(gap);
        }
    }

    /// The gaps listed, and one summary per kind that was cut short.
    pub(super) fn into_vec(mut self) -> Vec<CoverageGap> {
        let mut more: Vec<_> = self.per_kind.into_iter().filter(|(_, n)| *n > GAPS_PER_KIND).collect();
        more.sort();
        for ((section, resource), n) in more {
            self.list.push(CoverageGap::error(
                &section,
                format!("{resource} (more)"),
                format!("{} more failures like the above were not listed one by one", n - GAPS_PER_KIND),
            ));
        }
        self.list
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeated_gaps_are_summarised() {
        let mut gaps = Gaps::default();
        for i in 0..25 {
            gaps.push(CoverageGap::error("logs", format!("pods/log ns/p{i} container c"), "timeout"));
        }
        let v = gaps.into_vec();
        assert_eq!(v.len(), GAPS_PER_KIND + 1);
        assert!(v[GAPS_PER_KIND].reason.starts_with("5 more"));
    }
}
