//! `sensitiveConfigmapContent`: a ConfigMap holds secret-looking content.

use super::{CodeCheck, Run};
use crate::checks::Outcome;
use crate::checks::index::Index;
use crate::checks::sensitive;
use crate::inventory::Object;

pub(super) const CHECK: CodeCheck =
    CodeCheck { name: "sensitiveConfigmapContent", run: Run::Object(&["ConfigMap"], run) };

fn run(cm: &Object, _: &Index<'_>) -> Outcome {
    // Each key with why it looks sensitive; the value itself is never shown.
    let keys = sensitive::configmap_keys(&cm.raw);
    match keys.as_slice() {
        [] => Outcome::Pass,
        [(key, why)] => Outcome::Fail(Some(format!("ConfigMap key {key} {why}; store it in a Secret"))),
        many => {
            let listed: Vec<String> = many.iter().map(|(key, why)| format!("{key} {why}")).collect();
            Outcome::Fail(Some(format!("ConfigMap keys: {}; store them in a Secret", listed.join("; "))))
        }
    }
}
