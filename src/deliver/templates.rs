//! The templates notifications and the archive index are rendered from, and
//! the three ways of rendering them: HTML (every value escaped), plain text
//! (nothing escaped) and JSON (values inserted only through the `json`
//! helper, so a hostile cluster name cannot break out of a string).
//!
//! All registries run in strict mode: a misspelt field in a template is an
//! error rather than a silently empty line.

use handlebars::{
    Context, Handlebars, Helper, HelperDef, HelperResult, Output, RenderContext, RenderError, RenderErrorReason,
    Renderable, ScopedJson, no_escape,
};
use serde::Serialize;

use super::Digest;
use crate::report::HealthStatus;

/// Plain-text body of the digest email.
pub const DIGEST_TEXT: &str = include_str!("../../templates/digest.txt.hbs");
/// HTML body of the digest email.
pub const DIGEST_HTML: &str = include_str!("../../templates/digest.html.hbs");
/// The fleet overview written to `<prefix>/index.html`.
pub const INDEX_HTML: &str = include_str!("../../templates/index.html.hbs");

/// Webhook body templates by format name.
pub const WEBHOOKS: [(&str, &str); 6] = [
    ("slack", include_str!("../../templates/webhooks/slack.json.hbs")),
    ("generic", include_str!("../../templates/webhooks/generic.json.hbs")),
    ("teams", include_str!("../../templates/webhooks/teams.json.hbs")),
    ("dingtalk", include_str!("../../templates/webhooks/dingtalk.json.hbs")),
    ("feishu", include_str!("../../templates/webhooks/feishu.json.hbs")),
    ("wecom", include_str!("../../templates/webhooks/wecom.json.hbs")),
];

/// A template that could not be rendered (a bug in a template, not in the input).
#[derive(Debug, thiserror::Error)]
#[error("template {name}: {source}")]
pub struct TemplateError {
    /// Which template.
    pub name: String,
    /// What went wrong.
    #[source]
    pub source: TemplateFault,
}

/// What went wrong with a template.
#[derive(Debug, thiserror::Error)]
pub enum TemplateFault {
    /// The template does not parse.
    #[error("{0}")]
    Syntax(#[from] Box<handlebars::TemplateError>),
    /// Rendering failed (in strict mode, a field the data does not have).
    #[error("{0}")]
    Render(#[from] Box<RenderError>),
    /// A JSON template rendered something that is not JSON.
    #[error("not JSON: {0}")]
    NotJson(#[from] serde_json::Error),
}

/// How values are escaped while rendering.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Escape {
    /// HTML entities for `& < > " ' \` =`.
    Html,
    /// Nothing (plain text; JSON templates, where `json` does the quoting).
    None,
}

/// Renders one template with `data`.
pub fn render<T: Serialize>(name: &str, template: &str, escape: Escape, data: &T) -> Result<String, TemplateError> {
    let err = |source: TemplateFault| TemplateError { name: name.to_string(), source };
    let mut hb = Handlebars::new();
    hb.set_strict_mode(true);
    if escape == Escape::None {
        hb.register_escape_fn(no_escape);
    }
    hb.register_helper("json", Box::new(JsonHelper));
    hb.register_helper("jsonstr", Box::new(JsonStringBlock));
    hb.register_helper("slack", Box::new(MapText(slack_escape)));
    hb.register_helper("md", Box::new(MapText(defuse_markdown)));
    hb.register_template_string(name, template).map_err(|e| err(Box::new(e).into()))?;
    hb.render(name, data).map_err(|e| err(Box::new(e).into()))
}

/// What the digest templates see: the [`Digest`] fields plus what templates
/// cannot compute themselves.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DigestView<'a> {
    /// Every field of the digest, at the top level.
    #[serde(flatten)]
    pub digest: &'a Digest,
    /// [`Digest::subject`].
    pub subject: String,
    /// Whether the run was compared with a previous one (`new`/`resolved` are set).
    pub has_diff: bool,
    /// `danger`, `warning` or `ok`: the worst severity present.
    pub status: &'static str,
    /// `HEALTHY`, `DEGRADED`, `DOWN`, or empty for a report without health.
    pub health_label: &'static str,
    /// The health reasons, comma-separated (empty when healthy).
    pub health_reasons: String,
    /// How alarming the post is: `danger` (down), `warning` (degraded) or
    /// `ok` (healthy); from the worst severity for a report without health.
    pub tone: &'static str,
    /// A colour for the tone (`#rrggbb`), for cards and headers.
    pub color: &'static str,
    /// A short tone emoji for chat formats.
    pub emoji: &'static str,
    /// The best-practice score as shown: `91/100`, or `n/a` when nothing was evaluated.
    pub score_text: String,
}

impl<'a> DigestView<'a> {
    /// The view of a digest.
    pub fn of(digest: &'a Digest) -> Self {
        let status = if digest.summary.danger > 0 {
            "danger"
        } else if digest.summary.warning > 0 {
            "warning"
        } else {
            "ok"
        };
        // Health before hygiene: a healthy cluster with best-practice dangers is green.
        let tone = match digest.health.as_ref().map(|h| h.status) {
            Some(HealthStatus::Down) => "danger",
            Some(HealthStatus::Degraded) => "warning",
            Some(HealthStatus::Healthy) => "ok",
            None => status,
        };
        let (color, emoji) = match tone {
            "danger" => ("#c62828", "🔴"),
            "warning" => ("#ef6c00", "🟠"),
            _ => ("#2e7d32", "🟢"),
        };
        DigestView {
            digest,
            subject: digest.subject(),
            has_diff: digest.new.is_some() || digest.resolved.is_some(),
            status,
            health_label: digest.health.as_ref().map_or("", |h| h.status.label()),
            health_reasons: digest.health.as_ref().map(|h| h.reasons.join(", ")).unwrap_or_default(),
            tone,
            color,
            emoji,
            score_text: digest.summary.score_text(),
        }
    }
}

/// The value of a helper's parameter, refusing missing ones in strict mode.
fn param<'a>(h: &'a Helper<'_>, r: &Handlebars<'_>, index: usize) -> Result<&'a serde_json::Value, RenderError> {
    match h.param(index) {
        Some(p) if !(r.strict_mode() && p.is_value_missing()) => Ok(p.value()),
        _ => Err(RenderErrorReason::ParamNotFoundForIndex("helper", index).into()),
    }
}

/// `{{json value}}`: the value as JSON text (`"prod-eu"`, `3`, `null`, `{…}`).
struct JsonHelper;

impl HelperDef for JsonHelper {
    fn call_inner<'reg: 'rc, 'rc>(
        &self,
        h: &Helper<'rc>,
        r: &'reg Handlebars<'reg>,
        _: &'rc Context,
        _: &mut RenderContext<'reg, 'rc>,
    ) -> Result<ScopedJson<'rc>, RenderError> {
        let value = param(h, r, 0)?;
        let text = serde_json::to_string(value).map_err(|e| RenderErrorReason::Other(e.to_string()))?;
        Ok(ScopedJson::Derived(serde_json::Value::String(text)))
    }
}

/// `{{#jsonstr}}…{{/jsonstr}}`: renders the block as text, trims it, and
/// emits it as one JSON string. For composite texts (a markdown message
/// with a line per finding) that must land in a single JSON field.
struct JsonStringBlock;

impl HelperDef for JsonStringBlock {
    fn call<'reg: 'rc, 'rc>(
        &self,
        h: &Helper<'rc>,
        r: &'reg Handlebars<'reg>,
        ctx: &'rc Context,
        rc: &mut RenderContext<'reg, 'rc>,
        out: &mut dyn Output,
    ) -> HelperResult {
        let text = match h.template() {
            Some(t) => t.renders(r, ctx, rc)?,
            None => String::new(),
        };
        let json = serde_json::to_string(text.trim()).map_err(|e| RenderErrorReason::Other(e.to_string()))?;
        out.write(&json)?;
        Ok(())
    }
}

/// A helper that maps its text parameter through a function: `(slack text)`
/// and `(md text)`.
struct MapText(fn(&str) -> String);

impl HelperDef for MapText {
    fn call_inner<'reg: 'rc, 'rc>(
        &self,
        h: &Helper<'rc>,
        r: &'reg Handlebars<'reg>,
        _: &'rc Context,
        _: &mut RenderContext<'reg, 'rc>,
    ) -> Result<ScopedJson<'rc>, RenderError> {
        Ok(ScopedJson::Derived(serde_json::Value::String((self.0)(&text_param(h, r)?))))
    }
}

/// `(slack text)`: escapes `& < >` as Slack's mrkdwn requires, so a value
/// cannot form a link or a `<!channel>` mention.
pub fn slack_escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

/// `(md text)`: defuses markdown for Teams, DingTalk, Feishu and WeCom, whose
/// dialects differ and do not all honour backslash escapes: brackets, angle
/// brackets and backticks become look-alikes, so cluster text (a log line, an
/// event message) can never become a link, an image or HTML in a bot's post.
pub fn defuse_markdown(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            '[' => '［',
            ']' => '］',
            '(' => '（',
            ')' => '）',
            '<' => '‹',
            '>' => '›',
            '`' => '\'',
            '\n' | '\r' => ' ',
            c => c,
        })
        .collect()
}

/// A helper's first parameter as text.
fn text_param(h: &Helper<'_>, r: &Handlebars<'_>) -> Result<String, RenderError> {
    Ok(match param(h, r, 0)? {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Null => String::new(),
        other => other.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markdown_from_the_cluster_cannot_become_a_link_or_an_image() {
        let hostile = "see [Re-authenticate](https://evil.example) ![x](https://evil.example/t.png) <b>`rm`</b>";
        let safe = defuse_markdown(hostile);
        for bad in ["](", "[", "<b>", "`"] {
            assert!(!safe.contains(bad), "{safe}");
        }
        assert!(safe.contains("Re-authenticate"));
    }

    #[test]
    fn json_helper_quotes_and_strict_mode_refuses_unknown_fields() {
        let data = serde_json::json!({"name": "a\"b\n</script>", "n": 3, "none": null});
        let out = render("t", "[{{json name}}, {{json n}}, {{json none}}]", Escape::None, &data).unwrap();
        let parsed: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert_eq!(parsed, serde_json::json!(["a\"b\n</script>", 3, null]));
        assert!(render("t", "{{json nmae}}", Escape::None, &data).is_err());
        assert!(render("t", "{{nmae}}", Escape::Html, &data).is_err());
        let block = render("t", "{{#jsonstr}}\n*{{name}}* {{n}}\n{{/jsonstr}}", Escape::None, &data).unwrap();
        assert_eq!(serde_json::from_str::<String>(&block).unwrap(), "*a\"b\n</script>* 3");
        let html = render("t", "<b>{{name}}</b>", Escape::Html, &data).unwrap();
        assert!(html.contains("&lt;/script&gt;") && !html.contains("</script>"));
        let slack = render("t", "{{slack \"<!channel> & co\"}}", Escape::None, &data).unwrap();
        assert_eq!(slack, "&lt;!channel&gt; &amp; co");
    }
}
