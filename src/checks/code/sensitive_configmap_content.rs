//! `sensitiveConfigmapContent`: a ConfigMap holds secret-looking content.

use super::{CodeCheck, Run};
use crate::checks::Outcome;
use crate::checks::index::Index;
use crate::checks::sensitive;
use crate::inventory::Object;

pub(super) const CHECK: CodeCheck =
    CodeCheck { name: "sensitiveConfigmapContent", run: Run::Object(&["ConfigMap"], run) };

fn run(cm: &Object, _: &Index<'_>) -> Outcome {
    let keys = sensitive::configmap_keys(&cm.raw);
    if keys.is_empty() {
        Outcome::Pass
    } else {
        Outcome::Fail(Some(format!(
            "ConfigMap key {} looks like sensitive data; store it in a Secret",
            keys.join(", ")
        )))
    }
}
