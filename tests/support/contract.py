"""Compare a served SDL with the contract's: what the contract has that the served one lacks."""

from __future__ import annotations

from graphql import (
    GraphQLEnumType,
    GraphQLInputObjectType,
    GraphQLInterfaceType,
    GraphQLObjectType,
    GraphQLSchema,
    GraphQLUnionType,
)


def _kind(type_: object) -> str:
    return type(type_).__name__


def missing_from(contract: GraphQLSchema, served: GraphQLSchema) -> set[str]:
    """Every type, field, argument, enum value, input field, interface or root that the
    contract declares and ``served`` lacks or declares differently, as readable strings."""
    missing: set[str] = set()
    for root in ("query_type", "mutation_type", "subscription_type"):
        contract_root = getattr(contract, root)
        served_root = getattr(served, root)
        if contract_root is not None and (
            served_root is None or served_root.name != contract_root.name
        ):
            missing.add(f"root {root} {contract_root.name}")
    for name, expected in contract.type_map.items():
        if name.startswith("__"):
            continue
        actual = served.type_map.get(name)
        if actual is None:
            missing.add(f"type {name}")
            continue
        if _kind(actual) != _kind(expected):
            missing.add(f"type {name} as {_kind(expected)}")
            continue
        if isinstance(expected, GraphQLObjectType | GraphQLInterfaceType):
            assert isinstance(actual, GraphQLObjectType | GraphQLInterfaceType)
            for interface in expected.interfaces:
                if interface.name not in {i.name for i in actual.interfaces}:
                    missing.add(f"interface {name} implements {interface.name}")
            for field_name, field in expected.fields.items():
                served_field = actual.fields.get(field_name)
                if served_field is None:
                    missing.add(f"field {name}.{field_name}")
                    continue
                if str(served_field.type) != str(field.type):
                    missing.add(f"field {name}.{field_name}: {field.type}")
                for arg_name, arg in field.args.items():
                    served_arg = served_field.args.get(arg_name)
                    if served_arg is None or str(served_arg.type) != str(arg.type):
                        missing.add(f"argument {name}.{field_name}({arg_name}: {arg.type})")
                for arg_name, arg in served_field.args.items():
                    if (
                        arg_name not in field.args
                        and arg.type.__class__.__name__ == "GraphQLNonNull"
                    ):
                        missing.add(f"extra required argument {name}.{field_name}({arg_name})")
        elif isinstance(expected, GraphQLInputObjectType):
            assert isinstance(actual, GraphQLInputObjectType)
            for field_name, input_field in expected.fields.items():
                served_input = actual.fields.get(field_name)
                if served_input is None or str(served_input.type) != str(input_field.type):
                    missing.add(f"input field {name}.{field_name}: {input_field.type}")
        elif isinstance(expected, GraphQLEnumType):
            assert isinstance(actual, GraphQLEnumType)
            for value in expected.values:
                if value not in actual.values:
                    missing.add(f"enum value {name}.{value}")
        elif isinstance(expected, GraphQLUnionType):
            assert isinstance(actual, GraphQLUnionType)
            for member in expected.types:
                if member.name not in {t.name for t in actual.types}:
                    missing.add(f"union member {name}.{member.name}")
    return missing
