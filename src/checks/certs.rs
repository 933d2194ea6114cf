//! The apiserver's serving certificate: how long until it expires.

use serde::Deserialize;

use super::Evaluation;
use super::health::{APISERVER_CERTIFICATE, Context, emit};
use crate::clock;
use crate::inventory::{ObjectRef, section};
use crate::report::{Finding, Severity};
use crate::rules::Rule;

/// The certificate as stored in `APIServerHealth.certificate`.
#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct CertificateInfo {
    /// Subject DN.
    pub subject: String,
    /// Issuer DN.
    pub issuer: String,
    /// RFC 3339.
    pub not_before: String,
    /// RFC 3339.
    pub not_after: String,
    /// Subject alternative DNS names.
    pub dns_names: Vec<String>,
}

#[derive(Deserialize)]
struct Holder {
    certificate: Option<CertificateInfo>,
}

/// Runs the rules bound to the API server certificate check (`NodeApiServerExpiredPeriod`).
pub fn check(ctx: &Context<'_>, eval: &mut Evaluation) {
    for rule in ctx.bound(&APISERVER_CERTIFICATE) {
        check_one(ctx, rule, eval);
    }
}

fn check_one(ctx: &Context<'_>, rule: &Rule, eval: &mut Evaluation) {
    let Some(health) = ctx.index.named("APIServerHealth", None, "apiserver") else { return };
    let Some(cert) = Holder::deserialize(&health.raw).ok().and_then(|h| h.certificate) else { return };
    let Some(not_after) = clock::parse(&cert.not_after) else { return };
    let days_left = clock::seconds_between(ctx.now, not_after).div_euclid(86400);
    let t = &ctx.settings.thresholds;
    let severity = if days_left < i64::from(t.certificate_danger_days) {
        Severity::Danger
    } else if days_left < i64::from(t.certificate_warning_days) {
        Severity::Warning
    } else {
        eval.passed += 1;
        return;
    };
    let object =
        ObjectRef { group: String::new(), kind: "Certificate".into(), namespace: None, name: "kube-apiserver".into() };
    let when = if days_left < 0 {
        format!("expired {} day(s) ago, on {}", -days_left, clock::format(not_after))
    } else {
        format!("expires in {days_left} day(s), on {}", clock::format(not_after))
    };
    let subject = if cert.subject.is_empty() { String::new() } else { format!(" ({})", cert.subject) };
    let mut f = Finding::new(rule, section::CONTROL_PLANE, &object)
        .with_message(format!("The API server's serving certificate{subject} {when}"));
    // The rule's severity is the one for "soon"; the last days are always danger.
    f.severity = match (rule.severity, severity) {
        (_, Severity::Danger) => Severity::Danger,
        (Some(s), _) => s,
        (None, s) => s,
    };
    emit(ctx, eval, f, None);
}
