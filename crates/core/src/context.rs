//! The evaluation context: who is asking (a key) and what we know about
//! them (typed attributes).
//!
//! A [`Context`] borrows its strings when it can ([`Cow`]) and keeps up to
//! [`INLINE_ATTRS`] attributes inline ([`SmallVec`]), so building one from
//! borrowed data in a request handler does not touch the heap.
//!
//! Owns: the context type and attribute access. Must not touch: its JSON
//! form (`context_serde`), matching (`clause`), hashing.

use std::borrow::Cow;

use smallvec::SmallVec;

use crate::strmap::{PACKED_MAX, Packed, str_eq};

/// How many attributes a [`Context`] stores without a heap allocation.
/// Eight covers typical contexts (country, plan, email, version, ...) while
/// keeping the struct small enough to move cheaply through the builder.
pub const INLINE_ATTRS: usize = 8;

/// The reserved attribute name that always refers to the context key.
pub const KEY_ATTRIBUTE: &str = "key";

/// A typed attribute value.
///
/// Matching is type-strict: the string `"42"` never equals the number `42`.
#[derive(Debug, Clone, PartialEq)]
pub enum AttrValue<'a> {
    /// A UTF-8 string.
    String(Cow<'a, str>),
    /// A number. Integers are stored as `f64`, exactly up to 2^53.
    Number(f64),
    /// A boolean.
    Bool(bool),
    /// A list of strings (e.g. groups); string operators match if any
    /// element matches.
    List(Vec<Cow<'a, str>>),
}

impl<'a> AttrValue<'a> {
    /// The string, if this is a string attribute.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            AttrValue::String(s) => Some(s),
            _ => None,
        }
    }

    /// The number, if this is a number attribute.
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            AttrValue::Number(n) => Some(*n),
            _ => None,
        }
    }

    /// The boolean, if this is a boolean attribute.
    pub fn as_bool(&self) -> Option<bool> {
        match self {
            AttrValue::Bool(b) => Some(*b),
            _ => None,
        }
    }

    /// A copy that owns all of its strings.
    pub fn into_owned(self) -> AttrValue<'static> {
        match self {
            AttrValue::String(s) => AttrValue::String(Cow::Owned(s.into_owned())),
            AttrValue::Number(n) => AttrValue::Number(n),
            AttrValue::Bool(b) => AttrValue::Bool(b),
            AttrValue::List(l) => AttrValue::List(l.into_iter().map(|s| Cow::Owned(s.into_owned())).collect()),
        }
    }

    /// The value as JSON (used for serialisation and previews).
    pub fn to_json(&self) -> serde_json::Value {
        match self {
            AttrValue::String(s) => serde_json::Value::String(s.to_string()),
            AttrValue::Number(n) => {
                serde_json::Number::from_f64(*n).map(serde_json::Value::Number).unwrap_or(serde_json::Value::Null)
            }
            AttrValue::Bool(b) => serde_json::Value::Bool(*b),
            AttrValue::List(l) => l.iter().map(|s| serde_json::Value::from(s.as_ref())).collect(),
        }
    }
}

impl<'a> From<&'a str> for AttrValue<'a> {
    fn from(s: &'a str) -> Self {
        AttrValue::String(Cow::Borrowed(s))
    }
}

impl<'a> From<&'a String> for AttrValue<'a> {
    fn from(s: &'a String) -> Self {
        AttrValue::String(Cow::Borrowed(s))
    }
}

impl From<String> for AttrValue<'_> {
    fn from(s: String) -> Self {
        AttrValue::String(Cow::Owned(s))
    }
}

impl<'a> From<Cow<'a, str>> for AttrValue<'a> {
    fn from(s: Cow<'a, str>) -> Self {
        AttrValue::String(s)
    }
}

impl From<f64> for AttrValue<'_> {
    fn from(n: f64) -> Self {
        AttrValue::Number(n)
    }
}

impl From<f32> for AttrValue<'_> {
    fn from(n: f32) -> Self {
        AttrValue::Number(f64::from(n))
    }
}

impl From<i32> for AttrValue<'_> {
    fn from(n: i32) -> Self {
        AttrValue::Number(f64::from(n))
    }
}

impl From<u32> for AttrValue<'_> {
    fn from(n: u32) -> Self {
        AttrValue::Number(f64::from(n))
    }
}

impl From<i64> for AttrValue<'_> {
    /// Exact for |n| ≤ 2^53; larger magnitudes round to the nearest `f64`.
    fn from(n: i64) -> Self {
        AttrValue::Number(n as f64)
    }
}

impl From<u64> for AttrValue<'_> {
    /// Exact for n ≤ 2^53; larger values round to the nearest `f64`.
    fn from(n: u64) -> Self {
        AttrValue::Number(n as f64)
    }
}

impl From<bool> for AttrValue<'_> {
    fn from(b: bool) -> Self {
        AttrValue::Bool(b)
    }
}

impl From<Vec<String>> for AttrValue<'_> {
    fn from(l: Vec<String>) -> Self {
        AttrValue::List(l.into_iter().map(Cow::Owned).collect())
    }
}

impl<'a> From<Vec<&'a str>> for AttrValue<'a> {
    fn from(l: Vec<&'a str>) -> Self {
        AttrValue::List(l.into_iter().map(Cow::Borrowed).collect())
    }
}

impl<'a> From<Vec<Cow<'a, str>>> for AttrValue<'a> {
    fn from(l: Vec<Cow<'a, str>>) -> Self {
        AttrValue::List(l)
    }
}

impl<'a> From<&[&'a str]> for AttrValue<'a> {
    fn from(l: &[&'a str]) -> Self {
        AttrValue::List(l.iter().map(|s| Cow::Borrowed(*s)).collect())
    }
}

impl<'a, const N: usize> From<[&'a str; N]> for AttrValue<'a> {
    fn from(l: [&'a str; N]) -> Self {
        AttrValue::List(l.iter().map(|s| Cow::Borrowed(*s)).collect())
    }
}

type Attrs<'a> = SmallVec<[Attr<'a>; INLINE_ATTRS]>;

/// One attribute, its name's [`Packed`] words computed when it is set, so
/// that a compiled clause's lookup compares integers, never the name's
/// bytes (names over [`PACKED_MAX`] bytes compare their bytes).
#[derive(Debug, Clone)]
struct Attr<'a> {
    packed: Packed,
    name: Cow<'a, str>,
    value: AttrValue<'a>,
}

/// Who a flag is evaluated for: a key (user id, account id, device id, ...)
/// and typed attributes.
///
/// ```
/// use switchyard_core::Context;
/// let ctx = Context::new("user-1").with("plan", "pro").with("age", 42).with("beta", true);
/// assert_eq!(ctx.key(), "user-1");
/// assert_eq!(ctx.get("plan").and_then(|v| v.as_str()), Some("pro"));
/// assert_eq!(ctx.get("key").and_then(|v| v.as_str()), Some("user-1"));
/// ```
///
/// The attribute name `key` is reserved: it always reads the context key.
/// Setting it with a string value replaces the key; other values are ignored.
#[derive(Debug, Clone)]
pub struct Context<'a> {
    /// Always [`AttrValue::String`]: stored as an attribute value so that
    /// `get("key")` can hand out a reference without building one.
    key: AttrValue<'a>,
    /// Attributes in insertion order; names are unique.
    attrs: Attrs<'a>,
}

/// Attribute order does not matter: two contexts are equal when they have
/// the same key and the same attributes.
impl PartialEq for Context<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.key == other.key
            && self.attrs.len() == other.attrs.len()
            && self.attrs.iter().all(|a| other.get(&a.name) == Some(&a.value))
    }
}

impl<'a> Context<'a> {
    /// A context with this key and no attributes.
    #[inline]
    pub fn new(key: impl Into<Cow<'a, str>>) -> Self {
        Context { key: AttrValue::String(key.into()), attrs: SmallVec::new() }
    }

    /// Builder form of [`Context::set`].
    #[must_use]
    #[inline(always)]
    pub fn with(mut self, name: impl Into<Cow<'a, str>>, value: impl Into<AttrValue<'a>>) -> Self {
        self.set(name, value);
        self
    }

    /// Sets an attribute, replacing any attribute of the same name.
    #[inline(always)]
    pub fn set(&mut self, name: impl Into<Cow<'a, str>>, value: impl Into<AttrValue<'a>>) {
        let name = name.into();
        let value = value.into();
        if str_eq(&name, KEY_ATTRIBUTE) {
            if let AttrValue::String(_) = value {
                self.key = value;
            }
            return;
        }
        match self.attrs.iter_mut().find(|a| str_eq(&a.name, &name)) {
            Some(slot) => slot.value = value,
            None => self.attrs.push(Attr { packed: Packed::of(name.as_bytes()), name, value }),
        }
    }

    /// Removes an attribute; returns its value if it was set.
    pub fn remove(&mut self, name: &str) -> Option<AttrValue<'a>> {
        let i = self.attrs.iter().position(|a| str_eq(&a.name, name))?;
        Some(self.attrs.remove(i).value)
    }

    /// The context key.
    pub fn key(&self) -> &str {
        self.key.as_str().unwrap_or_default()
    }

    /// An attribute by name; `key` returns the context key as a string.
    #[inline]
    pub fn get(&self, name: &str) -> Option<&AttrValue<'a>> {
        if str_eq(name, KEY_ATTRIBUTE) {
            return Some(&self.key);
        }
        self.get_attribute(name)
    }

    /// The context key as an attribute value.
    #[inline]
    pub(crate) fn key_value(&self) -> &AttrValue<'a> {
        &self.key
    }

    /// An attribute other than `key` (compiled clauses resolve `key` ahead).
    #[inline(always)]
    pub(crate) fn get_attribute(&self, name: &str) -> Option<&AttrValue<'a>> {
        self.attrs.iter().find(|a| str_eq(&a.name, name)).map(|a| &a.value)
    }

    /// [`Context::get_attribute`] for a name whose [`Packed`] words are
    /// known (compiled clauses): a scan of words and lengths, both stored.
    #[inline(always)]
    pub(crate) fn get_attribute_packed(&self, name: &str, packed: Packed) -> Option<&AttrValue<'a>> {
        if name.len() > PACKED_MAX {
            return self.get_attribute(name);
        }
        self.attrs.iter().find(|a| a.packed == packed && a.name.len() == name.len()).map(|a| &a.value)
    }

    /// The attributes (without the key), in insertion order.
    pub fn attributes(&self) -> impl Iterator<Item = (&str, &AttrValue<'a>)> {
        self.attrs.iter().map(|a| (a.name.as_ref(), &a.value))
    }

    /// Number of attributes (without the key).
    pub fn len(&self) -> usize {
        self.attrs.len()
    }

    /// `true` when there are no attributes besides the key.
    pub fn is_empty(&self) -> bool {
        self.attrs.is_empty()
    }

    /// A copy that owns all of its strings (e.g. to store or send elsewhere).
    pub fn into_owned(self) -> Context<'static> {
        let key = self.key.into_owned();
        let attrs = self
            .attrs
            .into_iter()
            .map(|a| Attr { packed: a.packed, name: Cow::Owned(a.name.into_owned()), value: a.value.into_owned() })
            .collect();
        Context { key, attrs }
    }
}
