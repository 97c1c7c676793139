//! The parts of a webhook body intake reads, borrowed from the body.
//!
//! A 9 KB issue body parsed into a `serde_json::Value` is hundreds of small
//! allocations, nearly all for fields intake never looks at. These readers
//! keep only `webhookEvent`, `timestamp`, `user`, and the ids and `updated`
//! of `issue`, `issueLink` and `comment`, borrowing their text from the body,
//! and skip everything else without building it.
//!
//! They read any JSON shape without failing, as `Value::get` and
//! `Value::as_str` do: a part of the wrong type reads as absent (or, for an
//! object member, as present and empty), a repeated member keeps its last
//! value, as a `Value` keeps it. So the same reader runs on raw bytes (the
//! fast path) and on a parsed `Value` (the fallback), with the same result.

use std::borrow::Cow;
use std::fmt;

use serde::de::{Deserialize, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::Number;

/// A JSON value read as text, a number, or neither (skipped unread).
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Scalar<'a> {
    Text(Cow<'a, str>),
    Number(Number),
    Other,
}

impl Scalar<'_> {
    /// The text, as `Value::as_str` gives it.
    pub(super) fn as_str(&self) -> Option<&str> {
        match self {
            Scalar::Text(t) => Some(t),
            _ => None,
        }
    }

    /// Non-blank text (trimmed) or a number, as text: Jira sends ids as
    /// strings in `issue` and as numbers in `issueLink`.
    pub(super) fn id_text(&self) -> Option<String> {
        match self {
            Scalar::Text(t) if !t.trim().is_empty() => Some(t.trim().to_string()),
            Scalar::Number(n) => Some(n.to_string()),
            _ => None,
        }
    }
}

/// The body: whether it is an object at all, and the members intake reads.
/// `None` is a member the body does not have.
#[derive(Debug, Default)]
pub(super) struct Body<'a> {
    pub(super) object: bool,
    pub(super) webhook_event: Option<Scalar<'a>>,
    pub(super) timestamp: Option<Scalar<'a>>,
    pub(super) user: Option<User<'a>>,
    pub(super) issue: Option<Issue<'a>>,
    pub(super) issue_link: Option<Link<'a>>,
    pub(super) comment: Option<Comment<'a>>,
}

/// `issue`: its `id`, `key` and `fields.updated`.
#[derive(Debug, Default)]
pub(super) struct Issue<'a> {
    pub(super) id: Option<Scalar<'a>>,
    pub(super) key: Option<Scalar<'a>>,
    pub(super) updated: Option<Scalar<'a>>,
}

/// `issue.fields`, of which only `updated` is read.
#[derive(Debug, Default)]
struct IssueFields<'a> {
    updated: Option<Scalar<'a>>,
}

/// `issueLink`: its own id and its two ends.
#[derive(Debug, Default)]
pub(super) struct Link<'a> {
    pub(super) id: Option<Scalar<'a>>,
    pub(super) source: Option<Scalar<'a>>,
    pub(super) destination: Option<Scalar<'a>>,
}

/// `comment`, of which only `self` is read.
#[derive(Debug, Default)]
pub(super) struct Comment<'a> {
    pub(super) self_url: Option<Scalar<'a>>,
}

/// `user`, by the ids either dialect gives.
#[derive(Debug, Default)]
pub(super) struct User<'a> {
    pub(super) account_id: Option<Scalar<'a>>,
    pub(super) name: Option<Scalar<'a>>,
    pub(super) key: Option<Scalar<'a>>,
    pub(super) email: Option<Scalar<'a>>,
    pub(super) display_name: Option<Scalar<'a>>,
}

/// An object read member by member into `T`; any other JSON value reads as
/// `T::default()` (and `Body` notes that the body was no object).
trait Members<'de>: Default {
    /// Reads the value of member `name` (or skips it).
    fn member<A: MapAccess<'de>>(&mut self, name: &str, map: &mut A) -> Result<(), A::Error>;

    /// Called once when the value is an object.
    fn is_object(&mut self) {}
}

/// Reads an object's members into `T`, skipping the ones it does not want.
struct ObjectVisitor<T>(std::marker::PhantomData<T>);

impl<'de, T: Members<'de>> Visitor<'de> for ObjectVisitor<T> {
    type Value = T;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<T, A::Error> {
        let mut out = T::default();
        out.is_object();
        while let Some(Key(name)) = map.next_key::<Key<'de>>()? {
            out.member(&name, &mut map)?;
        }
        Ok(out)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<T, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(T::default())
    }

    fn visit_bool<E>(self, _: bool) -> Result<T, E> {
        Ok(T::default())
    }

    fn visit_i64<E>(self, _: i64) -> Result<T, E> {
        Ok(T::default())
    }

    fn visit_u64<E>(self, _: u64) -> Result<T, E> {
        Ok(T::default())
    }

    fn visit_f64<E>(self, _: f64) -> Result<T, E> {
        Ok(T::default())
    }

    fn visit_str<E>(self, _: &str) -> Result<T, E> {
        Ok(T::default())
    }

    fn visit_unit<E>(self) -> Result<T, E> {
        Ok(T::default())
    }

    fn visit_none<E>(self) -> Result<T, E> {
        Ok(T::default())
    }
}

/// Implements `Deserialize` for a `Members` type through `ObjectVisitor`.
macro_rules! deserialize_members {
    ($($t:ident),*) => {$(
        impl<'de> Deserialize<'de> for $t<'de> {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                d.deserialize_any(ObjectVisitor::<$t<'de>>(std::marker::PhantomData))
            }
        }
    )*};
}

deserialize_members!(Body, Issue, IssueFields, Link, Comment, User);

/// The value of the member being read, as present.
fn value<'de, A: MapAccess<'de>>(map: &mut A) -> Result<Option<Scalar<'de>>, A::Error> {
    map.next_value().map(Some)
}

impl<'de> Members<'de> for Body<'de> {
    fn is_object(&mut self) {
        self.object = true;
    }

    fn member<A: MapAccess<'de>>(&mut self, name: &str, map: &mut A) -> Result<(), A::Error> {
        match name {
            "webhookEvent" => self.webhook_event = value(map)?,
            "timestamp" => self.timestamp = value(map)?,
            "user" => self.user = Some(map.next_value()?),
            "issue" => self.issue = Some(map.next_value()?),
            "issueLink" => self.issue_link = Some(map.next_value()?),
            "comment" => self.comment = Some(map.next_value()?),
            _ => {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(())
    }
}

impl<'de> Members<'de> for Issue<'de> {
    fn member<A: MapAccess<'de>>(&mut self, name: &str, map: &mut A) -> Result<(), A::Error> {
        match name {
            "id" => self.id = value(map)?,
            "key" => self.key = value(map)?,
            "fields" => self.updated = map.next_value::<IssueFields<'de>>()?.updated,
            _ => {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(())
    }
}

impl<'de> Members<'de> for IssueFields<'de> {
    fn member<A: MapAccess<'de>>(&mut self, name: &str, map: &mut A) -> Result<(), A::Error> {
        match name {
            "updated" => self.updated = value(map)?,
            _ => {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(())
    }
}

impl<'de> Members<'de> for Link<'de> {
    fn member<A: MapAccess<'de>>(&mut self, name: &str, map: &mut A) -> Result<(), A::Error> {
        match name {
            "id" => self.id = value(map)?,
            "sourceIssueId" => self.source = value(map)?,
            "destinationIssueId" => self.destination = value(map)?,
            _ => {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(())
    }
}

impl<'de> Members<'de> for Comment<'de> {
    fn member<A: MapAccess<'de>>(&mut self, name: &str, map: &mut A) -> Result<(), A::Error> {
        match name {
            "self" => self.self_url = value(map)?,
            _ => {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(())
    }
}

impl<'de> Members<'de> for User<'de> {
    fn member<A: MapAccess<'de>>(&mut self, name: &str, map: &mut A) -> Result<(), A::Error> {
        match name {
            "accountId" => self.account_id = value(map)?,
            "name" => self.name = value(map)?,
            "key" => self.key = value(map)?,
            "emailAddress" => self.email = value(map)?,
            "displayName" => self.display_name = value(map)?,
            _ => {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(())
    }
}

impl<'de> Deserialize<'de> for Scalar<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(ScalarVisitor)
    }
}

struct ScalarVisitor;

impl<'de> Visitor<'de> for ScalarVisitor {
    type Value = Scalar<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Scalar<'de>, E> {
        Ok(Scalar::Text(Cow::Borrowed(v)))
    }

    fn visit_str<E>(self, v: &str) -> Result<Scalar<'de>, E> {
        Ok(Scalar::Text(Cow::Owned(v.to_string())))
    }

    fn visit_string<E>(self, v: String) -> Result<Scalar<'de>, E> {
        Ok(Scalar::Text(Cow::Owned(v)))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Scalar<'de>, E> {
        Ok(Scalar::Number(v.into()))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Scalar<'de>, E> {
        Ok(Scalar::Number(v.into()))
    }

    fn visit_f64<E>(self, v: f64) -> Result<Scalar<'de>, E> {
        // JSON has no NaN or infinity, so this is always a number.
        Ok(Number::from_f64(v).map_or(Scalar::Other, Scalar::Number))
    }

    fn visit_bool<E>(self, _: bool) -> Result<Scalar<'de>, E> {
        Ok(Scalar::Other)
    }

    fn visit_unit<E>(self) -> Result<Scalar<'de>, E> {
        Ok(Scalar::Other)
    }

    fn visit_none<E>(self) -> Result<Scalar<'de>, E> {
        Ok(Scalar::Other)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Scalar<'de>, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Scalar::Other)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Scalar<'de>, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(Scalar::Other)
    }
}

/// A member name, borrowed from the body unless it has escapes.
struct Key<'a>(Cow<'a, str>);

impl<'de> Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_str(KeyVisitor)
    }
}

struct KeyVisitor;

impl<'de> Visitor<'de> for KeyVisitor {
    type Value = Key<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object member name")
    }

    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Key<'de>, E> {
        Ok(Key(Cow::Borrowed(v)))
    }

    fn visit_str<E>(self, v: &str) -> Result<Key<'de>, E> {
        Ok(Key(Cow::Owned(v.to_string())))
    }

    fn visit_string<E>(self, v: String) -> Result<Key<'de>, E> {
        Ok(Key(Cow::Owned(v)))
    }
}
