//! Which endpoint a request path names, the way the API server lays out its URLs.

/// A resource path: `/api/v1[/namespaces/NS]/PLURAL[/NAME]` or the `/apis/GROUP/VERSION/…` form.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Target<'a> {
    /// API group, empty for `/api/v1`.
    pub group: &'a str,
    /// Version in the path.
    pub version: &'a str,
    /// Resource plural.
    pub plural: &'a str,
    /// Namespace segment, if the path has one.
    pub namespace: Option<&'a str>,
    /// Object name, for paths about one object.
    pub name: Option<&'a str>,
}

/// An endpoint of the fake.
#[derive(Debug, PartialEq, Eq)]
pub enum Route<'a> {
    /// `/version`.
    Version,
    /// `/readyz`, `/livez`, `/healthz`.
    Probe(&'a str),
    /// `/api`.
    CoreVersions,
    /// `/apis`.
    Groups,
    /// `/api/v1`, `/apis/GROUP/VERSION`.
    Resources {
        /// API group.
        group: &'a str,
        /// Version.
        version: &'a str,
    },
    /// A list.
    Collection(Target<'a>),
    /// One object.
    Object(Target<'a>),
    /// `/api/v1/namespaces/NS/pods/NAME/log`.
    PodLog(Target<'a>),
    /// `/api/v1/nodes/NAME/proxy/REST`.
    NodeProxy(Target<'a>, String),
    /// Anything else.
    Unknown,
}

/// Parses a request path (without the query).
pub fn route(path: &str) -> Route<'_> {
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let (group, version, rest) = match segments.as_slice() {
        ["version"] => return Route::Version,
        [probe @ ("readyz" | "livez" | "healthz")] => return Route::Probe(probe),
        ["api"] => return Route::CoreVersions,
        ["apis"] => return Route::Groups,
        ["api", version, rest @ ..] => ("", *version, rest),
        ["apis", group, version, rest @ ..] => (*group, *version, rest),
        _ => return Route::Unknown,
    };
    let target = |plural, namespace, name| Target { group, version, plural, namespace, name };
    match rest {
        [] => Route::Resources { group, version },
        ["namespaces", ns, plural] => Route::Collection(target(*plural, Some(*ns), None)),
        ["namespaces", ns, plural, name] => Route::Object(target(*plural, Some(*ns), Some(*name))),
        ["namespaces", ns, "pods", name, "log"] if group.is_empty() => {
            Route::PodLog(target("pods", Some(*ns), Some(*name)))
        }
        [plural] => Route::Collection(target(*plural, None, None)),
        [plural, name] => Route::Object(target(*plural, None, Some(*name))),
        ["nodes", name, "proxy", tail @ ..] if group.is_empty() => {
            Route::NodeProxy(target("nodes", None, Some(*name)), tail.join("/"))
        }
        _ => Route::Unknown,
    }
}

/// Decoded query parameters.
#[derive(Debug, Default)]
pub struct Query(Vec<(String, String)>);

impl Query {
    /// Parses `a=1&b=x%3Dy`.
    pub fn parse(query: Option<&str>) -> Self {
        Self(url::form_urlencoded::parse(query.unwrap_or_default().as_bytes()).into_owned().collect())
    }

    /// The first value of a parameter.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }

    /// Whether a parameter is present, with or without a value (`?verbose`).
    pub fn has(&self, name: &str) -> bool {
        self.0.iter().any(|(k, _)| k == name)
    }

    /// A non-negative integer parameter; the error is the message of a 400 answer.
    pub fn integer(&self, name: &str) -> Result<Option<i64>, String> {
        self.get(name)
            .filter(|v| !v.is_empty())
            .map(|v| v.parse::<i64>().map_err(|_| format!("{name}: Invalid value: \"{v}\": must be an integer")))
            .transpose()
    }
}
