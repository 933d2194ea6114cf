//! [`Text`]: an immutable, cheaply cloned string for values that repeat
//! across many findings (rule id, category, section, kind, namespace,
//! remediation), and [`Text::interned`] to share one allocation between them.

use std::borrow::Borrow;
use std::collections::HashSet;
use std::fmt;
use std::ops::Deref;
use std::sync::{Arc, Mutex, PoisonError};

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// An immutable string behind a reference count. Cloning it copies a
/// pointer, not the text; it reads like a `&str` (it derefs to one), compares
/// with `str` and `String`, and serializes as a plain JSON string.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Text(Arc<str>);

/// Every interned value, so that equal values share one allocation. Only
/// values drawn from small sets go here (rule texts, kinds, sections,
/// namespaces, container names, reasons): the set stays as small as the
/// cluster's vocabulary, never as large as its object count.
static INTERNED: Mutex<Option<HashSet<Arc<str>>>> = Mutex::new(None);

impl Text {
    /// The shared copy of `value`: the first call allocates it, later calls
    /// with an equal value return a clone of the same allocation.
    pub fn interned(value: &str) -> Text {
        let mut guard = INTERNED.lock().unwrap_or_else(PoisonError::into_inner);
        let set = guard.get_or_insert_with(HashSet::new);
        if let Some(found) = set.get(value) {
            return Text(found.clone());
        }
        let shared: Arc<str> = Arc::from(value);
        set.insert(shared.clone());
        Text(shared)
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether two values share one allocation (interned from equal text, or clones).
    pub fn ptr_eq(a: &Text, b: &Text) -> bool {
        Arc::ptr_eq(&a.0, &b.0)
    }
}

impl Default for Text {
    fn default() -> Self {
        Text::interned("")
    }
}

impl Deref for Text {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl AsRef<str> for Text {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl Borrow<str> for Text {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Text {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for Text {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&*self.0, f)
    }
}

impl From<&str> for Text {
    fn from(value: &str) -> Self {
        Text(Arc::from(value))
    }
}

impl From<&String> for Text {
    fn from(value: &String) -> Self {
        Text(Arc::from(value.as_str()))
    }
}

impl From<String> for Text {
    fn from(value: String) -> Self {
        Text(Arc::from(value))
    }
}

impl From<Arc<str>> for Text {
    fn from(value: Arc<str>) -> Self {
        Text(value)
    }
}

impl From<&Text> for String {
    fn from(value: &Text) -> Self {
        value.0.to_string()
    }
}

impl From<Text> for String {
    fn from(value: Text) -> Self {
        value.0.to_string()
    }
}

impl PartialEq<str> for Text {
    fn eq(&self, other: &str) -> bool {
        &*self.0 == other
    }
}

impl PartialEq<&str> for Text {
    fn eq(&self, other: &&str) -> bool {
        &*self.0 == *other
    }
}

impl PartialEq<String> for Text {
    fn eq(&self, other: &String) -> bool {
        &*self.0 == other.as_str()
    }
}

impl PartialEq<Text> for str {
    fn eq(&self, other: &Text) -> bool {
        self == &*other.0
    }
}

impl PartialEq<Text> for &str {
    fn eq(&self, other: &Text) -> bool {
        *self == &*other.0
    }
}

impl PartialEq<Text> for String {
    fn eq(&self, other: &Text) -> bool {
        self.as_str() == &*other.0
    }
}

impl Serialize for Text {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Text {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer).map(Text::from)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interned_values_share_one_allocation() {
        let a = Text::interned("Reliability");
        let b = Text::interned(&String::from("Reliability"));
        assert!(Text::ptr_eq(&a, &b));
        assert!(!Text::ptr_eq(&a, &Text::from("Reliability")));
        assert_eq!(a, "Reliability");
    }

    #[test]
    fn reads_and_serializes_as_a_plain_string() {
        let t = Text::from("web");
        assert_eq!(t.len(), 3);
        assert_eq!(format!("{t} {t:?}"), "web \"web\"");
        assert_eq!(serde_json::to_string(&t).unwrap_or_default(), "\"web\"");
        let back: Text = serde_json::from_str("\"api\"").unwrap_or_default();
        assert_eq!(back, "api");
        let owned = String::from("api");
        // Each direction is its own PartialEq impl.
        assert!(owned == back);
        assert!("api" == back);
        assert!(back == owned);
    }
}
