"""Request bodies in the OpenAPI document as strict as msgspec's validation of them.

Litestar builds a body's schema from the struct's annotations, and loses what msgspec still
checks (measured with schemathesis' positive-data check, which sends schema-valid requests
and expects them accepted):
- unknown fields: the bodies forbid them (`forbid_unknown_fields`), the document allowed any;
- constraints of an optional field of a PATCH body (`Annotated[float, Meta(gt=0)] | UnsetType`
  came out without `exclusiveMinimum`);
- constraints of list items (`list[Annotated[str, Meta(min_length=1)]]` came out as any
  string).
This plugin takes Litestar's schema of such a struct and sets on it what
`msgspec.inspect.type_info` says msgspec enforces, so the document and the validation are one
source. Only structs that forbid unknown fields (request bodies) are touched; responses keep
Litestar's schema. Two more rules come from outside msgspec:
- text never holds NUL (cloud/api/text.py refuses it), so a string with no pattern of its own
  gets one that excludes it;
- a check made in code (a connection URL's scheme, a list that may not be empty) is written
  next to the type as `Meta(extra_json_schema=...)`, which msgspec keeps for its own JSON
  schema and this plugin copies (`pattern`, `minItems`).
"""

from __future__ import annotations

from typing import Any

import msgspec
import msgspec.inspect as mi
from litestar._openapi.schema_generation.plugins.struct import StructSchemaPlugin
from litestar.openapi.spec import OpenAPIType, Reference, Schema
from litestar.plugins import OpenAPISchemaPlugin
from litestar.typing import FieldDefinition

_SKIPPED = (mi.NoneType,)  # UNSET members are already left out by msgspec.inspect
# Any text without NUL (ECMA-262 and Python regex syntax alike).
NO_NUL = "^[^\\u0000]*$"
# What `extra_json_schema` may say, as Litestar's `Schema` attributes.
_EXTRA = {"pattern": "pattern", "minItems": "min_items", "minLength": "min_length"}


class StrictBodySchemaPlugin(OpenAPISchemaPlugin):
    def __init__(self) -> None:
        self._structs = StructSchemaPlugin()

    @staticmethod
    def is_plugin_supported_type(value: Any) -> bool:
        return (
            isinstance(value, type)
            and issubclass(value, msgspec.Struct)
            and bool(value.__struct_config__.forbid_unknown_fields)
        )

    def is_plugin_supported_field(self, field_definition: FieldDefinition) -> bool:
        return not field_definition.is_union and self.is_plugin_supported_type(
            field_definition.type_
        )

    def to_openapi_schema(self, field_definition: FieldDefinition, schema_creator: Any) -> Schema:
        schema = self._structs.to_openapi_schema(field_definition, schema_creator)
        constrain_object(schema, field_definition.type_)
        return schema


def constrain_object(schema: Schema, struct: type[msgspec.Struct]) -> None:
    """`schema`, an object schema of `struct`, refuses unknown properties and carries each
    field's constraints (its properties stay as they were written otherwise)."""
    info = mi.type_info(struct)
    assert isinstance(info, mi.StructType)
    schema.additional_properties = False
    for field in info.fields:
        prop = (schema.properties or {}).get(field.encode_name)
        if isinstance(prop, Schema):
            constrain(prop, field.type)


def constrain(schema: Schema, kind: mi.Type) -> None:
    """Set on `schema` the constraints msgspec checks for `kind` (None and UNSET members of a
    union aside)."""
    if isinstance(kind, mi.UnionType):
        members = [t for t in kind.types if not isinstance(t, _SKIPPED)]
        if len(members) != 1:
            return  # a real union: each member's schema stands as Litestar wrote it
        kind = members[0]
    extra: dict[str, Any] = {}
    if isinstance(kind, mi.Metadata):
        extra = dict(kind.extra_json_schema or {})
        kind = kind.type
    match kind:
        case mi.StrType():
            schema.min_length = kind.min_length
            schema.max_length = kind.max_length
            schema.pattern = kind.pattern or NO_NUL
        case mi.IntType() | mi.FloatType():
            schema.minimum, schema.maximum = kind.ge, kind.le
            schema.exclusive_minimum, schema.exclusive_maximum = kind.gt, kind.lt
        case mi.ListType():
            schema.min_items, schema.max_items = kind.min_length, kind.max_length
            items = _array_items(schema)
            if isinstance(items, Schema):
                constrain(items, kind.item_type)
        case _:
            pass
    for key, attribute in _EXTRA.items():
        if key in extra:
            setattr(schema, attribute, extra[key])


def _array_items(schema: Schema) -> Reference | Schema | None:
    if schema.items is not None:
        return schema.items
    for member in schema.one_of or ():
        if isinstance(member, Schema) and member.type == OpenAPIType.ARRAY:
            return member.items
    return None
