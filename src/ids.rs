//! Newtypes for the names that travel through the engine. Strings are parsed
//! into these at the edge (config, Jira JSON, HTTP paths) and go no further.

use std::fmt;

macro_rules! name_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            pub fn new(s: impl Into<String>) -> Self {
                Self(s.into())
            }
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({:?})", stringify!($name), self.0)
            }
        }

        impl std::borrow::Borrow<str> for $name {
            fn borrow(&self) -> &str {
                &self.0
            }
        }
    };
}

name_type!(
    /// The id of an instance in the config (`[instances.<id>]`), e.g. `hub`.
    InstanceId
);
name_type!(
    /// The name of a flow (`[[flows]] name = ...`).
    FlowName
);
name_type!(
    /// An issue key such as `EMEA-12`; it changes when an issue moves.
    IssueKey
);
name_type!(
    /// Jira's numeric issue id as a string; stable across moves.
    IssueId
);
name_type!(
    /// A Jira field id such as `summary` or `customfield_10016`.
    FieldId
);

/// Whether `s` is a valid instance id: lower-case ASCII letters, digits, `-`
/// and `_`, starting with a letter. Ids appear in URLs (`/webhooks/{id}`) and
/// metric labels, so they are kept simple.
pub fn is_valid_instance_id(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_lowercase())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
}
