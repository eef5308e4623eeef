//! JSON form of a [`Context`]:
//! `{"key": "user-1", "attributes": {"plan": "pro", "age": 42, "beta": true, "groups": ["a", "b"]}}`.
//!
//! Hand-written rather than derived so that a bad attribute (an object, a
//! nested array, a list with a non-string) is rejected with a message that
//! names the attribute, and so that no intermediate `serde_json::Value` is
//! built for every request.
//!
//! Owns: the context's JSON (de)serialisation. Must not touch: the
//! context's in-memory layout (`context`), evaluation.

use std::borrow::Cow;
use std::fmt;

use serde::de::{self, DeserializeSeed, MapAccess, SeqAccess, Visitor};
use serde::ser::{SerializeMap, SerializeSeq, SerializeStruct};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::context::{AttrValue, Context, KEY_ATTRIBUTE};

impl Serialize for AttrValue<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            AttrValue::String(v) => s.serialize_str(v),
            AttrValue::Number(n) => s.serialize_f64(*n),
            AttrValue::Bool(b) => s.serialize_bool(*b),
            AttrValue::List(l) => {
                let mut seq = s.serialize_seq(Some(l.len()))?;
                for item in l {
                    seq.serialize_element(item.as_ref())?;
                }
                seq.end()
            }
        }
    }
}

/// Serialises the attributes as a JSON object.
struct AttrsMap<'c, 'a>(&'c Context<'a>);

impl Serialize for AttrsMap<'_, '_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(self.0.len()))?;
        for (name, value) in self.0.attributes() {
            map.serialize_entry(name, value)?;
        }
        map.end()
    }
}

impl Serialize for Context<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let fields = if self.is_empty() { 1 } else { 2 };
        let mut st = s.serialize_struct("Context", fields)?;
        st.serialize_field("key", self.key())?;
        if !self.is_empty() {
            st.serialize_field("attributes", &AttrsMap(self))?;
        }
        st.end()
    }
}

impl<'de> Deserialize<'de> for Context<'static> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_map(ContextVisitor)
    }
}

impl<'de> Deserialize<'de> for AttrValue<'static> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let value = AttrSeed { name: "value" }.deserialize(d)?;
        value.ok_or_else(|| de::Error::custom("attribute value must not be null"))
    }
}

struct ContextVisitor;

impl<'de> Visitor<'de> for ContextVisitor {
    type Value = Context<'static>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(r#"a context object {"key": "...", "attributes": {...}}"#)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut key: Option<String> = None;
        let mut attrs: Option<Vec<(String, AttrValue<'static>)>> = None;
        while let Some(field) = map.next_key::<Cow<'de, str>>()? {
            match field.as_ref() {
                "key" if key.is_some() => return Err(de::Error::duplicate_field("key")),
                "key" => key = Some(map.next_value()?),
                "attributes" if attrs.is_some() => {
                    return Err(de::Error::duplicate_field("attributes"));
                }
                "attributes" => attrs = Some(map.next_value_seed(AttrsSeed)?),
                // Unknown fields are ignored so that newer clients can send more.
                _ => {
                    map.next_value::<de::IgnoredAny>()?;
                }
            }
        }
        let key = key.ok_or_else(|| de::Error::missing_field("key"))?;
        let mut ctx = Context::new(key);
        for (name, value) in attrs.unwrap_or_default() {
            ctx.set(name, value);
        }
        Ok(ctx)
    }
}

/// Deserialises the `attributes` object, naming the attribute in errors.
struct AttrsSeed;

impl<'de> DeserializeSeed<'de> for AttrsSeed {
    type Value = Vec<(String, AttrValue<'static>)>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for AttrsSeed {
    type Value = Vec<(String, AttrValue<'static>)>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an attributes object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut out: Vec<(String, AttrValue<'static>)> = Vec::new();
        while let Some(name) = map.next_key::<String>()? {
            if name == KEY_ATTRIBUTE {
                return Err(de::Error::custom(
                    "attribute `key` is reserved for the context key; set the top-level `key`",
                ));
            }
            if out.iter().any(|(n, _)| *n == name) {
                return Err(de::Error::custom(format_args!("attribute `{name}` appears twice")));
            }
            // `null` means "not set": the attribute is treated as missing.
            if let Some(value) = map.next_value_seed(AttrSeed { name: &name })? {
                out.push((name, value));
            }
        }
        Ok(out)
    }
}

/// Deserialises one attribute value; `None` for JSON `null`.
struct AttrSeed<'n> {
    name: &'n str,
}

impl<'de> DeserializeSeed<'de> for AttrSeed<'_> {
    type Value = Option<AttrValue<'static>>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for AttrSeed<'_> {
    type Value = Option<AttrValue<'static>>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "attribute `{}` to be a string, a number, a boolean or an array of strings", self.name)
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
        Ok(Some(AttrValue::Bool(v)))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
        Ok(Some(AttrValue::from(v)))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
        Ok(Some(AttrValue::from(v)))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
        Ok(Some(AttrValue::Number(v)))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Some(AttrValue::String(Cow::Owned(v.to_owned()))))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
        Ok(Some(AttrValue::String(Cow::Owned(v))))
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(64));
        while let Some(item) = seq.next_element_seed(ListItemSeed { name: self.name })? {
            items.push(Cow::Owned(item));
        }
        Ok(Some(AttrValue::List(items)))
    }

    fn visit_map<A: MapAccess<'de>>(self, _map: A) -> Result<Self::Value, A::Error> {
        Err(de::Error::custom(format_args!(
            "attribute `{}`: objects are not supported; use a string, a number, a boolean or an array of strings",
            self.name
        )))
    }
}

/// One element of a list attribute: strings only.
struct ListItemSeed<'n> {
    name: &'n str,
}

impl<'de> DeserializeSeed<'de> for ListItemSeed<'_> {
    type Value = String;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<String, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for ListItemSeed<'_> {
    type Value = String;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "attribute `{}`: array elements must be strings", self.name)
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<String, E> {
        Ok(v.to_owned())
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<String, E> {
        Ok(v)
    }
}
