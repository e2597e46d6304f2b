//! A serde serializer that builds a Rego value directly: the value
//! `regorus::Value::deserialize(serde_json::to_value(x))` would give, without the JSON
//! tree in between (issue 7: building a policy's `data.enterprise` through JSON cost ~8 %
//! of a node's CPU). It follows `serde_json::to_value`'s data model exactly: integers as
//! unsigned when non-negative, non-finite floats as null, bytes as arrays of numbers,
//! enums externally tagged, map keys as strings (numbers and booleans written out).
//! `tests` and `contracts/tests/real_data.rs` check it against the JSON route.

use regorus::Value;
use serde::ser::{self, Serialize};
use std::collections::BTreeMap;

/// Why a value could not be converted (what `serde_json::to_value` also refuses: a map
/// key that is not a string, number or boolean; a 128-bit integer out of 64-bit range;
/// an error raised by the value's own `Serialize`).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct Error(String);

impl ser::Error for Error {
    fn custom<T: std::fmt::Display>(msg: T) -> Self {
        Error(msg.to_string())
    }
}

/// The Rego value of `v`, as the JSON route would build it.
pub fn to_value<T: Serialize + ?Sized>(v: &T) -> Result<Value, Error> {
    v.serialize(ValueSerializer)
}

fn string(s: &str) -> Value {
    Value::String(s.into())
}

fn tagged(variant: &str, v: Value) -> Value {
    let mut m = BTreeMap::new();
    m.insert(string(variant), v);
    Value::from(m)
}

fn unsigned(v: u64) -> Value {
    Value::from(v)
}

fn signed(v: i64) -> Value {
    match u64::try_from(v) {
        Ok(u) => Value::from(u),
        Err(_) => Value::from(v),
    }
}

fn float(v: f64) -> Value {
    if v.is_finite() {
        Value::from(v)
    } else {
        Value::Null
    }
}

/// The serializer (see the module docs).
pub struct ValueSerializer;

/// A sequence, tuple or tuple variant being built.
pub struct SeqBuilder {
    items: Vec<Value>,
    variant: Option<&'static str>,
}

/// A map, struct or struct variant being built.
pub struct MapBuilder {
    map: BTreeMap<Value, Value>,
    key: Option<Value>,
    variant: Option<&'static str>,
}

impl ser::Serializer for ValueSerializer {
    type Ok = Value;
    type Error = Error;
    type SerializeSeq = SeqBuilder;
    type SerializeTuple = SeqBuilder;
    type SerializeTupleStruct = SeqBuilder;
    type SerializeTupleVariant = SeqBuilder;
    type SerializeMap = MapBuilder;
    type SerializeStruct = MapBuilder;
    type SerializeStructVariant = MapBuilder;

    fn serialize_bool(self, v: bool) -> Result<Value, Error> {
        Ok(Value::Bool(v))
    }
    fn serialize_i8(self, v: i8) -> Result<Value, Error> {
        Ok(signed(v.into()))
    }
    fn serialize_i16(self, v: i16) -> Result<Value, Error> {
        Ok(signed(v.into()))
    }
    fn serialize_i32(self, v: i32) -> Result<Value, Error> {
        Ok(signed(v.into()))
    }
    fn serialize_i64(self, v: i64) -> Result<Value, Error> {
        Ok(signed(v))
    }
    fn serialize_i128(self, v: i128) -> Result<Value, Error> {
        if let Ok(u) = u64::try_from(v) {
            Ok(unsigned(u))
        } else if let Ok(i) = i64::try_from(v) {
            Ok(signed(i))
        } else {
            Err(Error("number out of range".into()))
        }
    }
    fn serialize_u8(self, v: u8) -> Result<Value, Error> {
        Ok(unsigned(v.into()))
    }
    fn serialize_u16(self, v: u16) -> Result<Value, Error> {
        Ok(unsigned(v.into()))
    }
    fn serialize_u32(self, v: u32) -> Result<Value, Error> {
        Ok(unsigned(v.into()))
    }
    fn serialize_u64(self, v: u64) -> Result<Value, Error> {
        Ok(unsigned(v))
    }
    fn serialize_u128(self, v: u128) -> Result<Value, Error> {
        u64::try_from(v)
            .map(unsigned)
            .map_err(|_| Error("number out of range".into()))
    }
    fn serialize_f32(self, v: f32) -> Result<Value, Error> {
        Ok(float(v.into()))
    }
    fn serialize_f64(self, v: f64) -> Result<Value, Error> {
        Ok(float(v))
    }
    fn serialize_char(self, v: char) -> Result<Value, Error> {
        Ok(string(v.encode_utf8(&mut [0; 4])))
    }
    fn serialize_str(self, v: &str) -> Result<Value, Error> {
        Ok(string(v))
    }
    fn serialize_bytes(self, v: &[u8]) -> Result<Value, Error> {
        Ok(Value::from(
            v.iter().map(|b| unsigned((*b).into())).collect::<Vec<_>>(),
        ))
    }
    fn serialize_none(self) -> Result<Value, Error> {
        Ok(Value::Null)
    }
    fn serialize_some<T: Serialize + ?Sized>(self, v: &T) -> Result<Value, Error> {
        v.serialize(self)
    }
    fn serialize_unit(self) -> Result<Value, Error> {
        Ok(Value::Null)
    }
    fn serialize_unit_struct(self, _: &'static str) -> Result<Value, Error> {
        Ok(Value::Null)
    }
    fn serialize_unit_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
    ) -> Result<Value, Error> {
        Ok(string(variant))
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        v: &T,
    ) -> Result<Value, Error> {
        v.serialize(self)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        v: &T,
    ) -> Result<Value, Error> {
        Ok(tagged(variant, v.serialize(self)?))
    }
    fn serialize_seq(self, len: Option<usize>) -> Result<SeqBuilder, Error> {
        Ok(SeqBuilder {
            items: Vec::with_capacity(len.unwrap_or(0)),
            variant: None,
        })
    }
    fn serialize_tuple(self, len: usize) -> Result<SeqBuilder, Error> {
        self.serialize_seq(Some(len))
    }
    fn serialize_tuple_struct(self, _: &'static str, len: usize) -> Result<SeqBuilder, Error> {
        self.serialize_seq(Some(len))
    }
    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        len: usize,
    ) -> Result<SeqBuilder, Error> {
        Ok(SeqBuilder {
            items: Vec::with_capacity(len),
            variant: Some(variant),
        })
    }
    fn serialize_map(self, _: Option<usize>) -> Result<MapBuilder, Error> {
        Ok(MapBuilder {
            map: BTreeMap::new(),
            key: None,
            variant: None,
        })
    }
    fn serialize_struct(self, _: &'static str, _: usize) -> Result<MapBuilder, Error> {
        self.serialize_map(None)
    }
    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        _: usize,
    ) -> Result<MapBuilder, Error> {
        Ok(MapBuilder {
            map: BTreeMap::new(),
            key: None,
            variant: Some(variant),
        })
    }
}

impl SeqBuilder {
    fn push<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<(), Error> {
        self.items.push(v.serialize(ValueSerializer)?);
        Ok(())
    }
    fn finish(self) -> Value {
        let array = Value::from(self.items);
        match self.variant {
            Some(variant) => tagged(variant, array),
            None => array,
        }
    }
}

impl ser::SerializeSeq for SeqBuilder {
    type Ok = Value;
    type Error = Error;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<(), Error> {
        self.push(v)
    }
    fn end(self) -> Result<Value, Error> {
        Ok(self.finish())
    }
}

impl ser::SerializeTuple for SeqBuilder {
    type Ok = Value;
    type Error = Error;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<(), Error> {
        self.push(v)
    }
    fn end(self) -> Result<Value, Error> {
        Ok(self.finish())
    }
}

impl ser::SerializeTupleStruct for SeqBuilder {
    type Ok = Value;
    type Error = Error;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<(), Error> {
        self.push(v)
    }
    fn end(self) -> Result<Value, Error> {
        Ok(self.finish())
    }
}

impl ser::SerializeTupleVariant for SeqBuilder {
    type Ok = Value;
    type Error = Error;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<(), Error> {
        self.push(v)
    }
    fn end(self) -> Result<Value, Error> {
        Ok(self.finish())
    }
}

impl MapBuilder {
    fn field<T: Serialize + ?Sized>(&mut self, key: &'static str, v: &T) -> Result<(), Error> {
        self.map.insert(string(key), v.serialize(ValueSerializer)?);
        Ok(())
    }
    fn finish(self) -> Value {
        let object = Value::from(self.map);
        match self.variant {
            Some(variant) => tagged(variant, object),
            None => object,
        }
    }
}

impl ser::SerializeMap for MapBuilder {
    type Ok = Value;
    type Error = Error;
    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<(), Error> {
        self.key = Some(key.serialize(KeySerializer)?);
        Ok(())
    }
    fn serialize_value<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<(), Error> {
        let key = self
            .key
            .take()
            .ok_or_else(|| Error("a map value without its key".into()))?;
        self.map.insert(key, v.serialize(ValueSerializer)?);
        Ok(())
    }
    fn end(self) -> Result<Value, Error> {
        Ok(self.finish())
    }
}

impl ser::SerializeStruct for MapBuilder {
    type Ok = Value;
    type Error = Error;
    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        v: &T,
    ) -> Result<(), Error> {
        self.field(key, v)
    }
    fn end(self) -> Result<Value, Error> {
        Ok(self.finish())
    }
}

impl ser::SerializeStructVariant for MapBuilder {
    type Ok = Value;
    type Error = Error;
    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        v: &T,
    ) -> Result<(), Error> {
        self.field(key, v)
    }
    fn end(self) -> Result<Value, Error> {
        Ok(self.finish())
    }
}

/// Map keys, as `serde_json` writes them: strings, and numbers, booleans and characters
/// written out as strings.
struct KeySerializer;

fn key_error() -> Error {
    Error("key must be a string".into())
}

impl ser::Serializer for KeySerializer {
    type Ok = Value;
    type Error = Error;
    type SerializeSeq = ser::Impossible<Value, Error>;
    type SerializeTuple = ser::Impossible<Value, Error>;
    type SerializeTupleStruct = ser::Impossible<Value, Error>;
    type SerializeTupleVariant = ser::Impossible<Value, Error>;
    type SerializeMap = ser::Impossible<Value, Error>;
    type SerializeStruct = ser::Impossible<Value, Error>;
    type SerializeStructVariant = ser::Impossible<Value, Error>;

    fn serialize_bool(self, v: bool) -> Result<Value, Error> {
        Ok(string(if v { "true" } else { "false" }))
    }
    fn serialize_i8(self, v: i8) -> Result<Value, Error> {
        Ok(string(&v.to_string()))
    }
    fn serialize_i16(self, v: i16) -> Result<Value, Error> {
        Ok(string(&v.to_string()))
    }
    fn serialize_i32(self, v: i32) -> Result<Value, Error> {
        Ok(string(&v.to_string()))
    }
    fn serialize_i64(self, v: i64) -> Result<Value, Error> {
        Ok(string(&v.to_string()))
    }
    fn serialize_i128(self, v: i128) -> Result<Value, Error> {
        Ok(string(&v.to_string()))
    }
    fn serialize_u8(self, v: u8) -> Result<Value, Error> {
        Ok(string(&v.to_string()))
    }
    fn serialize_u16(self, v: u16) -> Result<Value, Error> {
        Ok(string(&v.to_string()))
    }
    fn serialize_u32(self, v: u32) -> Result<Value, Error> {
        Ok(string(&v.to_string()))
    }
    fn serialize_u64(self, v: u64) -> Result<Value, Error> {
        Ok(string(&v.to_string()))
    }
    fn serialize_u128(self, v: u128) -> Result<Value, Error> {
        Ok(string(&v.to_string()))
    }
    fn serialize_f32(self, _: f32) -> Result<Value, Error> {
        Err(key_error())
    }
    fn serialize_f64(self, _: f64) -> Result<Value, Error> {
        Err(key_error())
    }
    fn serialize_char(self, v: char) -> Result<Value, Error> {
        Ok(string(v.encode_utf8(&mut [0; 4])))
    }
    fn serialize_str(self, v: &str) -> Result<Value, Error> {
        Ok(string(v))
    }
    fn serialize_bytes(self, _: &[u8]) -> Result<Value, Error> {
        Err(key_error())
    }
    fn serialize_none(self) -> Result<Value, Error> {
        Err(key_error())
    }
    fn serialize_some<T: Serialize + ?Sized>(self, _: &T) -> Result<Value, Error> {
        Err(key_error())
    }
    fn serialize_unit(self) -> Result<Value, Error> {
        Err(key_error())
    }
    fn serialize_unit_struct(self, _: &'static str) -> Result<Value, Error> {
        Err(key_error())
    }
    fn serialize_unit_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
    ) -> Result<Value, Error> {
        Ok(string(variant))
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        v: &T,
    ) -> Result<Value, Error> {
        v.serialize(self)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: &T,
    ) -> Result<Value, Error> {
        Err(key_error())
    }
    fn serialize_seq(self, _: Option<usize>) -> Result<Self::SerializeSeq, Error> {
        Err(key_error())
    }
    fn serialize_tuple(self, _: usize) -> Result<Self::SerializeTuple, Error> {
        Err(key_error())
    }
    fn serialize_tuple_struct(
        self,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleStruct, Error> {
        Err(key_error())
    }
    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleVariant, Error> {
        Err(key_error())
    }
    fn serialize_map(self, _: Option<usize>) -> Result<Self::SerializeMap, Error> {
        Err(key_error())
    }
    fn serialize_struct(self, _: &'static str, _: usize) -> Result<Self::SerializeStruct, Error> {
        Err(key_error())
    }
    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeStructVariant, Error> {
        Err(key_error())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Serialize;

    fn via_json<T: Serialize>(v: &T) -> Value {
        crate::policy::to_rego(serde_json::to_value(v).unwrap()).unwrap()
    }

    #[derive(Serialize)]
    enum E {
        Unit,
        New(u8),
        Tuple(i32, String),
        Struct { a: Option<u32>, b: Vec<bool> },
    }

    #[derive(Serialize)]
    struct S {
        neg: i64,
        pos: i64,
        big: u64,
        f: f64,
        nan: f64,
        c: char,
        unit: (),
        opt: Option<String>,
        bytes: serde_bytes_like::Bytes,
        map: BTreeMap<u32, String>,
        bmap: BTreeMap<bool, u8>,
        enums: Vec<E>,
        tuple: (u8, &'static str),
        nested: BTreeMap<String, Vec<Option<f32>>>,
    }

    mod serde_bytes_like {
        pub struct Bytes(pub Vec<u8>);
        impl serde::Serialize for Bytes {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_bytes(&self.0)
            }
        }
    }

    /// Every shape of serde's data model gives the value the JSON route gives.
    #[test]
    fn direct_values_equal_the_json_route() {
        let s = S {
            neg: -5,
            pos: 7,
            big: u64::MAX,
            f: 1.25,
            nan: f64::NAN,
            c: 'é',
            unit: (),
            opt: None,
            bytes: serde_bytes_like::Bytes(vec![0, 255]),
            map: [(3, "x".to_string()), (10, "y".to_string())].into(),
            bmap: [(true, 1), (false, 0)].into(),
            enums: vec![
                E::Unit,
                E::New(9),
                E::Tuple(-1, "t".into()),
                E::Struct {
                    a: Some(4),
                    b: vec![true],
                },
            ],
            tuple: (1, "one"),
            nested: [("k".to_string(), vec![Some(0.5), None, Some(f32::INFINITY)])].into(),
        };
        assert_eq!(to_value(&s).unwrap(), via_json(&s));
        assert_eq!(
            to_value(&Option::<u8>::None).unwrap(),
            via_json(&Option::<u8>::None)
        );
        assert_eq!(to_value(&-0.0f64).unwrap(), via_json(&-0.0f64));
    }
}
